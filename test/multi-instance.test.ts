import { AppHandle, cleanupDir, connect, emit, http, migrate, next, startApp, token, waitFor } from './support/app';
import { sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';

// Two instances on one database, sharing socket.io rooms through Redis, both running delivery
// workers against one SFTP server, which is stopped for a while in the middle of the chat ends.
describe('several instances and an SFTP outage', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let a: AppHandle;
  let b: AppHandle;
  const company = 'multico';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const admin = token({ sub: 'adm', company, role: 'admin' });

  beforeAll(async () => {
    db = await createTestDatabase('multi');
    await migrate(db.url);
    sshd = await startSshd();
    const env = {
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      DELIVERY_LEASE_MS: '3000',
      DELIVERY_RETRY_BASE_MS: '200',
      DELIVERY_RETRY_MAX_MS: '1000',
      DELIVERY_MAX_ATTEMPTS: '50',
    };
    a = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'instance-a' } });
    b = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'instance-b' } });
    expect((await http(a, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    for (const x of [a, b]) if (x) cleanupDir(x.workDir);
    await sshd?.destroy();
    await db?.drop();
  });

  it('relays between a customer on one instance and an agent on the other', async () => {
    const created = await http<{ chatId: string; customerToken: string }>(a, 'POST', '/v1/flow/chats', flow, { service: 'cross' });
    const { chatId, customerToken } = created.body;
    const customer = await connect(a, '/customer', customerToken);
    const agent = await connect(b, '/agent', token({ sub: 'ag', company, role: 'agent' }));
    try {
      const assigned = next<{ chatId: string }>(agent, 'chat.assigned');
      await http(a, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'ag' });
      expect((await assigned).chatId).toBe(chatId);
      expect((await emit(agent, 'chat.join', { chatId })).ok).toBe(true);
      const atAgent = next<{ text: string }>(agent, 'message');
      expect((await emit(customer, 'message', { clientMsgId: '1', text: 'from instance a' })).ok).toBe(true);
      expect((await atAgent).text).toBe('from instance a');
      const atCustomer = next<{ text: string }>(customer, 'message');
      expect((await emit(agent, 'message', { chatId, clientMsgId: '1', text: 'from instance b' })).ok).toBe(true);
      expect((await atCustomer).text).toBe('from instance b');
      const ended = next(customer, 'chat.ended');
      expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
      await ended;
    } finally {
      customer.close();
      agent.close();
    }
  });

  it('delivers every recording exactly once through a stream of chat ends with the server down for a while', async () => {
    const CHATS = 24;
    const ids: string[] = [];
    for (let i = 0; i < CHATS; i++) {
      const app = i % 2 === 0 ? a : b;
      const c = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'stream', externalId: `s-${i}` });
      const chatId = c.body.chatId;
      ids.push(chatId);
      await http(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'agent', label: `r${i}` });
      await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: `message of chat ${i}` });
      if (i === 6) await sshd.stop();
      await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow);
      if (i === 17) await sshd.start();
    }
    const all = await waitFor(
      'every recording delivered',
      async () => {
        const r = await http<{ chatId: string; status: string; fileName: string }[]>(a, 'GET', '/v1/admin/recordings?limit=1000', admin);
        const mine = r.body.filter((x) => ids.includes(x.chatId));
        return mine.length === CHATS && mine.every((x) => x.status === 'delivered') ? mine : null;
      },
      60_000,
    );
    const files = sshd.listFiles().filter((f) => ids.some((id) => f.includes(id)));
    expect(files.sort()).toEqual(all.map((r) => r.fileName).sort());
    expect(new Set(files).size).toBe(CHATS);
    expect(sshd.listFiles().filter((f) => f.includes('.part'))).toEqual([]);
    for (const [i, id] of ids.entries()) {
      const f = files.find((x) => x.includes(id)) as string;
      expect(sshd.readFile(f)).toContain(`message of chat ${i}`);
    }
    // one delivery per recording, whichever instance made it
    const delivered = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'recording.delivered' AND chat_id IN (?)", [ids]);
    expect(Number(delivered[0].n)).toBe(CHATS);
    const workers = await db.query<{ how: string }>(
      "SELECT JSON_UNQUOTE(JSON_EXTRACT(detail, '$.how')) AS how FROM audit_log WHERE action = 'recording.delivered' AND chat_id IN (?)",
      [ids],
    );
    expect(workers.every((w) => w.how === 'delivered' || w.how === 'already_present')).toBe(true);
  });
});
