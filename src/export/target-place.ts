import { createHash } from 'node:crypto';
import { posix, resolve } from 'node:path';
import { ExportTargetConfig } from './export-target.types';
import { TargetPlace } from './transport';

// The place a target puts a company's files: the server, account and folder (never the
// credentials or the host key: a new key or password still reaches the same files).
export function targetPlace(target: ExportTargetConfig, companyId: string, localRoot: string): TargetPlace {
  if (target.type === 'sftp') {
    const dir = posix.normalize(target.remoteDir || '.').replace(/(.)\/+$/, '$1');
    const host = target.host.trim().toLowerCase();
    return {
      fingerprint: sha256(JSON.stringify(['sftp', host, target.port, target.username, dir])),
      label: `sftp://${target.username}@${host}:${target.port}${dir.startsWith('/') ? '' : '/'}${dir}`,
    };
  }
  const dir = resolve(localRoot, companyId);
  return { fingerprint: sha256(JSON.stringify(['local', dir])), label: `local folder ${dir}` };
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
