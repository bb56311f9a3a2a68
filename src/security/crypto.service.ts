import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppException } from '../common/app.exception';
import { boundedCache } from '../common/bounded-cache';
import { Clock } from '../common/clock';
import { AppConfig, DEV_JWT_SECRET } from '../config/app-config';
import { CompanyKeyEntity } from './company-key.entity';
import { ServiceKeyEntity } from './service-key.entity';

// Sealed values are text: "enc:v1:" + base64(iv | tag | ciphertext), AES-256-GCM with a 12-byte
// random IV and a 16-byte tag. Anything without the prefix is plain text from before encryption.
export const SEALED_PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// HKDF salt and the purposes of the sub-keys: one master key, a separate key per use.
const HKDF_SALT = 'webchat-recorder/v1';
const PURPOSE_SECRETS = 'export-target-secrets';
const PURPOSE_WRAP = 'company-key-wrap';
const PURPOSE_DEV_SECRETS = 'export-target-secrets/dev-fallback';
const PURPOSE_SERVICE_KEYS = 'service-keys';
const PURPOSE_IDENTIFIERS = 'stored-identifiers';
// A generated service key stored without a master key to seal it with.
const PLAIN_PREFIX = 'plain:';
// Unwrapped company keys are kept in memory; the row is read again after this long, so an erasure
// made on another instance takes effect here within it.
const KEY_RECHECK_MS = 10_000;
// Unwrapped company keys kept in memory, least recently used first out.
export const MAX_CACHED_COMPANY_KEYS = 10_000;

// The company's key was erased on purpose: its encrypted bodies are gone for good, and no new
// bodies are stored encrypted with a fresh key behind the administrator's back.
export class EncryptionKeyErasedError extends AppException {
  constructor() {
    super('conflict', "the company's encryption key was erased");
    this.name = 'EncryptionKeyErasedError';
  }
}

// A sealed value that cannot be opened: altered, or sealed with another key.
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

export function deriveKey(ikm: Buffer | string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, purpose, KEY_BYTES));
}

