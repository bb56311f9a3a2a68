import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { RedisLimits } from '../src/auth/rate-limit-backend';
import { AppHandle, cleanupDir, connect, emit, http, migrate, sleep, startApp, token } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
const uniquePrefix = () => `test:rl:${randomBytes(6).toString('hex')}`;

// Item 6 of issue 13: with REDIS_URL, two instances count one limit.
describe('rate limits shared through Redis', () => {
  let db: TestDatabase;
  let a: AppHandle;
  let b: AppHandle;
  const company = 'sharedrateco';

  beforeAll(async () => {
    db = await createTestDatabase('rlshared');
    await migrate(db.url);
    const env = {
      REDIS_URL,
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix(),
      RATE_LIMIT_TOKEN_PER_SECOND: '5', // 10 events per two-second window, per credential
      EXPORT_TARGET_CHECKS_PER_MINUTE: '4',
    };
    [a, b] = await Promise.all([
      startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'rl-a' } }),
      startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'rl-b' } }),
    ]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    for (const x of [a, b]) if (x) cleanupDir(x.workDir);
    await db?.drop();
  });

  it('allows N export-target checks across both instances, and refuses the next on either with 429', async () => {
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const check = (app: AppHandle) => http(app, 'POST', '/v1/admin/export-target/check', admin);
    const allowed = [];
    for (const app of [a, b, a, b]) allowed.push(await check(app));
    expect(allowed.map((r) => [r.status, r.body.ok])).toEqual([
      [200, true],
      [200, true],
      [200, true],
      [200, true],
    ]);
    for (const app of [a, b]) {
      const refused = await check(app);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ statusCode: 429, code: 'rate_limited' });
    }
    // Per company: another company's administrator still has its own four.
    expect((await http(b, 'POST', '/v1/admin/export-target/check', token({ sub: 'adm', company: 'otherco', role: 'admin' }))).status).toBe(200);
  });

  it("counts a credential's socket events on both instances as one", async () => {
    const t = token({ sub: 'two-tabs', company, role: 'agent' });
    const [sa, sb] = await Promise.all([connect(a, '/agent', t), connect(b, '/agent', t)]);
    try {
      // 6 + 4 = the credential's 10 per window: each answered (not_found: no such chat), none limited.
      const first = await Promise.all([
        ...Array.from({ length: 6 }, () => emit(sa, 'chat.join', { chatId: 'none' })),
        ...Array.from({ length: 4 }, () => emit(sb, 'chat.join', { chatId: 'none' })),
      ]);
      expect(first.map((r) => r.error?.code)).toEqual(Array(10).fill('not_found'));
      // The 11th is refused on either instance, although each has seen fewer than 10.
      const [onA, onB] = [await emit(sa, 'chat.join', { chatId: 'none' }), await emit(sb, 'chat.join', { chatId: 'none' })];
      expect(onA.error?.code).toBe('rate_limited');
      expect(onB.error?.code).toBe('rate_limited');
      // The window passes: allowed again.
      await sleep(2100);
      expect((await emit(sb, 'chat.join', { chatId: 'none' })).error?.code).toBe('not_found');
    } finally {
      sa.close();
      sb.close();
    }
  });
});

// Redis unreachable or silent at run time: each instance counts the same limits in memory (the
// insurance limiter) and no event waits for Redis.
describe('rate limits while Redis is away', () => {
  let proxy: TcpProxy;
  let limits: RedisLimits;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    Logger.overrideLogger(false);
    proxy = await startTcpProxy(REDIS_PORT);
    limits = new RedisLimits(`redis://127.0.0.1:${proxy.port}`, prefix);
    limits.connect();
    await sleep(300);
  });
  afterAll(async () => {
    await limits?.close();
    await proxy?.close();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });

  const takeFive = async (limit: ReturnType<RedisLimits['limit']>, key: string) => {
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await limit.take(key));
    return { answers, ms: Date.now() - started };
  };

  it('limits through Redis while it answers', async () => {
    const limit = limits.limit({ name: 'up', points: 3, durationSeconds: 60 });
    const { answers } = await takeFive(limit, 'k');
    expect(answers).toEqual([true, true, true, false, false]);
  });

  it('answers from memory within the timeout when Redis stops answering', async () => {
    const limit = limits.limit({ name: 'stalled', points: 3, durationSeconds: 60 });
    proxy.stall(true);
    try {
      const { answers, ms } = await takeFive(limit, 'k');
      expect(answers).toEqual([true, true, true, false, false]);
      expect(ms).toBeLessThan(5 * 250 + 1000);
    } finally {
      proxy.stall(false);
    }
  });

  it('answers from memory at once when the connection to Redis is cut, and shares again once it is back', async () => {
    const limit = limits.limit({ name: 'cut', points: 3, durationSeconds: 60 });
    proxy.resetAfterBytes(0);
    await sleep(300);
    const { answers, ms } = await takeFive(limit, 'k');
    expect(answers).toEqual([true, true, true, false, false]);
    expect(ms).toBeLessThan(500);
    proxy.resetAfterBytes(null);
    // Back: a take through this client is counted in Redis again, which a second client sees.
    const other = new RedisLimits(REDIS_URL, prefix);
    other.connect();
    try {
      const otherLimit = other.limit({ name: 'cut', points: 3, durationSeconds: 60 });
      let seen: boolean[] = [];
      for (let round = 0; round < 40 && seen.join() !== 'true,true,false'; round++) {
        await sleep(250);
        const key = `after-${round}`;
        await limit.take(key);
        seen = [await otherLimit.take(key), await otherLimit.take(key), await otherLimit.take(key)];
      }
      expect(seen).toEqual([true, true, false]);
    } finally {
      await other.close();
    }
  });
});
