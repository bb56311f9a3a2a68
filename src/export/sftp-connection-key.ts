import { createHash } from 'node:crypto';
import { SftpTargetConfig } from './export-target.types';

// The host key's fingerprint as OpenSSH prints it.
export function fingerprintOf(rawKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(rawKey).digest('base64').replace(/=+$/, '');
}

// The pool key: one pool per distinct target and credentials.
export function targetKey(t: SftpTargetConfig): string {
  return createHash('sha256')
    .update(JSON.stringify([t.host, t.port, t.username, t.password ?? '', t.privateKey ?? '', t.hostKeySha256]))
    .digest('hex');
}
