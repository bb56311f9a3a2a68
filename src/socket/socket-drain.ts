import { Injectable, Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { SocketNotifier } from './socket-notifier';

interface EngineConnection {
  close(discard?: boolean): void;
}

// socket.io's part of a graceful stop. At once: new handshakes are refused by engine.io (HTTP 403),
// which socket.io clients treat like a server they cannot reach: they retry, and the load balancer,
// which by then sees /health answer 503, sends them to another instance. Connections already open
// stay, so that their clients get the answers to the events already read (a polling client needs
// its next poll for that). At the end every connection is closed at the transport level, without
// socket.io's namespace disconnect packet: the client sees "transport close" and reconnects
// ("io server disconnect" would make it give up).
@Injectable()
export class SocketDrain {
  private readonly logger = new Logger(SocketDrain.name);

  constructor(
    private readonly notifier: SocketNotifier,
    shutdown: GracefulShutdown,
  ) {
    shutdown.register({ step: 'intake', name: 'socket.io handshakes', run: () => this.refuseHandshakes() });
    shutdown.register({ step: 'disconnect', name: 'socket.io connections', run: (until) => this.closeConnections(until) });
  }

  private server(): Server | null {
    return (this.notifier.customers ?? this.notifier.agents)?.server ?? null;
  }

  refuseHandshakes(): void {
    const engine = this.server()?.engine;
    // engine.io reads allowRequest at each handshake (a request without a session id) only.
    if (engine) engine.opts.allowRequest = (_req, answer) => answer('this instance is shutting down', false);
  }

  async closeConnections(until: number): Promise<void> {
    const server = this.server();
    if (!server) return;
    const engine = server.engine;
    // engine.io keeps its connections by session id; its typings call the map protected.
    const open = () => Object.values((engine as unknown as { clients: Record<string, EngineConnection> }).clients);
    const n = engine.clientsCount;
    // A polling connection closes at its next poll, once what is buffered for it has been sent.
    for (const c of open()) c.close();
    const closed = await waitUntil(() => engine.clientsCount === 0, until - 250);
    const forced = closed ? 0 : engine.clientsCount;
    for (const c of open()) c.close(true);
    this.logger.log({ msg: `closed ${n} socket.io connection(s)${forced > 0 ? `, ${forced} without waiting for their last poll` : ''}`, phase: 'disconnect' });
  }
}
