// Proves the private sshd harness behaves like the SFTP platform the service delivers to:
// key and password logins, host key pinning, chroot upload folder, and an outage/restart.
import { createHash } from 'node:crypto';
import SftpClient from 'ssh2-sftp-client';
import { startSshd, type SshdHandle } from './support/sshd';

// Same format `ssh-keygen -lf` prints: unpadded base64 of the SHA-256 of the raw key blob.
function sha256Fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

describe('sshd harness', () => {
  let sshd: SshdHandle;

  beforeAll(async () => {
    sshd = await startSshd();
  });

  afterAll(async () => {
    await sshd?.destroy();
  });

  type Auth = { privateKey: string } | { password: string };

  async function connect(auth: Auth, expectedFingerprint = sshd.hostKeySha256): Promise<SftpClient> {
    const client = new SftpClient();
    try {
      await client.connect({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        ...auth,
        readyTimeout: 10000,
        hostVerifier: (key: Buffer) => sha256Fingerprint(key) === expectedFingerprint,
      });
    } catch (err) {
      // A failed handshake can leave the socket half open; do not leak it into later tests.
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  async function upload(auth: Auth, name: string, body: string): Promise<void> {
    const client = await connect(auth);
    try {
      await client.put(Buffer.from(body), `${sshd.remoteDir}/${name}`);
    } finally {
      await client.end();
    }
  }

  it('reports a well-formed handle', () => {
    expect(sshd.host).toBe('127.0.0.1');
    expect(sshd.port).toBeGreaterThan(0);
    expect(sshd.port).not.toBe(22);
    expect(sshd.hostKeySha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(sshd.listFiles()).toEqual([]);
  });

  it('accepts an upload with the private key and lands it in localDir', async () => {
    const client = await connect({ privateKey: sshd.privateKey });
    try {
      // The chroot hides the real path: the session starts in the upload folder.
      await expect(client.cwd()).resolves.toBe(sshd.remoteDir);
      await client.put(Buffer.from('by key'), `${sshd.remoteDir}/key.txt`);
      await client.mkdir(`${sshd.remoteDir}/nested/deeper`, true);
      await client.put(Buffer.from('nested'), `${sshd.remoteDir}/nested/deeper/n.txt`);
    } finally {
      await client.end();
    }
    expect(sshd.listFiles()).toEqual(['key.txt', 'nested/deeper/n.txt']);
    expect(sshd.readFile('key.txt')).toBe('by key');
    expect(sshd.readFile('nested/deeper/n.txt')).toBe('nested');
  });

  it('accepts an upload with the password', async () => {
    await upload({ password: sshd.password }, 'pw.txt', 'by password');
    expect(sshd.listFiles()).toContain('pw.txt');
    expect(sshd.readFile('pw.txt')).toBe('by password');
  });

  it('rejects a wrong password', async () => {
    await expect(connect({ password: 'not-the-password' })).rejects.toThrow();
  });

  it('refuses to connect when the host key fingerprint does not match', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    await expect(connect({ privateKey: sshd.privateKey }, wrong)).rejects.toThrow(/verif/i);
  });

  it('clear() empties localDir', () => {
    expect(sshd.listFiles().length).toBeGreaterThan(0);
    sshd.clear();
    expect(sshd.listFiles()).toEqual([]);
  });

  it('readFile() refuses paths outside localDir', () => {
    expect(() => sshd.readFile('../../../etc/passwd')).toThrow(/escapes/);
  });

  it('goes down on stop() and comes back on the same port with the same host key on start()', async () => {
    const portBefore = sshd.port;
    await sshd.stop();
    await sshd.stop(); // idempotent
    await expect(connect({ privateKey: sshd.privateKey })).rejects.toThrow();

    await sshd.start();
    expect(sshd.port).toBe(portBefore);
    await upload({ privateKey: sshd.privateKey }, 'after-restart.txt', 'back');
    expect(sshd.listFiles()).toEqual(['after-restart.txt']);
  });

  it('drops open sessions on stop()', async () => {
    const client = await connect({ privateKey: sshd.privateKey });
    try {
      await sshd.stop();
      await expect(client.list(sshd.remoteDir)).rejects.toThrow();
    } finally {
      await client.end().catch(() => undefined);
      await sshd.start();
    }
  });
});
