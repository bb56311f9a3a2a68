import type { Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, connect, emit, http, migrate, next, startApp, token, waitFor } from './support/app';
import { sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  outcome: { produced: boolean; reason: string } | null;
}

// Contract section 4, the company switch, with two instances that each cache company settings:
// the switch is honoured exactly, whichever instance the admin and the chat talk to.
describe('the company recording switch across instances', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let a: AppHandle;
  let b: AppHandle;
  const company = 'switchco';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const sockets: Socket[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('switch');
    await migrate(db.url);
    sshd = await startSshd();
    const env = { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' };
    a = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'switch-a' } });
    b = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'switch-b' } });
    expect((await http(a, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await a?.stop();
    await b?.stop();
    for (const x of [a, b]) if (x) cleanupDir(x.workDir);
    await sshd?.destroy();
    await db?.drop();
  });

  const setSwitch = async (app: AppHandle, on: boolean) =>
    expect((await http(app, 'PUT', '/v1/admin/settings', admin, { recordingEnabled: on })).body).toMatchObject({ recordingEnabled: on });
  const settle = (chatId: string) =>
    waitFor('final outcomes', async () => {
      const r = (await http<RecordingView[]>(a, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;
      return r.length > 0 && r.every((x) => ['delivered', 'suppressed', 'failed'].includes(x.status)) ? r : null;
    });

  // The next recording.state naming this state (earlier ones, from joins and starts, are skipped).
  const stateIs = (s: Socket, state: string) =>
    new Promise<{ chatId: string; state: string }>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no recording.state ${state}`)), 10_000);
      const on = (e: { chatId: string; state: string }) => {
        if (e.state !== state) return;
        clearTimeout(t);
        s.off('recording.state', on);
        res(e);
      };
      s.on('recording.state', on);
    });

  // A chat on instance b with a customer and an agent connected there, and a flow recording.
  async function chatOnB(agentId: string) {
    const created = await http<{ chatId: string; customerToken: string }>(b, 'POST', '/v1/flow/chats', flow, { service: 'switch' });
    expect(created.status).toBe(201);
    const { chatId, customerToken } = created.body;
    const customer = await connect(b, '/customer', customerToken);
    const agent = await connect(b, '/agent', token({ sub: agentId, company, role: 'agent', name: 'Ann' }));
    sockets.push(customer, agent);
    expect((await http(b, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId })).status).toBe(200);
    expect(await emit(agent, 'chat.join', { chatId })).toMatchObject({ ok: true, recordingState: 'recording' });
    expect((await http(b, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'agent', label: 'flowside' })).status).toBe(201);
    expect((await emit(customer, 'message', { clientMsgId: 'm0', text: 'before anything' })).ok).toBe(true);
    return { chatId, customer, agent };
  }

  it('switched off on instance a, a chat ended at once on instance b produces nothing', async () => {
    const { chatId, agent } = await chatOnB('ag-1');
    await setSwitch(a, false);
    expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
    const recs = await settle(chatId);
    expect(recs).toHaveLength(2);
    expect(recs.every((r) => r.status === 'suppressed' && r.outcome?.reason === 'company_recording_off')).toBe(true);
    expect(sshd.listFiles().filter((f) => f.includes(chatId))).toEqual([]);
    const bodies = await db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ?', [chatId]);
    expect(bodies.map((r) => r.text)).toEqual([null]);
    await setSwitch(a, true);
  });

  it('what is sent while the switch is off is never captured; participants are told; the file marks off and on', async () => {
    const { chatId, customer, agent } = await chatOnB('ag-2');
    const offAtCustomer = stateIs(customer, 'off');
    const offAtAgent = stateIs(agent, 'off');
    await setSwitch(a, false);
    expect(await offAtCustomer).toEqual({ chatId, state: 'off' });
    expect(await offAtAgent).toEqual({ chatId, state: 'off' });
    const relayed = next<{ text: string }>(agent, 'message');
    expect((await emit(customer, 'message', { clientMsgId: 'off1', text: 'said while off' })).ok).toBe(true);
    expect((await relayed).text).toBe('said while off');
    const onAtCustomer = stateIs(customer, 'recording');
    await setSwitch(a, true);
    expect(await onAtCustomer).toEqual({ chatId, state: 'recording' });
    expect((await emit(customer, 'message', { clientMsgId: 'on1', text: 'said when back on' })).ok).toBe(true);
    expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
    const recs = await settle(chatId);
    expect(recs.every((r) => r.status === 'delivered')).toBe(true);
    for (const r of recs) {
      const text = sshd.readFile(r.fileName as string);
      expect(text).toContain('before anything');
      expect(text).toContain('said when back on');
      expect(text).not.toContain('said while off');
      expect(text).toMatch(/recording switched off for the company by .*\n.*recording switched on for the company by /);
    }
    const bodies = await db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq', [chatId]);
    expect(bodies.map((r) => r.text)).toEqual(['before anything', null, 'said when back on']);
  });

  it('a chat created while the switch is off says off, and captures from the moment it is back on', async () => {
    await setSwitch(a, false);
    const created = await http<{ chatId: string; customerToken: string }>(b, 'POST', '/v1/flow/chats', flow, { service: 'switch' });
    const { chatId, customerToken } = created.body;
    const customer = await connect(b, '/customer', customerToken);
    const agent = await connect(b, '/agent', token({ sub: 'ag-3', company, role: 'agent' }));
    sockets.push(customer, agent);
    await http(b, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'ag-3' });
    expect(await emit(agent, 'chat.join', { chatId })).toMatchObject({ ok: true, recordingState: 'off' });
    expect((await emit(customer, 'message', { clientMsgId: 'x1', text: 'born while off' })).ok).toBe(true);
    const on = stateIs(customer, 'recording');
    await setSwitch(a, true);
    expect((await on).state).toBe('recording');
    expect((await emit(customer, 'message', { clientMsgId: 'x2', text: 'now recorded' })).ok).toBe(true);
    expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
    const recs = await settle(chatId);
    expect(recs).toHaveLength(1);
    expect(recs[0].status).toBe('delivered');
    const text = sshd.readFile(recs[0].fileName as string);
    expect(text).toContain('now recorded');
    expect(text).not.toContain('born while off');
  });

  it('a switch racing chat ends and messages on the other instance: every chat is consistent, nothing deadlocks', async () => {
    const CHATS = 8;
    const chats: { chatId: string; customer: Socket }[] = [];
    for (let i = 0; i < CHATS; i++) {
      const c = await http<{ chatId: string; customerToken: string }>(b, 'POST', '/v1/flow/chats', flow, { service: 'race' });
      const customer = await connect(b, '/customer', c.body.customerToken);
      sockets.push(customer);
      expect((await http(b, 'POST', `/v1/flow/chats/${c.body.chatId}/recordings`, flow, { profile: 'agent' })).status).toBe(201);
      chats.push({ chatId: c.body.chatId, customer });
    }
    const results = await Promise.all([
      http(a, 'PUT', '/v1/admin/settings', admin, { recordingEnabled: false }),
      ...chats.map(async ({ chatId, customer }, i) => {
        const ack = await emit(customer, 'message', { clientMsgId: `r${i}`, text: `race ${i}` });
        const end = await http(b, 'POST', `/v1/flow/chats/${chatId}/end`, flow);
        return { status: ack.ok && end.status === 200 ? 200 : 500 };
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: CHATS + 1 }, () => 200));
    for (const { chatId } of chats) {
      const [rec] = await settle(chatId);
      const marked = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM chat_events WHERE chat_id = ? AND kind = 'recording_off'", [chatId]);
      // Either the chat ended before the switch (recorded, no marker) or after it (marker, off).
      if (Number(marked[0].n) === 1) expect(rec.outcome?.reason).toBe('company_recording_off');
      else expect(rec).toMatchObject({ status: 'delivered', outcome: { reason: 'recorded' } });
    }
    await setSwitch(a, true);
  });
});
