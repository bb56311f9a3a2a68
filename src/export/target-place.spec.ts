import { targetPlace } from './target-place';
import { SftpTargetConfig } from './export-target.types';

const sftp: SftpTargetConfig = {
  type: 'sftp',
  host: 'SFTP.example',
  port: 22,
  username: 'horizon',
  password: 'secret-pass',
  remoteDir: '/upload/',
  hostKeySha256: 'SHA256:' + 'A'.repeat(43),
};

describe('targetPlace', () => {
  it('names the server, account and folder, never the secrets', () => {
    const p = targetPlace(sftp, 'acme', '/data/outbox');
    expect(p.label).toBe('sftp://horizon@sftp.example:22/upload');
    expect(JSON.stringify(p)).not.toContain('secret-pass');
    expect(p.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the same place with another secret or host key, or the folder written differently', () => {
    const p = targetPlace(sftp, 'acme', '/data/outbox').fingerprint;
    expect(targetPlace({ ...sftp, password: undefined, privateKey: 'KEY' }, 'acme', '/x').fingerprint).toBe(p);
    expect(targetPlace({ ...sftp, hostKeySha256: 'SHA256:' + 'B'.repeat(43) }, 'acme', '/x').fingerprint).toBe(p);
    expect(targetPlace({ ...sftp, remoteDir: '/upload', host: 'sftp.EXAMPLE ' }, 'other', '/x').fingerprint).toBe(p);
  });

  it('is another place on another host, port, user or folder', () => {
    const p = targetPlace(sftp, 'acme', '/x').fingerprint;
    for (const change of [{ host: 'other.example' }, { port: 2222 }, { username: 'h2' }, { remoteDir: '/upload/sub' }]) {
      expect(targetPlace({ ...sftp, ...change }, 'acme', '/x').fingerprint).not.toBe(p);
    }
  });

  it("puts each company's local folder apart", () => {
    const a = targetPlace({ type: 'local' }, 'acme', '/data/outbox');
    expect(a.label).toBe('local folder /data/outbox/acme');
    expect(targetPlace({ type: 'local' }, 'beta', '/data/outbox').fingerprint).not.toBe(a.fingerprint);
    expect(targetPlace({ type: 'local' }, 'acme', '/data/other').fingerprint).not.toBe(a.fingerprint);
  });
});
