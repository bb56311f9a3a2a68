import 'reflect-metadata';
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { ENTITIES } from '../wiring/entities';
import { CryptoService } from './crypto.service';
import { keyIdOf } from './signing-key-material';
import { GENERATED_SIGNING_KEY_NAME, SigningKeyService } from './signing-keys.service';

describe('SigningKeyService', () => {
  let ds: DataSource;
  const env = { DATABASE_URL: 'sqlite::memory:', ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex'), JWT_SECRET: 'unit-test-secret-0123456789' };
  beforeAll(async () => {
    ds = new DataSource(dataSourceOptions(loadConfig(env), ENTITIES));
    await ds.initialize();
    await ds.runMigrations();
  });
  afterAll(async () => {
    await ds?.destroy();
  });
  const service = (extra: Record<string, string> = {}) => {
    const config = loadConfig({ ...env, ...extra });
    return new SigningKeyService(ds, config, new Clock(), new CryptoService(ds, config, new Clock()));
  };

  it('instances racing at the first start end up with one generated key, sealed, listed once', async () => {
    const [a, b, c] = [service(), service(), service()];
    const signers = await Promise.all([a.signer(), b.signer(), c.signer()]);
    expect(new Set(signers.map((s) => s.keyId)).size).toBe(1);
    const rows = (await ds.query(`SELECT value FROM service_keys WHERE name = ?`, [GENERATED_SIGNING_KEY_NAME])) as { value: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0].value.startsWith('enc:v1:')).toBe(true);
    const listed = await a.list();
    expect(listed).toEqual([
      {
        keyId: signers[0].keyId,
        algorithm: 'Ed25519',
        publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY') as unknown,
        createdAt: expect.any(String) as unknown,
      },
    ]);
    // What it signs verifies with the listed public key, whose id is derived from it.
    const data = Buffer.from('{"a":1}');
    const sig = Buffer.from(signers[1].sign(data), 'base64');
    expect(verify(null, data, listed[0].publicKeyPem, sig)).toBe(true);
    expect(keyIdOf(createPublicKey(listed[0].publicKeyPem))).toBe(listed[0].keyId);
  });

  it('SIGNING_KEY takes over with its own keyId; the generated key stays listed', async () => {
    const [before] = await service().list();
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const rotated = service({ SIGNING_KEY: pem });
    const signer = await rotated.signer();
    expect(signer.keyId).not.toBe(before.keyId);
    expect((await rotated.list()).map((k) => k.keyId).sort()).toEqual([before.keyId, signer.keyId].sort());
    // Back without SIGNING_KEY: the generated key again.
    expect((await service().signer()).keyId).toBe(before.keyId);
  });

  it('says clearly when the generated key cannot be opened with this ENCRYPTION_MASTER_KEY', async () => {
    await expect(service({ ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex') }).signer()).rejects.toThrow(
      /ENCRYPTION_MASTER_KEY is not the one it was sealed with/,
    );
  });
});
