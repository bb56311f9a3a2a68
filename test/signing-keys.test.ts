import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, http, migrate, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { relativeFilesUnder } from './support/files';
import { ManifestJson, sha256, signingKeys, verifyCli } from './support/manifests';

const ed25519Pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

// Contract section 9: every instance signs with the same key (generated once, sealed in the
// database, or SIGNING_KEY); GET /v1/signing-keys lists every key ever used, so a manifest signed
// before a rotation still verifies; a bad SIGNING_KEY stops the start with the reason.
describe('signing keys', () => {
  let db: TestDatabase;
  let outbox: string;
  const apps: AppHandle[] = [];
  const master = randomBytes(32).toString('hex');

  beforeAll(async () => {
    db = await createTestDatabase('signkeys');
    await migrate(db.url);
    outbox = mkdtempSync(join(tmpdir(), 'wcr-outbox-'));
  });
  afterAll(async () => {
    for (const a of apps) {
      await a.stop();
      cleanupDir(a.workDir);
    }
    await db?.drop();
    rmSync(outbox, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string> = {}) => {
    const a = await startApp({ databaseUrl: db.url, env: { ENCRYPTION_MASTER_KEY: master, EXPORT_LOCAL_DIR: outbox, ...env } });
    apps.push(a);
    return a;
  };
  const admin = (company: string) => token({ sub: 'adm', company, role: 'admin' });

  // One delivered recording of `company` through `app`; returns its manifest's path.
  const deliverOne = async (app: AppHandle, company: string): Promise<string> => {
    const put = await http(app, 'PUT', '/v1/admin/profiles/agent', admin(company), { filenameTemplate: '{{chatId}}', format: 'text', manifest: true });
    expect(put.status).toBe(200);
    const chat = await openChat(app, company);
    try {
      await exchange(chat, ['hello', 'hello to you']);
      await endChat(chat);
    } finally {
      chat.close();
    }
    await waitFor('delivery', async () => {
      const r = await http<{ status: string }[]>(app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin(company));
      return r.body[0]?.status === 'delivered';
    });
    return join(outbox, company, `${chat.chatId}.manifest.json`);
  };

  it('two instances starting at once generate one key, keep it sealed, and both serve it', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const [fromA, fromB] = await Promise.all([signingKeys(a), signingKeys(b)]);
    expect(fromA).toHaveLength(1);
    expect(fromB).toEqual(fromA);
    expect(fromA[0]).toMatchObject({
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      algorithm: 'Ed25519',
      publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY'),
    });
    // No credential needed, and nothing secret in it.
    expect(JSON.stringify(fromA)).not.toContain('PRIVATE');
    const sealed = await db.query<{ value: string }>("SELECT value FROM service_keys WHERE name = 'manifest-signing-ed25519'");
    expect(sealed).toHaveLength(1);
    expect(sealed[0].value.startsWith('enc:v1:')).toBe(true);
    expect(await db.query('SELECT key_id FROM signing_keys')).toEqual([{ key_id: fromA[0].keyId }]);

    // Recordings delivered through either instance carry that key and verify against either.
    const viaA = JSON.parse(readFileSync(await deliverOne(a, 'keys-a'), 'utf8')) as ManifestJson;
    const viaBPath = await deliverOne(b, 'keys-b');
    const viaB = JSON.parse(readFileSync(viaBPath, 'utf8')) as ManifestJson;
    expect(viaA.keyId).toBe(fromA[0].keyId);
    expect(viaB.keyId).toBe(fromA[0].keyId);
    expect(await verifyCli([viaBPath, '--url', a.url])).toEqual({ code: 0, out: 'ok\n' });

    // Both instances delivering one company's recordings at once: still one chain, no fork.
    const both = 'keys-both';
    for (const x of [a, b]) {
      expect((await http(x, 'PUT', '/v1/admin/profiles/agent', admin(both), { filenameTemplate: '{{chatId}}', format: 'text', manifest: true })).status).toBe(
        200,
      );
    }
    const chats = await Promise.all(
      [a, b, a, b, a, b].map(async (x, i) => {
        const chat = await openChat(x, both, { agentId: `agent-${i}` });
        try {
          await exchange(chat, [`parallel ${i}`]);
          await endChat(chat);
        } finally {
          chat.close();
        }
        return chat.chatId;
      }),
    );
    await waitFor('every delivery', async () => {
      const r = await http<{ status: string }[]>(a, 'GET', '/v1/admin/recordings?status=delivered', admin(both));
      return r.body.length === chats.length;
    });
    const chain = await verifyCli(['--chain', join(outbox, both), '--url', b.url]);
    expect(chain.out).toContain(`company ${both}: ${chats.length} manifest(s)`);
    expect(chain).toMatchObject({ code: 0, out: expect.stringMatching(/ok\n$/) });

    // A restart reads the same key back.
    await b.restart();
    expect(await signingKeys(b)).toEqual(fromA);
  });

  it('a new SIGNING_KEY gets a new keyId; the old key stays listed and old manifests still verify', async () => {
    const [old] = await signingKeys(apps[0]);
    const oldManifest = join(outbox, 'keys-a', relativeFilesUnder(join(outbox, 'keys-a')).find((f) => f.endsWith('.manifest.json')) as string);
    for (const a of apps.splice(0)) {
      await a.stop();
      cleanupDir(a.workDir);
    }
    const rotated = await start({ SIGNING_KEY: ed25519Pem().replace(/\n/g, '\\n') });
    const keys = await signingKeys(rotated);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toEqual(old);
    expect(keys[1].keyId).not.toBe(old.keyId);
    expect(rotated.logs()).toContain(`manifests are signed with key ${keys[1].keyId} (SIGNING_KEY)`);

    const newManifest = await deliverOne(rotated, 'keys-a');
    const fresh = JSON.parse(readFileSync(newManifest, 'utf8')) as ManifestJson;
    expect(fresh.keyId).toBe(keys[1].keyId);
    // Still one chain for the company across the rotation.
    expect(fresh.previousManifestSha256).toBe(sha256(readFileSync(oldManifest)));
    expect(await verifyCli([oldManifest, '--url', rotated.url])).toEqual({ code: 0, out: 'ok\n' });
    expect(await verifyCli([newManifest, '--url', rotated.url])).toEqual({ code: 0, out: 'ok\n' });
    expect(await verifyCli(['--chain', join(outbox, 'keys-a'), '--url', rotated.url])).toMatchObject({ code: 0 });
  });

  it('refuses to start with a malformed SIGNING_KEY or one of another algorithm, saying why', async () => {
    await expect(start({ SIGNING_KEY: 'not-a-key' })).rejects.toThrow(/configuration error: SIGNING_KEY is not a PEM private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expect(start({ SIGNING_KEY: rsa })).rejects.toThrow(/configuration error: SIGNING_KEY must be an Ed25519 private key, not rsa/);
    const truncated = ed25519Pem().slice(0, 70);
    let err: unknown;
    try {
      await start({ SIGNING_KEY: truncated });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/SIGNING_KEY is not a PEM private key/);
    expect((err as Error).message).not.toContain(truncated.slice(28));
  });
});
