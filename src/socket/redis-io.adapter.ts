import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Server, ServerOptions } from 'socket.io';

// Several instances behind a load balancer share socket.io rooms through Redis, so a customer on
// one instance and an agent on another still hear each other.
export class RedisIoAdapter extends IoAdapter {
  private readonly log = new Logger(RedisIoAdapter.name);
  private adapterConstructor: ReturnType<typeof createAdapter> | null = null;
  private clients: { quit(): Promise<unknown> }[] = [];

  constructor(
    app: INestApplicationContext,
    private readonly url: string,
  ) {
    super(app);
  }

  // At start: Redis has `withinMs` to answer, else the start fails naming the last error. Later a
  // lost connection is retried with a backoff (up to 3 s apart), logged when lost and when back.
  async connect(withinMs: number): Promise<void> {
    const pub = createClient({
      url: this.url,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3000) },
    });
    const sub = pub.duplicate();
    let lastError: Error | null = null;
    let down = false;
    for (const c of [pub, sub]) {
      c.on('error', (err: Error) => {
        lastError = err;
        if (!down) this.log.warn(`redis unreachable (${err.message}): socket.io rooms are not shared until it is back`);
        down = true;
      });
      c.on('ready', () => {
        if (down) this.log.log('redis is back: socket.io rooms are shared again');
        down = false;
      });
    }
    const connected = Promise.all([pub.connect(), sub.connect()]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_res, rej) => {
      timer = setTimeout(() => rej(new Error(`no answer within ${Math.round(withinMs / 1000)} s${lastError ? ` (${lastError.message})` : ''}`)), withinMs);
    });
    try {
      await Promise.race([connected, late]);
    } catch (err) {
      connected.catch(() => undefined);
      for (const c of [pub, sub]) c.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.clients = [pub, sub];
    this.adapterConstructor = createAdapter(pub, sub);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options) as Server;
    if (this.adapterConstructor) server.adapter(this.adapterConstructor);
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    await Promise.allSettled(this.clients.map((c) => c.quit()));
  }
}
