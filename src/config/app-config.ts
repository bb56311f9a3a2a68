import { createPrivateKey, createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The one place that reads process.env. Everything is validated once, at boot; a bad value stops
// the process with a message that names the variable.
export type DatabaseConfig =
  { type: 'sqlite'; path: string } | { type: 'mysql'; flavor: 'mysql' | 'mariadb'; url: string; host: string; port: number; database: string };

export class ConfigError extends Error {}

export interface AllowedTargets {
  names: string[];
  cidrs: { address: string; prefix: number; family: 'ipv4' | 'ipv6' }[];
}

export const DEV_JWT_SECRET = 'dev-only-insecure-secret-change-me';

export class AppConfig {
  readonly nodeEnv!: string;
  readonly port!: number;
  readonly database!: DatabaseConfig;
  readonly migrateOnStart!: boolean;
  readonly dbPoolSize!: number;
  /** Attempts to connect to the database at start, 2 s apart, before the start fails; Redis gets as long. */
  readonly startConnectAttempts!: number;
  readonly jwt!: { algorithm: 'HS256'; secret: string; isDevDefault: boolean } | { algorithm: 'RS256'; publicKey: string; isDevDefault: false };
  // secret null: none configured (RS256 without CUSTOMER_TOKEN_SECRET); the service generates one
  // and keeps it in the database, shared by every instance.
  readonly customerToken!: { secret: string | null; ttlSeconds: number };
  readonly exportLocalDir!: string;
  // Where a large recording's body is written once while it is measured and read back for its
  // upload (private files, removed when the delivery attempt ends; stale ones at start).
  readonly deliverySpoolDir!: string;
  // Loopback and private addresses an export target may use in production (names and CIDRs).
  readonly exportTargetAllowedHosts!: AllowedTargets;
  readonly exportTargetChecksPerMinute!: number;
  readonly maxMessageLength!: number;
  readonly messageBatchMax!: number;
  readonly messageWriteLanes!: number;
  readonly deliveryPollMs!: number;
  readonly deliveryMaxAttempts!: number;
  readonly deliveryRetryBaseMs!: number;
  readonly deliveryRetryMaxMs!: number;
  readonly deliveryWorker!: boolean;
  readonly deliveryConcurrency!: number;
  readonly sftpConnectionsPerTarget!: number;
  readonly deliveryLeaseMs!: number;
  readonly sftpOperationTimeoutMs!: number;
  readonly idleSweepMs!: number;
  readonly rateLimit!: { socketPerSecond: number; tokenPerSecond: number; serverTokenPerSecond: number; redisKeyPrefix: string };
  readonly retentionSweepMs!: number;
  // Erasures (contract section 10): how often running ones are looked for, the lease an instance
  // holds on one while it runs it, and the bounded retries of a removal or notice within a run.
  readonly erasure!: { sweepMs: number; leaseMs: number; attempts: number; retryBaseMs: number };
  readonly instanceId!: string;
  // SIGTERM/SIGINT: how long the graceful stop may take before the process exits and leaves the
  // rest to the crash-safe paths (docs/scaling.md).
  readonly shutdownDeadlineMs!: number;
  readonly redisUrl!: string | null;
  readonly logLevel!: 'error' | 'warn' | 'log' | 'debug';
  // json: one JSON object per line (production); pretty: coloured lines for a person.
  readonly logFormat!: 'json' | 'pretty';
  // 32 bytes from ENCRYPTION_MASTER_KEY; when set, message bodies are encrypted at rest.
  readonly encryptionMasterKey!: Buffer | null;
  // The Ed25519 key manifests are signed with (SIGNING_KEY); null: generated once and kept sealed
  // in the database.
  readonly signingKey!: KeyObject | null;
  // The demo pages at /demo/ (on by default outside production); their token and file routes are
  // never registered with NODE_ENV=production (src/demo/demo.module.ts).
  readonly demoPages!: boolean;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function parseDatabaseUrl(raw: string, cwd: string): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const p = raw.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!p) throw new ConfigError('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/webchat.sqlite');
    return { type: 'sqlite', path: p === ':memory:' ? p : resolve(cwd, p) };
  }
  if (raw.startsWith('mysql://') || raw.startsWith('mariadb://')) {
    let u: URL;
    try {
      u = new URL(raw.replace(/^mariadb:/, 'mysql:'));
    } catch {
      throw new ConfigError('DATABASE_URL is not a valid URL');
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!database) throw new ConfigError('DATABASE_URL must name a database: mysql://user:pass@host:3306/db');
    return {
      type: 'mysql',
      flavor: raw.startsWith('mariadb:') ? 'mariadb' : 'mysql',
      url: u.toString(),
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      database,
    };
  }
  throw new ConfigError('DATABASE_URL must start with mysql:// or sqlite:');
}

