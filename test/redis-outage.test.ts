import { AppHandle, cleanupDir, connect, emit, http, next, sleep, startApp, token, waitFor } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

// Two instances share socket.io rooms through Redis, reached through a loopback proxy that plays a
// Redis going away and coming back: the outage is logged once when found and once when over, and
// the instances hear each other again afterwards.
const REDIS_PORT = Number(new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379);

describe('Redis goes away and comes back', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: AppHandle;
  let b: AppHandle;
  const company = 'redis-outage';
  const flow = token({ sub: 'flow', company, role: 'flow' });

  beforeAll(async () => {
    db = await createTestDatabase('redisout');
    proxy = await startTcpProxy(REDIS_PORT);
    const env = { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, LOG_FORMAT: 'json', DB_MIGRATE_ON_START: 'true' };
    a = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'redis-a' } });
    b = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'redis-b' } });
  });
  afterAll(async () => {
    for (const x of [a, b]) {
      await x?.stop();
      if (x) cleanupDir(x.workDir);
    }
    await proxy?.close();
    await db?.drop();
  });

  // A customer on instance a, the agent on instance b: one message each way.
  const relayAcross = async (label: string) => {
    const created = await http<{ chatId: string; customerToken: string }>(a, 'POST', '/v1/flow/chats', flow, { service: 'redis' });
    const { chatId, customerToken } = created.body;
    const customer = await connect(a, '/customer', customerToken);
    const agent = await connect(b, '/agent', token({ sub: `ag-${label}`, company, role: 'agent' }));
    try {
      const assigned = next<{ chatId: string }>(agent, 'chat.assigned');
      await http(a, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: `ag-${label}` });
      expect((await assigned).chatId).toBe(chatId);
      expect((await emit(agent, 'chat.join', { chatId })).ok).toBe(true);
      const atAgent = next<{ text: string }>(agent, 'message');
      expect((await emit(customer, 'message', { clientMsgId: '1', text: `${label} from a` })).ok).toBe(true);
      expect((await atAgent).text).toBe(`${label} from a`);
      const atCustomer = next<{ text: string }>(customer, 'message');
      expect((await emit(agent, 'message', { chatId, clientMsgId: '1', text: `${label} from b` })).ok).toBe(true);
      expect((await atCustomer).text).toBe(`${label} from b`);
    } finally {
      customer.close();
      agent.close();
    }
  };

  const lines = (app: AppHandle, msg: RegExp) =>
    app
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { context?: string; msg?: string; level?: string })
      .filter((l) => l.context === 'RedisIoAdapter' && msg.test(l.msg ?? ''));

  it('relays across the instances before, and again after, an outage', async () => {
    await relayAcross('before');
    // Redis away for a few seconds: every connection cut, and nothing listening.
    const port = proxy.port;
    await proxy.close();
    await waitFor('both instances to notice', () => lines(a, /^redis unreachable/).length > 0 && lines(b, /^redis unreachable/).length > 0);
    await sleep(3000);
    // Found once, not once per attempt.
    expect(lines(a, /^redis unreachable/)).toHaveLength(1);
    expect(lines(a, /^redis unreachable/)[0].level).toBe('warn');
    proxy = await startTcpProxy(REDIS_PORT, { port });
    await waitFor('both instances to reconnect', () => lines(a, /^redis is back/).length > 0 && lines(b, /^redis is back/).length > 0, 15_000);
    await relayAcross('after');
  }, 60_000);
});
