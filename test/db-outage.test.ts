import { createServer, Server, Socket as NetSocket, connect as netConnect } from 'node:net';
import { AppHandle, cleanupDir, emit, migrate, sleep, startApp, waitFor } from './support/app';
import { DrivenChat, openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';

// A loopback proxy in front of MariaDB that the test can take down: a database outage the service
// sees as refused and dropped connections.
async function startDbProxy(targetPort: number): Promise<{ port: number; down(): void; up(): void; close(): Promise<void> }> {
  let isDown = false;
  const open = new Set<NetSocket>();
  const server: Server = createServer((client) => {
    if (isDown) return client.destroy();
    const upstream = netConnect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    down() {
      isDown = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('database outage', () => {
  let db: TestDatabase;
  let app: AppHandle;
  let proxy: Awaited<ReturnType<typeof startDbProxy>>;
  let chat: DrivenChat;

  beforeAll(async () => {
    db = await createTestDatabase('outage');
    await migrate(db.url);
    proxy = await startDbProxy(3306);
    const u = new URL(db.url);
    u.port = String(proxy.port);
    app = await startApp({ databaseUrl: u.toString() });
    chat = await openChat(app, 'outageco');
  });
  afterAll(async () => {
    chat?.close();
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await proxy?.close();
    await db?.drop();
  });

  it('answers unavailable with no false acknowledgement while the database is down, and recovers by itself', async () => {
    const acked = new Map<string, number>();
    const send = async (id: string) => {
      const ack = await emit(chat.customer, 'message', { clientMsgId: id, text: `text ${id}` }, 15_000);
      if (ack.ok) acked.set(id, ack.seq as number);
      return ack;
    };
    expect((await send('before-1')).ok).toBe(true);
    expect((await send('before-2')).ok).toBe(true);

    proxy.down();
    const refused: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ack = await send(`during-${i}`);
      expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      refused.push(`during-${i}`);
    }
    expect((await fetch(`${app.url}/health`)).status).toBe(503);
    // an agent's event gets the same clear answer
    expect((await emit(chat.agent, 'recording.pause', { chatId: chat.chatId })).error?.code).toBe('unavailable');

    await sleep(500);
    proxy.up();
    // the service reconnects by itself: the client's resends (same clientMsgId) are stored
    await waitFor('the service to store again', async () => (await send(refused[0])).ok, 30_000);
    for (const id of refused.slice(1)) expect((await send(id)).ok).toBe(true);
    expect((await send('after-1')).ok).toBe(true);
    expect((await fetch(`${app.url}/health`)).status).toBe(200);

    const rows = await db.query<{ seq: number; client_msg_id: string }>('SELECT seq, client_msg_id FROM messages WHERE chat_id = ? ORDER BY seq', [
      chat.chatId,
    ]);
    expect(rows.map((r) => r.client_msg_id)).toEqual(['before-1', 'before-2', ...refused, 'after-1']);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const [id, seq] of acked) expect(rows.find((r) => r.client_msg_id === id)?.seq).toBe(seq);
    // the process never died
    expect(app.logs()).not.toMatch(/exited|Unhandled/i);
  });
});
