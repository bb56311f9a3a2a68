import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { RemovalResult } from './transport';

type Op = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

// Removes delivered files on one SFTP connection, file by file. A file not there is `not_found`
// (the recipient may have moved it); a dead connection throws so the whole batch is tried again.
export async function removeOverSftp(c: { client: SftpClient; dead: boolean }, base: string, relPaths: string[], op: Op): Promise<RemovalResult[]> {
  const out: RemovalResult[] = [];
  for (const rel of relPaths) {
    if (rel.startsWith('/') || rel.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      out.push({ outcome: 'failed', error: `path escapes the remote folder: ${rel}` });
      continue;
    }
    const path = posix.join(base, rel);
    try {
      const kind = await op('exists', () => c.client.exists(path));
      if (kind === false) out.push({ outcome: 'not_found' });
      else if (kind === 'd') out.push({ outcome: 'failed', error: `${rel} is a folder on the target` });
      else {
        await op('delete', () => c.client.delete(path));
        out.push({ outcome: 'removed' });
      }
    } catch (err) {
      if (c.dead) throw err;
      out.push({ outcome: 'failed', error: (err as Error).message.slice(0, 500) });
    }
  }
  return out;
}
