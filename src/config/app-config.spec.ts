import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from './app-config';

const rsaPublicPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ed25519PublicPem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('loadConfig', () => {
  it('runs with no configuration on SQLite under ./data with the development secret', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c.port).toBe(3000);
    expect(c.database).toEqual({ type: 'sqlite', path: '/srv/app/data/webchat.sqlite' });
    expect(c.migrateOnStart).toBe(true);
    expect(c.exportLocalDir).toBe('/srv/app/data/outbox');
    expect(c.deliverySpoolDir).toBe(join(tmpdir(), 'webchat-recorder-spool'));
    expect(loadConfig({ DELIVERY_SPOOL_DIR: 'spool' }, '/srv/app').deliverySpoolDir).toBe('/srv/app/spool');
    expect(c.jwt).toEqual({ algorithm: 'HS256', secret: DEV_JWT_SECRET, isDevDefault: true });
    expect(c.maxMessageLength).toBe(10_000);
  });

  it('refuses to start in production without a JWT key', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret' })).not.toThrow();
  });

  it('reads a MySQL URL and does not migrate it on start unless told to', () => {
    const c = loadConfig({ DATABASE_URL: 'mysql://u:p@db.example:3307/chats' });
    expect(c.database).toMatchObject({ type: 'mysql', flavor: 'mysql', host: 'db.example', port: 3307, database: 'chats' });
    expect(c.migrateOnStart).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'mysql://u@h/db', DB_MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '0' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://u@h' }, 'DATABASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ JWT_PUBLIC_KEY: 'not a pem' }, 'JWT_PUBLIC_KEY'],
    // Read at start: a PEM that does not parse, or a key that is not RSA, names the variable.
    [{ JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----garbage-----END PUBLIC KEY-----' }, 'JWT_PUBLIC_KEY'],
    [{ JWT_PUBLIC_KEY: ed25519PublicPem }, 'JWT_PUBLIC_KEY'],
    [{ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret', CUSTOMER_TOKEN_SECRET: DEV_JWT_SECRET }, 'CUSTOMER_TOKEN_SECRET'],
    [{ DELIVERY_RETRY_BASE_MS: '100000', DELIVERY_RETRY_MAX_MS: '10' }, 'DELIVERY_RETRY_BASE_MS'],
    [{ MESSAGE_MAX_LENGTH: '20000' }, 'MESSAGE_MAX_LENGTH'],
    [{ DB_MIGRATE_ON_START: 'maybe' }, 'DB_MIGRATE_ON_START'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ EXPORT_TARGET_ALLOWED_HOSTS: '10.0.0.0/33' }, 'EXPORT_TARGET_ALLOWED_HOSTS'],
    [{ EXPORT_TARGET_ALLOWED_HOSTS: 'bad_host!' }, 'EXPORT_TARGET_ALLOWED_HOSTS'],
    [{ EXPORT_TARGET_ALLOWED_HOSTS: 'name/8' }, 'EXPORT_TARGET_ALLOWED_HOSTS'],
    [{ EXPORT_TARGET_CHECKS_PER_MINUTE: '0' }, 'EXPORT_TARGET_CHECKS_PER_MINUTE'],
    [{ SHUTDOWN_DEADLINE_MS: '500' }, 'SHUTDOWN_DEADLINE_MS'],
    [{ SHUTDOWN_DEADLINE_MS: '25s' }, 'SHUTDOWN_DEADLINE_MS'],
  ])('names the bad variable in %j', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });

  it('takes an empty LOG_LEVEL as unset, like every other variable', () => {
    expect(loadConfig({ LOG_LEVEL: '' }).logLevel).toBe('log');
    expect(loadConfig({ LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
  });

  it('gives a graceful stop 25 seconds unless SHUTDOWN_DEADLINE_MS says otherwise', () => {
    expect(loadConfig({}).shutdownDeadlineMs).toBe(25_000);
    expect(loadConfig({ SHUTDOWN_DEADLINE_MS: '8000' }).shutdownDeadlineMs).toBe(8000);
  });

  it('logs JSON in production and pretty lines elsewhere, unless LOG_FORMAT says otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret' }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret', LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
  });

  it('reads the export-target allow-list: names, addresses and CIDR blocks', () => {
    expect(loadConfig({ EXPORT_TARGET_ALLOWED_HOSTS: 'SFTP.internal., 10.20.0.0/16 fd00::/8 192.168.1.5' }).exportTargetAllowedHosts).toEqual({
      names: ['sftp.internal'],
      cidrs: [
        { address: '10.20.0.0', prefix: 16, family: 'ipv4' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
        { address: '192.168.1.5', prefix: 32, family: 'ipv4' },
      ],
    });
    expect(loadConfig({}).exportTargetAllowedHosts).toEqual({ names: [], cidrs: [] });
  });

  it('never takes the customer-token key from the source when a JWT setting is given', () => {
    const pem = rsaPublicPem;
    // Development with a public key only: generated at start (null here), not the development secret.
    expect(loadConfig({ JWT_PUBLIC_KEY: pem }).customerToken.secret).toBeNull();
    expect(loadConfig({ JWT_SECRET: 'a-long-enough-secret' }).customerToken.secret).toBe('a-long-enough-secret');
    expect(loadConfig({ JWT_PUBLIC_KEY: pem, CUSTOMER_TOKEN_SECRET: 'customer-secret-0123' }).customerToken.secret).toBe('customer-secret-0123');
    // Only with no JWT setting at all.
    expect(loadConfig({}).customerToken.secret).toBe(DEV_JWT_SECRET);
    // Production: a generated key must be sealed with a secret the service holds.
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_PUBLIC_KEY: pem })).toThrow(/CUSTOMER_TOKEN_SECRET, or ENCRYPTION_MASTER_KEY/);
    const sealed = loadConfig({ NODE_ENV: 'production', JWT_PUBLIC_KEY: pem, ENCRYPTION_MASTER_KEY: 'a'.repeat(64) });
    expect(sealed.customerToken.secret).toBeNull();
  });
});

describe('SIGNING_KEY', () => {
  const pem = (type: 'ed25519' | 'ed448' | 'x25519') =>
    generateKeyPairSync(type as 'ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();

  it('takes a PEM Ed25519 private key, also with "\\n" for line breaks; none means generated', () => {
    const key = pem('ed25519');
    expect(loadConfig({ SIGNING_KEY: key }).signingKey?.asymmetricKeyType).toBe('ed25519');
    expect(loadConfig({ SIGNING_KEY: key.replace(/\n/g, '\\n') }).signingKey?.asymmetricKeyType).toBe('ed25519');
    expect(loadConfig({}).signingKey).toBeNull();
  });

  it('refuses a malformed key or another algorithm, naming SIGNING_KEY and not echoing it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const publicOnly = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const [bad, why] of [
      ['not a key', /not a PEM private key/],
      [pem('ed25519').slice(0, 60), /not a PEM private key/],
      [publicOnly, /not a PEM private key/],
      [rsa, /must be an Ed25519 private key, not rsa/],
      [pem('x25519'), /must be an Ed25519 private key, not x25519/],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ SIGNING_KEY: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^SIGNING_KEY /);
      expect((err as Error).message).toMatch(why);
      if (bad.length > 50) expect((err as Error).message).not.toContain(bad.slice(30, 50));
    }
  });
});