// 32 bytes as 64 hex characters or base64 (`openssl rand -base64 32`). The message never echoes
// the value: it is a secret even when malformed.
export function parseMasterKey(raw: string | undefined): Buffer | null {
  if (raw === undefined || raw.trim() === '') return null;
  const v = raw.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(v)) key = Buffer.from(v, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) key = Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
  if (!key || key.length !== 32) {
    throw new ConfigError('ENCRYPTION_MASTER_KEY must be 32 bytes, given as 64 hex characters or as base64 (e.g. from `openssl rand -base64 32`)');
  }
  return key;
}

// Comma- or space-separated host names, addresses and CIDR blocks, e.g.
// "sftp.internal, 10.20.0.0/16, fd00::/8".
// A PEM Ed25519 private key ("\\n" accepted for line breaks, as env files write them). The value
// is never echoed: it is a secret.
export function parseSigningKey(raw: string | undefined): KeyObject | null {
  if (raw === undefined || raw.trim() === '') return null;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: raw.replace(/\\n/g, '\n').trim(), format: 'pem' });
  } catch {
    throw new ConfigError('SIGNING_KEY is not a PEM private key (expected an Ed25519 key, e.g. from `openssl genpkey -algorithm ed25519`)');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(
      `SIGNING_KEY must be an Ed25519 private key, not ${key.asymmetricKeyType ?? 'an unknown type'} (e.g. from \`openssl genpkey -algorithm ed25519\`)`,
    );
  }
  return key;
}

export function parseAllowedTargets(raw: string | undefined): AllowedTargets {
  const out: AllowedTargets = { names: [], cidrs: [] };
  for (const entry of (raw ?? '').split(/[\s,]+/).filter(Boolean)) {
    const [addr, prefixText, extra] = entry.split('/');
    const family = isIP(addr);
    if (family) {
      const max = family === 4 ? 32 : 128;
      if (extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)))
        throw new ConfigError(`EXPORT_TARGET_ALLOWED_HOSTS: "${entry}" is not a CIDR block`);
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (prefix > max) throw new ConfigError(`EXPORT_TARGET_ALLOWED_HOSTS: the prefix of "${entry}" must be at most ${max}`);
      out.cidrs.push({ address: addr, prefix, family: family === 4 ? 'ipv4' : 'ipv6' });
    } else if (
      prefixText === undefined &&
      /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(entry)
    ) {
      out.names.push(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new ConfigError(`EXPORT_TARGET_ALLOWED_HOSTS: "${entry}" is neither a host name, an address nor a CIDR block`);
    }
  }
  return out;
}

function rateLimitKeyPrefix(raw: string | undefined): string {
  if (raw === undefined || raw === '') return 'wcr:rl';
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(raw)) throw new ConfigError('RATE_LIMIT_REDIS_PREFIX: 1-64 letters, digits, ":", ".", "_" or "-"');
  return raw;
}

