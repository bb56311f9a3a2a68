import { createServer, Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as TcpSocket } from 'node:net';
import { Server, Socket } from 'socket.io';
import { io as connect, Socket as ClientSocket } from 'socket.io-client';
import { coalesceEngineWrites } from './coalesced-writes';

// A real socket.io server and client on loopback; the server side's TCP writes are counted.
interface Rig {
  http: HttpServer;
  io: Server;
  url: string;
  close(): Promise<void>;
}

async function rig(coalesce: boolean): Promise<Rig> {
  const http = createServer();
  const io = new Server(http);
  if (coalesce) coalesceEngineWrites(io);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    http,
    io,
    url,
    close: () => io.close(),
  };
}

async function pair(r: Rig, transports: ('websocket' | 'polling')[]): Promise<{ server: Socket; client: ClientSocket }> {
  const server = new Promise<Socket>((res) => r.io.once('connection', res));
  const client = connect(r.url, { transports, reconnection: false, forceNew: true });
  await new Promise<void>((res, rej) => {
    client.once('connect', () => res());
    client.once('connect_error', rej);
  });
  return { server: await server, client };
}

// Counts the writes that reach the TCP socket under a server-side socket.io socket.
function countWrites(s: Socket): () => number {
  const tcp = (s.conn as unknown as { transport: { socket: { _socket: TcpSocket } } }).transport.socket._socket;
  let n = 0;
  const t = tcp as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const write = t._write.bind(tcp);
  const writev = t._writev.bind(tcp);
  t._write = (...a) => {
    n++;
    return write(...a);
  };
  t._writev = (...a) => {
    n++;
    return writev(...a);
  };
  return () => n;
}

function received(client: ClientSocket, count: number): Promise<unknown[]> {
  const got: unknown[] = [];
  return new Promise((res) =>
    client.on('e', (v: unknown) => {
      got.push(v);
      if (got.length === count) res(got);
    }),
  );
}

describe('coalesceEngineWrites', () => {
  const rigs: Rig[] = [];
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    for (const r of rigs.splice(0)) await r.close();
  });

  async function setUp(coalesce: boolean, transports: ('websocket' | 'polling')[] = ['websocket']) {
    const r = await rig(coalesce);
    rigs.push(r);
    const p = await pair(r, transports);
    clients.push(p.client);
    return p;
  }

  it('sends the packets a connection gets in one turn with one TCP write, in order', async () => {
    const { server, client } = await setUp(true);
    const writes = countWrites(server);
    const got = received(client, 5);
    // Emitted from promise continuations of one turn, as the acks and relays of a batch are.
    await Promise.resolve();
    for (let i = 0; i < 5; i++) void Promise.resolve().then(() => server.emit('e', i));
    expect(await got).toEqual([0, 1, 2, 3, 4]);
    expect(writes()).toBe(1);
  });

  it('without it, engine.io and ws write each packet on its own (what the first test rules out)', async () => {
    const { server, client } = await setUp(false);
    const writes = countWrites(server);
    const got = received(client, 5);
    for (let i = 0; i < 5; i++) server.emit('e', i);
    expect(await got).toEqual([0, 1, 2, 3, 4]);
    expect(writes()).toBeGreaterThanOrEqual(2);
  });

  it('keeps acknowledgements and events in the order they were given', async () => {
    const { server, client } = await setUp(true);
    const order: string[] = [];
    server.on('ask', (n: number, ack: (v: unknown) => void) => {
      server.emit('e', `before ${n}`);
      ack(`ack ${n}`);
      server.emit('e', `after ${n}`);
    });
    client.on('e', (v: string) => order.push(v));
    // The ack's callback runs as its packet is read (a promise would run it after the frame's others).
    const acked = new Promise<void>((res) => client.emit('ask', 1, (v: string) => (order.push(v), res())));
    await acked;
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['before 1', 'ack 1', 'after 1']);
  });

  it('sends a packet emitted later in its own turn', async () => {
    const { server, client } = await setUp(true);
    const got = received(client, 2);
    server.emit('e', 'first');
    await new Promise((r) => setTimeout(r, 20));
    server.emit('e', 'second');
    expect(await got).toEqual(['first', 'second']);
  });

  it('delivers an event emitted just before a server-side disconnect', async () => {
    const { server, client } = await setUp(true);
    const got = received(client, 1);
    const reason = new Promise((r) => client.once('disconnect', r));
    server.emit('e', 'last words');
    server.disconnect(true);
    expect(await got).toEqual(['last words']);
    expect(await reason).toBe('io server disconnect');
  });

  it('works over the polling transport', async () => {
    const { server, client } = await setUp(true, ['polling']);
    const got = received(client, 3);
    for (let i = 0; i < 3; i++) server.emit('e', i);
    expect(await got).toEqual([0, 1, 2]);
    server.on('ask', (n: number, ack: (v: unknown) => void) => ack(n + 1));
    expect(await client.timeout(5000).emitWithAck('ask', 41)).toBe(42);
  });

  it('hooks a server once, however many namespaces ask', async () => {
    const r = await rig(true);
    rigs.push(r);
    coalesceEngineWrites(r.io);
    const { server, client } = await pair(r, ['websocket']);
    clients.push(client);
    const writes = countWrites(server);
    const got = received(client, 2);
    void Promise.resolve().then(() => server.emit('e', 1));
    void Promise.resolve().then(() => server.emit('e', 2));
    expect(await got).toEqual([1, 2]);
    expect(writes()).toBe(1);
  });
});
