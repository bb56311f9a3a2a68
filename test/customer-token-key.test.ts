import { generateKeyPairSync, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../src/config/app-config';
import { AppHandle, cleanupDir, connect, connectError, emit, http, migrate, startApp, token } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';

// With JWT_PUBLIC_KEY and no CUSTOMER_TOKEN_SECRET, customer tokens were signed with the
// development secret from the source: anyone could forge one. The key is now generated once,
// kept in the database and shared by every instance.
describe('customer-token key without CUSTOMER_TOKEN_SECRET (RS256 platform tokens)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsEnv = { JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(), JWT_SECRET: '', CUSTOMER_TOKEN_SECRET: '' };
  const rs = (claims: object) => jwt.sign(claims, privateKey, { algorithm: 'RS256', expiresIn: 600 });
  const handles: AppHandle[] = [];
  const dbs: TestDatabase[] = [];

  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase('custkey');
    dbs.push(db);
    await migrate(db.url);
    return db;
  }
  async function start(db: TestDatabase, env: Record<string, string> = {}): Promise<AppHandle> {
    const app = await startApp({ databaseUrl: db.url, env: { ...rsEnv, ...env } });
    handles.push(app);
    return app;
  }
  async function createChat(app: AppHandle, company: string): Promise<{ chatId: string; customerToken: string }> {
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', rs({ sub: 'flow', company, role: 'flow' }), {
      service: 'sales',
      customer: { id: 'cust-1' },
    });
    expect(created.status).toBe(201);
    return created.body;
  }

  afterAll(async () => {
    for (const a of handles) {
      await a.stop();
      cleanupDir(a.workDir);
    }
    for (const d of dbs) await d.drop();
  });

  it('refuses a customer token signed with the development secret; a second instance accepts the first one’s tokens', async () => {
    const db = await database();
    const masterKey = randomBytes(32).toString('base64');
    // Started at once: both race to create the key and must end with the same one.
    const [a, b] = await Promise.all([start(db, { ENCRYPTION_MASTER_KEY: masterKey }), start(db, { ENCRYPTION_MASTER_KEY: masterKey })]);
    const company = 'keyco';
    const { chatId, customerToken } = await createChat(a, company);

    const forged = token({ sub: 'mallory', company, role: 'customer', chat: chatId }, { secret: DEV_JWT_SECRET });
    for (const app of [a, b]) expect((await connectError(app, '/customer', forged)).message).toBe('invalid token');

    const onB = await connect(b, '/customer', customerToken);
    try {
      expect((await emit(onB, 'message', { clientMsgId: 'm1', text: 'hello from B' })).ok).toBe(true);
    } finally {
      onB.close();
    }
    // And the other way round.
    const other = await createChat(b, company);
    (await connect(a, '/customer', other.customerToken)).close();

    // The customer-token key (the manifest signing key, generated at start too, is beside it).
    const rows = await db.query<{ name: string; value: string }>("SELECT name, value FROM service_keys WHERE name = 'customer-token'");
    expect(rows).toEqual([{ name: 'customer-token', value: expect.stringMatching(/^enc:v1:/) as unknown }]);
  });

  it('without ENCRYPTION_MASTER_KEY (development) the generated key is kept unsealed and says so at start', async () => {
    const db = await database();
    const app = await start(db);
    const { chatId, customerToken } = await createChat(app, 'plainkeyco');
    expect(app.logs()).toMatch(/customer-token key is kept unsealed/);
    const forged = token({ sub: 'mallory', company: 'plainkeyco', role: 'customer', chat: chatId }, { secret: DEV_JWT_SECRET });
    expect((await connectError(app, '/customer', forged)).message).toBe('invalid token');
    (await connect(app, '/customer', customerToken)).close();
    const rows = await db.query<{ value: string }>("SELECT value FROM service_keys WHERE name = 'customer-token'");
    expect(rows[0].value).toMatch(/^plain:/);
  });
});
