import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { ConfigError, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { CryptoService, DecryptionError, EncryptionKeyErasedError, open, seal, SEALED_PREFIX } from './crypto.service';
import { ENTITIES } from '../wiring/entities';

const MASTER = randomBytes(32);

function tamper(sealed: string, at: number): string {
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
  raw[at] ^= 0x01;
  return SEALED_PREFIX + raw.toString('base64');
}

describe('seal and open', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh IV every time', () => {
    const a = seal(key, 'héllo 🌍', 'aad');
    const b = seal(key, 'héllo 🌍', 'aad');
    expect(a.startsWith(SEALED_PREFIX)).toBe(true);
    expect(a).not.toBe(b);
    expect(open(key, a, 'aad')).toBe('héllo 🌍');
    expect(open(key, seal(key, '', 'aad'), 'aad')).toBe('');
  });

  it('detects tampering with the IV, the tag or the ciphertext, and a wrong key or context', () => {
    const s = seal(key, 'card 4111', 'aad');
    for (const at of [0, 12, 28]) expect(() => open(key, tamper(s, at), 'aad')).toThrow(DecryptionError);
    expect(() => open(randomBytes(32), s, 'aad')).toThrow(DecryptionError);
    expect(() => open(key, s, 'other')).toThrow(DecryptionError);
    expect(() => open(key, SEALED_PREFIX + 'AAAA', 'aad')).toThrow(DecryptionError);
  });

  it('passes plain values through', () => {
    expect(open(key, 'plain text from before', 'aad')).toBe('plain text from before');
  });
});