function redisUrl(raw: string | undefined): string | null {
  if (!raw) return null;
  if (!/^rediss?:\/\//.test(raw)) throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  return raw;
}

// PORT alone (the verifier's default service address), checked as loadConfig checks it.
export function servicePort(env: Env = process.env): number {
  // Not 0: the kernel would pick a port that nothing (a probe, a client, the verify command) knows.
  return int(env, 'PORT', 3000, 1, 65535);
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const database = parseDatabaseUrl(env.DATABASE_URL || 'sqlite:./data/webchat.sqlite', cwd);

  let jwt: AppConfig['jwt'];
  if (env.JWT_PUBLIC_KEY) {
    const publicKey = env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n');
    if (!publicKey.includes('BEGIN')) throw new ConfigError('JWT_PUBLIC_KEY must be a PEM public key');
    // Read now, so that a malformed key stops the start naming the variable, not at the first token.
    let key: KeyObject;
    try {
      key = createPublicKey(publicKey);
    } catch (err) {
      throw new ConfigError(`JWT_PUBLIC_KEY is not a readable PEM key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'rsa') throw new ConfigError(`JWT_PUBLIC_KEY must be an RSA key for RS256, not ${String(key.asymmetricKeyType)}`);
    jwt = { algorithm: 'RS256', publicKey, isDevDefault: false };
  } else if (env.JWT_SECRET) {
    if (env.JWT_SECRET.length < 16) throw new ConfigError('JWT_SECRET must be at least 16 characters');
    // The development secret is in the source: anyone could sign tokens with it.
    if (nodeEnv === 'production' && env.JWT_SECRET === DEV_JWT_SECRET) throw new ConfigError('JWT_SECRET must not be the development secret in production');
    jwt = { algorithm: 'HS256', secret: env.JWT_SECRET, isDevDefault: false };
  } else if (nodeEnv === 'production') {
    throw new ConfigError('NODE_ENV=production needs JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256)');
  } else {
    jwt = { algorithm: 'HS256', secret: DEV_JWT_SECRET, isDevDefault: true };
  }

  // Customer tokens are minted here, so they need a key this service holds even when platform
  // tokens are verified with a public key only. The development secret from the source is used only
  // when no JWT setting is given at all (and that is said at start); with JWT_PUBLIC_KEY and no
  // CUSTOMER_TOKEN_SECRET a key is generated and kept in the database. Sealing it needs a secret
  // this service holds: a public key is none, so production then needs ENCRYPTION_MASTER_KEY.
  let customerSecret: string | null = env.CUSTOMER_TOKEN_SECRET || null;
  if (customerSecret === null && jwt.algorithm === 'HS256') customerSecret = jwt.secret;
  if (customerSecret !== null && customerSecret.length < 16) throw new ConfigError('CUSTOMER_TOKEN_SECRET must be at least 16 characters');
  if (nodeEnv === 'production' && env.CUSTOMER_TOKEN_SECRET === DEV_JWT_SECRET) {
    throw new ConfigError('CUSTOMER_TOKEN_SECRET must not be the development secret in production');
  }
  const encryptionMasterKey = parseMasterKey(env.ENCRYPTION_MASTER_KEY);
  if (customerSecret === null && nodeEnv === 'production' && !encryptionMasterKey) {
    throw new ConfigError(
      'with JWT_PUBLIC_KEY, NODE_ENV=production needs CUSTOMER_TOKEN_SECRET, or ENCRYPTION_MASTER_KEY to seal the customer-token key the service generates',
    );
  }

  // Empty is unset, as for every other variable.
  const logLevel = (env.LOG_LEVEL || 'log') as AppConfig['logLevel'];
  if (!['error', 'warn', 'log', 'debug'].includes(logLevel)) throw new ConfigError('LOG_LEVEL must be error, warn, log or debug');
  const logFormat = (env.LOG_FORMAT || (nodeEnv === 'production' ? 'json' : 'pretty')) as AppConfig['logFormat'];
  if (logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError(`LOG_FORMAT must be json or pretty, not "${String(env.LOG_FORMAT).slice(0, 40)}"`);

  const deliveryRetryBaseMs = int(env, 'DELIVERY_RETRY_BASE_MS', 2000, 1, 3_600_000);
  const deliveryRetryMaxMs = int(env, 'DELIVERY_RETRY_MAX_MS', 15 * 60_000, 1, 86_400_000);
  if (deliveryRetryBaseMs > deliveryRetryMaxMs) {
    throw new ConfigError(`DELIVERY_RETRY_BASE_MS (${deliveryRetryBaseMs}) must not be greater than DELIVERY_RETRY_MAX_MS (${deliveryRetryMaxMs})`);
  }

  return new AppConfig({
    nodeEnv,
    port: servicePort(env),
    database,
    dbPoolSize: int(env, 'DB_POOL_SIZE', 30, 2, 500),
    startConnectAttempts: int(env, 'START_CONNECT_ATTEMPTS', 30, 1, 1000),
    migrateOnStart: bool(env, 'DB_MIGRATE_ON_START', database.type === 'sqlite'),
    jwt,
    customerToken: { secret: customerSecret, ttlSeconds: int(env, 'CUSTOMER_TOKEN_TTL_SECONDS', 86_400, 60, 30 * 86_400) },
    exportLocalDir: resolve(cwd, env.EXPORT_LOCAL_DIR || './data/outbox'),
    deliverySpoolDir: resolve(cwd, env.DELIVERY_SPOOL_DIR || join(tmpdir(), 'webchat-recorder-spool')),
    exportTargetAllowedHosts: parseAllowedTargets(env.EXPORT_TARGET_ALLOWED_HOSTS),
    // Per company and instance: a check connects somewhere on the administrator's say-so.
    exportTargetChecksPerMinute: int(env, 'EXPORT_TARGET_CHECKS_PER_MINUTE', 5, 1, 1000),
    // Bodies live in a TEXT column (65,535 bytes) and may be stored encrypted. 4 bytes per
    // character is a safe bound (a UTF-16 unit is at most 3 bytes of UTF-8; redaction markers at
    // most double ASCII): 12,000 characters are 48,000 bytes; sealed, 12 + 16 + 48,000 = 48,028
    // bytes become 4 * ceil(48,028 / 3) = 64,040 base64 characters, plus 7 for "enc:v1:" = 64,047,
    // which fits. The former cap of 16,000 would need 85,379.
    maxMessageLength: int(env, 'MESSAGE_MAX_LENGTH', 10_000, 1, 12_000),
    messageBatchMax: int(env, 'MESSAGE_BATCH_MAX', 500, 1, 5000),
    messageWriteLanes: int(env, 'MESSAGE_WRITE_LANES', 1, 1, 32),
    deliveryPollMs: int(env, 'DELIVERY_POLL_MS', 1000, 10, 600_000),
    deliveryMaxAttempts: int(env, 'DELIVERY_MAX_ATTEMPTS', 10, 1, 1000),
    deliveryRetryBaseMs,
    deliveryRetryMaxMs,
    // Off: this instance serves clients only and leaves the outbox to instances that have it on.
    deliveryWorker: bool(env, 'DELIVERY_WORKER', true),
    deliveryConcurrency: int(env, 'DELIVERY_CONCURRENCY', 8, 1, 64),
    sftpConnectionsPerTarget: int(env, 'SFTP_CONNECTIONS_PER_TARGET', 4, 1, 32),
    deliveryLeaseMs: int(env, 'DELIVERY_LEASE_MS', 60_000, 1000, 86_400_000),
    sftpOperationTimeoutMs: int(env, 'SFTP_OPERATION_TIMEOUT_MS', 30_000, 100, 600_000),
    idleSweepMs: int(env, 'IDLE_SWEEP_MS', 5000, 100, 3_600_000),
    // Events per second, with bursts of twice that: per socket, and per token across its sockets
    // and REST calls. Far above what a person types; a script flooding the service meets it.
    rateLimit: {
      socketPerSecond: int(env, 'RATE_LIMIT_SOCKET_PER_SECOND', 20, 1, 1_000_000),
      tokenPerSecond: int(env, 'RATE_LIMIT_TOKEN_PER_SECOND', 50, 1, 1_000_000),
      // Flow and admin credentials serve a whole company.
      serverTokenPerSecond: int(env, 'RATE_LIMIT_SERVER_TOKEN_PER_SECOND', 2000, 1, 1_000_000),
      // With REDIS_URL the credential and export-check counts are shared under this key prefix.
      redisKeyPrefix: rateLimitKeyPrefix(env.RATE_LIMIT_REDIS_PREFIX),
    },
    retentionSweepMs: int(env, 'RETENTION_SWEEP_MS', 60_000, 100, 86_400_000),
    erasure: {
      sweepMs: int(env, 'ERASURE_SWEEP_MS', 10_000, 100, 86_400_000),
      leaseMs: int(env, 'ERASURE_LEASE_MS', 60_000, 1000, 86_400_000),
      attempts: int(env, 'ERASURE_ATTEMPTS', 5, 1, 100),
      retryBaseMs: int(env, 'ERASURE_RETRY_BASE_MS', 1000, 1, 600_000),
    },
    redisUrl: redisUrl(env.REDIS_URL),
    shutdownDeadlineMs: int(env, 'SHUTDOWN_DEADLINE_MS', 25_000, 1000, 600_000),
    instanceId: env.INSTANCE_ID || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    logLevel,
    logFormat,
    encryptionMasterKey,
    signingKey: parseSigningKey(env.SIGNING_KEY),
    demoPages: bool(env, 'DEMO_PAGES', nodeEnv !== 'production'),
  });
}
