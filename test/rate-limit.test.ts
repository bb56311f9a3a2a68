import { AppHandle, cleanupDir, connect, emit, http, migrate, sleep, startApp, token } from './support/app';
import { openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';

describe('rate limits', () => {
  let db: TestDatabase;
  let app: AppHandle;
  const company = 'rateco';

  beforeAll(async () => {
    db = await createTestDatabase('rate');
    await migrate(db.url);
    app = await startApp({
      databaseUrl: db.url,
      env: { RATE_LIMIT_SOCKET_PER_SECOND: '5', RATE_LIMIT_TOKEN_PER_SECOND: '8', RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '20' },
    });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  it('answers rate_limited past the per-socket rate, stores only what it acknowledged, and recovers', async () => {
    const chat = await openChat(app, company, { agentId: 'fast-typist' });
    try {
      const acks = await Promise.all(Array.from({ length: 30 }, (_, i) => emit(chat.customer, 'message', { clientMsgId: `m${i}`, text: `flood ${i}` })));
      const ok = acks.filter((a) => a.ok).length;
      const limited = acks.filter((a) => a.error?.code === 'rate_limited');
      expect(ok).toBeGreaterThanOrEqual(5);
      expect(ok).toBeLessThanOrEqual(11); // a burst of 10, plus what refilled meanwhile
      expect(limited.length).toBe(30 - ok);
      expect(limited[0].error?.message).toMatch(/slow down/);
      const stored = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?', [chat.chatId]);
      expect(Number(stored[0].n)).toBe(ok);
      await sleep(1500);
      expect((await emit(chat.customer, 'message', { clientMsgId: 'later', text: 'calm again' })).ok).toBe(true);
    } finally {
      chat.close();
    }
  });

  it('limits a credential across its sockets', async () => {
    const t = token({ sub: 'many-tabs', company, role: 'agent' });
    const sockets = await Promise.all([0, 1, 2, 3].map(() => connect(app, '/agent', t)));
    try {
      // 4 sockets x 5 events: each socket is within its own burst of 10, the credential's burst is 16.
      const acks = await Promise.all(sockets.flatMap((s) => Array.from({ length: 5 }, () => emit(s, 'chat.join', { chatId: 'none' }))));
      const limited = acks.filter((a) => a.error?.code === 'rate_limited').length;
      expect(limited).toBeGreaterThanOrEqual(3);
      expect(acks.filter((a) => a.error?.code === 'not_found').length).toBe(20 - limited);
    } finally {
      sockets.forEach((s) => s.close());
    }
  });

  it('answers 429 rate_limited on REST past the credential rate', async () => {
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const results = await Promise.all(Array.from({ length: 100 }, () => http(app, 'GET', '/v1/admin/settings', admin)));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].body).toEqual({ statusCode: 429, code: 'rate_limited', message: 'too many requests, slow down' });
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(40); // a burst of twice 20 per second
    expect(ok + limited.length).toBe(100);
    // another company's admin is not affected
    expect((await http(app, 'GET', '/v1/admin/settings', token({ sub: 'adm', company: 'calmco', role: 'admin' }))).status).toBe(200);
  });
});