describe('ENCRYPTION_MASTER_KEY', () => {
  it('takes 64 hex characters or base64 of 32 bytes', () => {
    expect(loadConfig({ ENCRYPTION_MASTER_KEY: MASTER.toString('hex') }).encryptionMasterKey).toEqual(MASTER);
    expect(loadConfig({ ENCRYPTION_MASTER_KEY: MASTER.toString('base64') }).encryptionMasterKey).toEqual(MASTER);
    expect(loadConfig({}).encryptionMasterKey).toBeNull();
  });

  it('refuses anything else, naming the variable but not echoing the value', () => {
    for (const bad of ['short', randomBytes(16).toString('base64'), 'z'.repeat(64), randomBytes(33).toString('hex')]) {
      let err: unknown;
      try {
        loadConfig({ ENCRYPTION_MASTER_KEY: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('ENCRYPTION_MASTER_KEY');
      expect((err as Error).message).not.toContain(bad);
    }
  });
});

describe('CryptoService', () => {
  let ds: DataSource;
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', ENCRYPTION_MASTER_KEY: MASTER.toString('hex'), JWT_SECRET: 'unit-test-secret-0123456789' });

  beforeAll(async () => {
    ds = new DataSource(dataSourceOptions(config, ENTITIES));
    await ds.initialize();
    await ds.runMigrations();
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  const service = (c = config) => new CryptoService(ds, c, new Clock());

  it('creates one data key per company, stored wrapped, and opens what it sealed', async () => {
    const crypto = service();
    const key = await crypto.bodyKey('acme');
    expect(await crypto.bodyKey('acme')).toBe(key);
    // Another instance (no cache) reads the same key back from its wrapped row.
    expect((await service().bodyKey('acme')).equals(key)).toBe(true);
    const rows = (await ds.query(`SELECT wrapped_key FROM company_keys WHERE company_id = 'acme'`)) as { wrapped_key: string }[];
    expect(rows[0].wrapped_key.startsWith(SEALED_PREFIX)).toBe(true);
    expect(rows[0].wrapped_key).not.toContain(key.toString('base64'));

    const sealed = crypto.sealBody(key, 'chat-1', 1, 'hello');
    const read = await service().openBodies('acme', [
      { chatId: 'chat-1', seq: 1, text: sealed },
      { chatId: 'chat-1', seq: 2, text: 'plain' },
      { chatId: 'chat-1', seq: 3, text: null },
    ]);
    expect(read.map((r) => r.text)).toEqual(['hello', 'plain', null]);
  });

  it('refuses a body under another company key or moved to another row', async () => {
    const crypto = service();
    const sealed = crypto.sealBody(await crypto.bodyKey('acme'), 'chat-1', 1, 'hello');
    await crypto.bodyKey('globex');
    await expect(crypto.openBodies('globex', [{ chatId: 'chat-1', seq: 1, text: sealed }])).rejects.toThrow(DecryptionError);
    await expect(crypto.openBodies('acme', [{ chatId: 'chat-1', seq: 2, text: sealed }])).rejects.toThrow(DecryptionError);
    await expect(crypto.openBodies('initech', [{ chatId: 'chat-1', seq: 1, text: sealed }])).rejects.toThrow(/no encryption key/);
  });

  it('after erasure, neither seals nor opens for that company, and creates no new key', async () => {
    const crypto = service();
    const sealed = crypto.sealBody(await crypto.bodyKey('umbrella'), 'chat-9', 1, 'secret');
    await ds.transaction((m) => crypto.eraseCompanyKey('umbrella', m));
    await expect(crypto.bodyKey('umbrella')).rejects.toThrow(EncryptionKeyErasedError);
    await expect(crypto.openBodies('umbrella', [{ chatId: 'chat-9', seq: 1, text: sealed }])).rejects.toThrow("the company's encryption key was erased");
    const rows = (await ds.query(`SELECT wrapped_key, erased_at FROM company_keys WHERE company_id = 'umbrella'`)) as {
      wrapped_key: string;
      erased_at: string;
    }[];
    expect(rows).toEqual([{ wrapped_key: '', erased_at: expect.any(String) as unknown }]);
    expect(await crypto.keyStatus('umbrella')).toMatchObject({ enabled: true, erased: true });
    // Another instance sees it too (one with the key cached: within its recheck interval).
    await expect(service().bodyKey('umbrella')).rejects.toThrow(EncryptionKeyErasedError);
    // Erasing a company that never had a key blocks one from being made.
    await ds.transaction((m) => crypto.eraseCompanyKey('never-had-one', m));
    await expect(crypto.bodyKey('never-had-one')).rejects.toThrow(EncryptionKeyErasedError);
  });

  it('cannot unwrap company keys under another master key', async () => {
    await service().bodyKey('hooli');
    const wrong = loadConfig({ DATABASE_URL: 'sqlite::memory:', ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex') });
    await expect(service(wrong).bodyKey('hooli')).rejects.toThrow(/cannot be unwrapped/);
  });

  it('seals export-target secrets; plain ones and those sealed before a master key was set still open', () => {
    const noMaster = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_SECRET: 'unit-test-secret-0123456789' });
    const dev = service(noMaster);
    const withKey = service();
    expect(dev.bodiesEncrypted).toBe(false);
    const sealedDev = dev.sealSecret('hunter2');
    const sealed = withKey.sealSecret('hunter2');
    expect(sealed).not.toContain('hunter2');
    expect(withKey.openSecret(sealed)).toBe('hunter2');
    expect(withKey.openSecret(sealedDev)).toBe('hunter2');
    expect(withKey.openSecret('plain-old')).toBe('plain-old');
    expect(() => dev.openSecret(sealed)).toThrow(DecryptionError);
    expect(() => withKey.openSecret(tamper(sealed, 20))).toThrow(DecryptionError);
  });

  it('without a master key, passes plain bodies through and refuses sealed ones clearly', async () => {
    const dev = service(loadConfig({ DATABASE_URL: 'sqlite::memory:' }));
    expect(await dev.openBodies('acme', [{ chatId: 'c', seq: 1, text: 'plain' }])).toEqual([{ chatId: 'c', seq: 1, text: 'plain' }]);
    const sealed = service().sealBody(await service().bodyKey('acme'), 'c', 1, 'x');
    await expect(dev.openBodies('acme', [{ chatId: 'c', seq: 1, text: sealed }])).rejects.toThrow(/ENCRYPTION_MASTER_KEY is not set/);
  });
});