// The associated data binds a value to where it belongs (a company, a message row), so a sealed
// value copied elsewhere fails to open.
export function sealBytes(key: Buffer, plain: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function openBytes(key: Buffer, sealed: string, aad: string): Buffer {
  if (!isSealed(sealed)) throw new DecryptionError('not a sealed value');
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('sealed value is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError('sealed value cannot be opened: it was altered or sealed with another key');
  }
}

export function seal(key: Buffer, plain: string, aad: string): string {
  return sealBytes(key, Buffer.from(plain, 'utf8'), aad);
}

// Plain values pass through unchanged.
export function open(key: Buffer, value: string, aad: string): string {
  return isSealed(value) ? openBytes(key, value, aad).toString('utf8') : value;
}

export interface BodyRow {
  chatId: string;
  seq: number;
  text: string | null;
}

// Key hierarchy: ENCRYPTION_MASTER_KEY -> HKDF sub-keys per purpose -> (wrap key) -> one random
// data key per company for message bodies. Export-target secrets are sealed with their own sub-key
// (or, without a master key, with a development key derived from the JWT secret), and so are keys
// the service generates for itself (serviceKey).
@Injectable()
export class CryptoService implements OnApplicationBootstrap {
  private readonly logger = new Logger(CryptoService.name);
  // Message bodies are encrypted exactly when a master key is configured.
  readonly bodiesEncrypted: boolean;
  private readonly wrapKey: Buffer | null;
  private readonly masterKey: Buffer | null;
  // False when export-target secrets are sealed with a key derived from public material.
  private readonly secretsReallySealed: boolean;
  // The first seals; every one opens, so secrets stored before a master key was set still read.
  private readonly secretKeys: Buffer[];
  private readonly keys: ReturnType<typeof boundedCache<Buffer>>;
  // Keys identifierDigest: from the deployment's strongest secret, the same on every instance.
  private readonly identifierKey: Buffer;
  private readonly loading = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.keys = boundedCache<Buffer>({ max: MAX_CACHED_COMPANY_KEYS, ttlMs: KEY_RECHECK_MS, clock });
    const master = config.encryptionMasterKey;
    // Without a master key, the secret this service holds (the HS256 JWT secret, else
    // CUSTOMER_TOKEN_SECRET). With only a public key there is none: earlier versions then used the
    // development secret from the source, which protects nothing; it still opens what they sealed.
    const heldSecret = config.jwt.algorithm === 'HS256' ? config.jwt.secret : config.customerToken.secret;
    const sourceKey = deriveKey(DEV_JWT_SECRET, PURPOSE_DEV_SECRETS);
    const fallback = heldSecret !== null ? deriveKey(heldSecret, PURPOSE_DEV_SECRETS) : sourceKey;
    this.bodiesEncrypted = master !== null;
    this.masterKey = master;
    this.secretsReallySealed = master !== null || (heldSecret !== null && !config.jwt.isDevDefault);
    this.wrapKey = master ? deriveKey(master, PURPOSE_WRAP) : null;
    this.secretKeys = master ? [deriveKey(master, PURPOSE_SECRETS), fallback] : [fallback];
    if (!this.secretKeys.some((k) => k.equals(sourceKey))) this.secretKeys.push(sourceKey);
    this.identifierKey = deriveKey(master ?? heldSecret ?? DEV_JWT_SECRET, PURPOSE_IDENTIFIERS);
  }

  // A keyed digest of an identifier that must not be written as it is (one that holds a card
  // number): the same value gives the same digest on every instance of a deployment, so it still
  // identifies (a resend is still found), and without the deployment's secret the value cannot be
  // recovered by trying every card number (as it could from a plain hash).
  identifierDigest(value: string): string {
    return `h1:${createHmac('sha256', this.identifierKey).update(value, 'utf8').digest('base64url')}`;
  }

  onApplicationBootstrap(): void {
    if (!this.bodiesEncrypted) {
      this.logger.warn(
        this.secretsReallySealed
          ? 'ENCRYPTION_MASTER_KEY is not set: message bodies are stored unencrypted and export-target secrets are sealed with a key derived from the JWT secret; set ENCRYPTION_MASTER_KEY'
          : 'ENCRYPTION_MASTER_KEY is not set and no secret is configured: message bodies are stored unencrypted and export-target secrets are sealed with a key anyone can derive (from the source), which protects nothing; set ENCRYPTION_MASTER_KEY',
      );
    }
  }

  // --- keys the service generates and shares between instances -----------------------------------

  // The key called `name`, generated at first use and kept in the database: every instance inserts
  // its candidate if none is there, then all read back the one that won. Sealed with a key derived
  // from ENCRYPTION_MASTER_KEY; without one it is stored as it is (`sealed: false`), since nothing
  // else this service holds is secret (see docs/security.md).
  async serviceKey(name: string, bytes = KEY_BYTES): Promise<{ key: Buffer; sealed: boolean }> {
    const repo = this.db.getRepository(ServiceKeyEntity);
    let row = await repo.findOneBy({ name });
    if (!row) {
      const fresh = randomBytes(bytes);
      const value = this.masterKey
        ? sealBytes(deriveKey(this.masterKey, PURPOSE_SERVICE_KEYS), fresh, serviceKeyAad(name))
        : PLAIN_PREFIX + fresh.toString('base64');
      await this.db.createQueryBuilder().insert().into(ServiceKeyEntity).values({ name, value, createdAt: this.clock.now() }).orIgnore().execute();
      row = await repo.findOneBy({ name });
      if (!row) throw new DecryptionError(`the service key ${name} could not be stored`);
    }
    if (row.value.startsWith(PLAIN_PREFIX)) return { key: Buffer.from(row.value.slice(PLAIN_PREFIX.length), 'base64'), sealed: false };
    if (!this.masterKey) throw new DecryptionError(`the stored service key ${name} is sealed: ENCRYPTION_MASTER_KEY is needed to open it`);
    try {
      return { key: openBytes(deriveKey(this.masterKey, PURPOSE_SERVICE_KEYS), row.value, serviceKeyAad(name)), sealed: true };
    } catch {
      throw new DecryptionError(`the stored service key ${name} cannot be opened: ENCRYPTION_MASTER_KEY is not the one it was sealed with`);
    }
  }

  // --- export-target secrets ---------------------------------------------------------------------

  sealSecret(plain: string): string {
    return seal(this.secretKeys[0], plain, PURPOSE_SECRETS);
  }

  openSecret(value: string): string {
    if (!isSealed(value)) return value;
    for (const key of this.secretKeys) {
      try {
        return open(key, value, PURPOSE_SECRETS);
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
      }
    }
    throw new DecryptionError('a stored export-target secret cannot be opened (ENCRYPTION_MASTER_KEY or JWT_SECRET changed?); set the target again');
  }

  // --- message bodies ----------------------------------------------------------------------------

  // The company's data key, created on first use. Cached: the hot path pays no database round
  // trip per message.
  bodyKey(companyId: string): Promise<Buffer> {
    return this.dataKey(companyId, true);
  }

  sealBody(key: Buffer, chatId: string, seq: number, text: string): string {
    return seal(key, text, bodyAad(chatId, seq));
  }

  openBody(key: Buffer, chatId: string, seq: number, value: string): string {
    return open(key, value, bodyAad(chatId, seq));
  }

  // Opens the bodies of one company's rows in place. Rows stored in plain text need no key, so a
  // deployment without a master key reads exactly as before.
  async openBodies<T extends BodyRow>(companyId: string, rows: T[]): Promise<T[]> {
    if (!rows.some((r) => r.text !== null && isSealed(r.text))) return rows;
    if (!this.bodiesEncrypted) throw new DecryptionError('message bodies are encrypted but ENCRYPTION_MASTER_KEY is not set');
    const key = await this.dataKey(companyId, false);
    for (const r of rows) if (r.text !== null) r.text = this.openBody(key, r.chatId, r.seq, r.text);
    return rows;
  }

  // One body opened where it is stored, or null when its seal does not open there (moved to
  // another chat or seq, or altered): the chain check reports that as a break. A missing or
  // erased key still throws, as for openBodies.
  async openBodyInPlace(companyId: string, row: BodyRow & { text: string }): Promise<string | null> {
    if (!isSealed(row.text)) return row.text;
    if (!this.bodiesEncrypted) throw new DecryptionError('message bodies are encrypted but ENCRYPTION_MASTER_KEY is not set');
    const key = await this.dataKey(companyId, false);
    try {
      return this.openBody(key, row.chatId, row.seq, row.text);
    } catch (err) {
      if (err instanceof DecryptionError) return null;
      throw err;
    }
  }

  // --- administration ----------------------------------------------------------------------------

  async keyStatus(companyId: string): Promise<{ enabled: boolean; erased: boolean; createdAt: string | null }> {
    const row = await this.db.getRepository(CompanyKeyEntity).findOneBy({ companyId });
    return { enabled: this.bodiesEncrypted, erased: (row?.erasedAt ?? null) !== null, createdAt: row?.createdAt.toISOString() ?? null };
  }

  // Crypto-shredding: the wrapped key is overwritten, so every body sealed with it is unreadable
  // for good. A company that never had a key gets an erased row too: no key is created for it
  // later. Runs in the caller's transaction (with its audit entry); `forget` after commit.
  async eraseCompanyKey(companyId: string, m: EntityManager): Promise<void> {
    if (!this.bodiesEncrypted) throw AppException.conflict('message encryption is not enabled (ENCRYPTION_MASTER_KEY is not set)');
    const now = this.clock.now();
    await m.createQueryBuilder().insert().into(CompanyKeyEntity).values({ companyId, wrappedKey: '', createdAt: now, erasedAt: now }).orIgnore().execute();
    await m
      .createQueryBuilder()
      .update(CompanyKeyEntity)
      .set({ wrappedKey: '', erasedAt: now })
      .where('company_id = :companyId AND erased_at IS NULL', { companyId })
      .execute();
    this.forget(companyId);
  }

  forget(companyId: string): void {
    this.keys.delete(companyId);
  }

  private dataKey(companyId: string, create: boolean): Promise<Buffer> {
    const hit = this.keys.get(companyId);
    if (hit) return Promise.resolve(hit);
    // Concurrent misses for one company share one read.
    const slot = `${create ? 'w' : 'r'}:${companyId}`;
    let p = this.loading.get(slot);
    if (!p) {
      p = this.load(companyId, create).finally(() => this.loading.delete(slot));
      this.loading.set(slot, p);
    }
    return p;
  }

  private async load(companyId: string, create: boolean): Promise<Buffer> {
    const wrapKey = this.wrapKey;
    if (!wrapKey) throw new DecryptionError('ENCRYPTION_MASTER_KEY is not set');
    const repo = this.db.getRepository(CompanyKeyEntity);
    let row = await repo.findOneBy({ companyId });
    if (!row && create) {
      // Insert-or-ignore, then read back: when instances race, all of them use the winner's key.
      const wrapped = sealBytes(wrapKey, randomBytes(KEY_BYTES), wrapAad(companyId));
      await this.db
        .createQueryBuilder()
        .insert()
        .into(CompanyKeyEntity)
        .values({ companyId, wrappedKey: wrapped, createdAt: this.clock.now(), erasedAt: null })
        .orIgnore()
        .execute();
      row = await repo.findOneBy({ companyId });
    }
    if (!row) throw new DecryptionError(`company ${companyId} has no encryption key`);
    if (row.erasedAt !== null || row.wrappedKey === '') {
      this.keys.delete(companyId);
      throw new EncryptionKeyErasedError();
    }
    let key: Buffer;
    try {
      key = openBytes(wrapKey, row.wrappedKey, wrapAad(companyId));
    } catch {
      throw new DecryptionError(`the encryption key of company ${companyId} cannot be unwrapped: ENCRYPTION_MASTER_KEY is not the one it was created with`);
    }
    this.keys.set(companyId, key);
    return key;
  }
}

function wrapAad(companyId: string): string {
  return `${PURPOSE_WRAP}:${companyId}`;
}

function serviceKeyAad(name: string): string {
  return `${PURPOSE_SERVICE_KEYS}:${name}`;
}

function bodyAad(chatId: string, seq: number): string {
  return `message:${chatId}:${seq}`;
}
