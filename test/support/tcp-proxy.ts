// Test helper: a loopback TCP proxy that can cut or freeze connections on demand, to show the
// network faults a server cannot produce itself. Listens on 127.0.0.1 and forwards to 127.0.0.1.
import { connect, createServer, Socket } from 'node:net';

const HOST = '127.0.0.1';

export interface TcpProxy {
  port: number;
  // Reset (RST) both sockets of a connection once n client→server bytes (counted from the
  // connection's start) have been forwarded; null = off. Applies to open connections too.
  resetAfterBytes(n: number | null): void;
  // While on, nothing is forwarded in either direction (held in memory, sockets stay open);
  // turning it off forwards what was held.
  stall(on: boolean): void;
  // Number of connections accepted so far.
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  sentUp: number;
  cut: boolean;
  held: { to: Socket; chunk: Buffer }[];
}

// `port`: listen on this port (a proxy closed and started again on its port plays a server that
// went away and came back); a free one when not given.
export async function startTcpProxy(targetPort: number, opts: { stalled?: boolean; resetAfterBytes?: number | null; port?: number } = {}): Promise<TcpProxy> {
  let resetAt: number | null = opts.resetAfterBytes ?? null;
  let stalled = opts.stalled ?? false;
  let accepted = 0;
  const pairs = new Set<Pair>();

  const kill = (s: Socket) => {
    // RST rather than FIN: the peer sees ECONNRESET, as with a dropped NAT entry or a crashed box.
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed && s.readyState !== 'opening') s.resetAndDestroy();
    else s.destroy();
  };
  const cutPair = (p: Pair) => {
    p.cut = true;
    p.held = [];
    kill(p.client);
    kill(p.upstream);
  };

  const forward = (p: Pair, to: Socket, from: Socket, chunk: Buffer, up: boolean) => {
    if (p.cut) return;
    if (up && resetAt !== null && p.sentUp + chunk.length >= resetAt) {
      // Let exactly the bytes up to the limit through, and cut once they are in the kernel.
      const rest = chunk.subarray(0, Math.max(0, resetAt - p.sentUp));
      p.sentUp += rest.length;
      p.cut = true;
      to.write(rest, () => cutPair(p));
      return;
    }
    if (up) p.sentUp += chunk.length;
    if (!to.write(chunk)) {
      // Backpressure: stop reading until the other side drains.
      from.pause();
      to.once('drain', () => from.resume());
    }
  };

  const server = createServer((client) => {
    accepted++;
    const upstream = connect({ host: HOST, port: targetPort });
    // A proxy must not add Nagle delays the direct path does not have.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const p: Pair = { client, upstream, sentUp: 0, cut: false, held: [] };
    pairs.add(p);
    const onData = (from: Socket, to: Socket, up: boolean) => (chunk: Buffer) => {
      if (stalled) p.held.push({ to, chunk });
      else forward(p, to, from, chunk, up);
    };
    client.on('data', onData(client, upstream, true));
    upstream.on('data', onData(upstream, client, false));
    const done = () => {
      pairs.delete(p);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
    // Pass a clean half-close through (unless stalled, where nothing passes).
    client.on('end', () => !stalled && !p.cut && upstream.end());
    upstream.on('end', () => !stalled && !p.cut && client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, HOST, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    resetAfterBytes: (n) => {
      resetAt = n;
    },
    stall: (on) => {
      stalled = on;
      if (on) return;
      for (const p of pairs) {
        const held = p.held;
        p.held = [];
        for (const { to, chunk } of held) forward(p, to, to === p.upstream ? p.client : p.upstream, chunk, to === p.upstream);
      }
    },
    connections: () => accepted,
    close: async () => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
