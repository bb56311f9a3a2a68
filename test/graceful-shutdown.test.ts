import type { Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, connectError, emit, http, migrate, sleep, startApp, token, waitFor } from './support/app';
import { openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

interface Sender {
  chatId: string;
  role: 'customer' | 'agent';
  socket: Socket;
  n: number;
  acked: Map<string, number>; // clientMsgId -> seq
  refused: Map<string, string>; // clientMsgId -> error code
  unanswered: string[]; // no answer before the connection closed
  afterStop: number; // answers (of either kind) to messages sent after the stop began
}

// SIGTERM of an instance in the middle of a stream of sends (docs/scaling.md, "Stopping an
// instance"): /health says 503 at once, the events already read are answered and stored, later ones
// are refused with `unavailable`, deliveries under way finish or are handed back, and the process
// exits 0 within SHUTDOWN_DEADLINE_MS. The service runs as a child process, as in production.
describe('graceful shutdown', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let proxy: TcpProxy;
  const company = 'stopco';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const apps: AppHandle[] = [];
  // Long leases: a job comes back to another instance quickly only if it is handed back.
  const env = { DELIVERY_LEASE_MS: '600000', SFTP_OPERATION_TIMEOUT_MS: '60000', DELIVERY_POLL_MS: '200' };

  beforeAll(async () => {
    db = await createTestDatabase('graceful');
    await migrate(db.url);
    sshd = await startSshd();
    // Deliveries go through a proxy the test can freeze: a delivery that hangs on the network.
    proxy = await startTcpProxy(sshd.port);
  });
  afterAll(async () => {
    for (const a of apps) await a.kill();
    for (const a of apps) cleanupDir(a.workDir);
    await proxy?.close();
    await sshd?.destroy();
    await db?.drop();
  });

  async function start(id: string, extra: Record<string, string> = {}): Promise<AppHandle> {
    const app = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: id, LOG_FORMAT: 'json', ...extra } });
    apps.push(app);
    return app;
  }

  async function job(recordingId: string) {
    const rows = await db.query<{ state: string; lease_owner: string | null; lease_until: unknown }>(
      'SELECT state, lease_owner, lease_until FROM delivery_jobs WHERE recording_id = ?',
      [recordingId],
    );
    return rows[0];
  }

  // Ends a chat with the SFTP path frozen; resolves once `owner` holds the delivery's lease.
  async function stuckDelivery(app: AppHandle, owner: string): Promise<string> {
    const created = await http<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'stuck' });
    const chatId = created.body.chatId;
    const rec = await http<{ recordingId: string }>(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'agent', label: 'stuck' });
    expect(rec.status).toBe(201);
    expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: 'a file on its way' })).status).toBe(201);
    proxy.stall(true);
    expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBe(200);
    const recordingId = rec.body.recordingId;
    await waitFor('the delivery to be claimed', async () => (await job(recordingId))?.lease_owner === owner, 10_000);
    return recordingId;
  }

  // Files as the recipient sees them (not the temporary upload names).
  function finalFiles(): string[] {
    return sshd.listFiles().filter((f) => !(f.split('/').pop() ?? '').startsWith('.') && !f.endsWith('.part'));
  }

  function text(s: Sender, id: string): string {
    return `${s.chatId.slice(0, 8)} ${s.role} ${id}`;
  }

  // Sends in a closed loop until the connection closes; classifies every answer.
  async function sendLoop(s: Sender, stopBegan: () => boolean): Promise<void> {
    while (s.socket.connected) {
      const id = `${s.role}-${s.n++}`;
      const sentAfterStop = stopBegan();
      const payload = s.role === 'customer' ? { clientMsgId: id, text: text(s, id) } : { chatId: s.chatId, clientMsgId: id, text: text(s, id) };
      try {
        const ack = await emit(s.socket, 'message', payload, 5000);
        if (ack.ok) s.acked.set(id, ack.seq as number);
        else s.refused.set(id, ack.error?.code ?? 'none');
        if (sentAfterStop) s.afterStop++;
      } catch {
        s.unanswered.push(id);
        return;
      }
    }
  }

  it('SIGTERM mid-stream: 503 at once, acknowledged messages stored once, late events refused as unavailable, delivery finished, exit 0', async () => {
    const DEADLINE = 15_000;
    const a = await start('stop-a', { SHUTDOWN_DEADLINE_MS: String(DEADLINE) });
    expect((await http(a, 'PUT', '/v1/admin/export-target', admin, { ...sftpTargetBody(sshd), port: proxy.port })).status).toBe(200);
    const recordingId = await stuckDelivery(a, 'stop-a');

    const chats = await Promise.all([0, 1, 2].map((i) => openChat(a, company, { agentId: `agent-${i}` })));
    const senders: Sender[] = chats.flatMap((c): Sender[] =>
      (['customer', 'agent'] as const).map((role) => ({
        chatId: c.chatId,
        role,
        socket: role === 'customer' ? c.customer : c.agent,
        n: 0,
        acked: new Map(),
        refused: new Map(),
        unanswered: [],
        afterStop: 0,
      })),
    );
    let stopAt = 0;
    const loops = senders.map((s) => sendLoop(s, () => stopAt > 0));
    await waitFor('the stream to run', () => senders.every((s) => s.acked.size >= 5), 10_000);

    stopAt = Date.now();
    a.signal('SIGTERM');
    const exited = a.exited();
    // Not ready at once (the listener stays open while the instance drains).
    const health = await waitFor(
      '/health to answer 503',
      async () => {
        const r = await fetch(`${a.url}/health`).catch(() => null);
        return r && r.status !== 200 ? { status: r.status, body: (await r.json()) as Record<string, unknown>, at: Date.now() } : null;
      },
      2000,
    );
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ statusCode: 503, code: 'unavailable', status: 'shutting_down' });
    expect(health.at - stopAt).toBeLessThan(1000);
    // No new connections, no new REST work: refused in a way clients retry elsewhere.
    const refusedHandshake = await connectError(a, '/customer', chats[0].customerToken);
    expect(refusedHandshake.message).toMatch(/websocket error|xhr poll error|403/i);
    const rest = await http<{ code: string }>(a, 'POST', '/v1/flow/chats', flow, { service: 'late' });
    expect([rest.status, rest.body.code]).toEqual([503, 'unavailable']);

    // The delivery under way finishes while the instance drains.
    await sleep(500);
    proxy.stall(false);

    const { code } = await exited;
    const stoppedIn = Date.now() - stopAt;
    await Promise.all(loops);
    expect(code).toBe(0);
    expect(stoppedIn).toBeLessThan(DEADLINE);

    // Every acknowledged message is stored once, under its seq; nothing is stored twice.
    for (const c of chats) {
      const rows = await db.query<{ seq: number; client_msg_id: string; sender_role: string; text: string }>(
        'SELECT seq, client_msg_id, sender_role, text FROM messages WHERE chat_id = ? ORDER BY seq',
        [c.chatId],
      );
      const keys = rows.map((r) => `${r.sender_role}/${r.client_msg_id}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const s of senders.filter((x) => x.chatId === c.chatId)) {
        for (const [id, seq] of s.acked)
          expect(rows.find((r) => Number(r.seq) === seq)).toMatchObject({ client_msg_id: id, sender_role: s.role, text: text(s, id) });
        // A refused message was not stored.
        for (const id of s.refused.keys()) expect(keys).not.toContain(`${s.role}/${id}`);
      }
    }
    const all = senders.flatMap((s) => [...s.refused.values()]);
    // Refusals are only the retryable `unavailable`, and messages sent after the stop began were answered.
    expect(new Set(all)).toEqual(new Set(['unavailable']));
    expect(senders.reduce((n, s) => n + s.afterStop, 0)).toBeGreaterThan(0);
    // At most the one message per socket that was on the wire when its connection closed.
    for (const s of senders) expect(s.unanswered.length).toBeLessThanOrEqual(1);

    // The delivery that was under way finished on this instance, once.
    expect(await job(recordingId)).toMatchObject({ state: 'done', lease_owner: null });
    expect(finalFiles()).toHaveLength(1);

    // Each step was logged, in order.
    const phases = a
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { phase?: string }).phase)
      .filter((p): p is string => typeof p === 'string');
    const order = ['start', 'intake', 'answer', 'store', 'work', 'disconnect', 'close', 'exit'];
    const firsts = order.map((p) => phases.indexOf(p));
    expect(firsts.every((i) => i >= 0)).toBe(true);
    expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
    for (const c of chats) c.close();
  }, 60_000);

  it('a delivery stalled on the network: handed back at the deadline, taken at once by another instance, and the process still exits in time', async () => {
    const DEADLINE = 5000;
    const a = await start('stop-b', { SHUTDOWN_DEADLINE_MS: String(DEADLINE) });
    const recordingId = await stuckDelivery(a, 'stop-b');
    // Under way for a while: connected through the frozen proxy, waiting for the server.
    await sleep(300);
    const stopAt = Date.now();
    a.signal('SIGTERM');
    const { code } = await a.exited();
    const stoppedIn = Date.now() - stopAt;
    expect(code).toBe(0);
    // It waited for the delivery (most of the deadline), then handed it back and stopped in time.
    expect(stoppedIn).toBeGreaterThan(DEADLINE * 0.6);
    expect(stoppedIn).toBeLessThan(DEADLINE + 1000);
    expect(a.stdout()).toMatch(/deliveries: 0 of 1 in flight finished, 1 handed back/);
    // Handed back, not left to its 10-minute lease.
    expect(await job(recordingId)).toMatchObject({ state: 'queued', lease_owner: null, lease_until: null });

    proxy.stall(false);
    const b = await start('stop-c');
    const taken = Date.now();
    await waitFor('the other instance to deliver it', async () => (await job(recordingId))?.state === 'done', 20_000);
    expect(Date.now() - taken).toBeLessThan(20_000);
    const rec = await http<{ status: string }>(b, 'GET', `/v1/admin/recordings/${recordingId}`, admin);
    expect(rec.body.status).toBe('delivered');
    expect(finalFiles()).toHaveLength(2);
  }, 60_000);
});
