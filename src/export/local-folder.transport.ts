import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { DeliveryFile, DeliveryResult, measuredContent, PermanentDeliveryError, RemovalResult, temporaryPath } from './transport';

// The embedded default: one folder per company under EXPORT_LOCAL_DIR.
export class LocalFolderTransport {
  constructor(private readonly root: string) {}

  async deliverOne(f: DeliveryFile): Promise<DeliveryResult> {
    try {
      return await this.place(f);
    } catch (err) {
      throw this.withoutRoot(err);
    }
  }

  // A failure's message reaches the company's admins (a recording's lastError): the server's own
  // folder (EXPORT_LOCAL_DIR) is not theirs to see, so paths are given from inside it (acme/...).
  private withoutRoot(err: unknown): unknown {
    const e = err as { message?: unknown } | null;
    if (typeof e?.message === 'string' && e.message.includes(this.root)) {
      e.message = e.message
        .split(this.root + sep)
        .join('')
        .split(this.root)
        .join('');
    }
    return err;
  }

  private async place(f: DeliveryFile): Promise<DeliveryResult> {
    const companyDir = resolve(this.root, f.companyId);
    const final = resolve(companyDir, ...f.relPath.split('/'));
    if (!final.startsWith(companyDir + sep)) throw new PermanentDeliveryError(`path escapes the export folder: ${f.relPath}`);
    await fs.mkdir(dirname(final), { recursive: true });
    const temp = resolve(companyDir, ...temporaryPath(f).split('/'));
    try {
      const body = measuredContent(f);
      const fh = await fs.open(temp, 'w', 0o644);
      // Chunk by chunk (the body is never in memory whole), one write under way while the next
      // chunk is read.
      let writing: Promise<void> = Promise.resolve();
      try {
        for await (const chunk of body.chunks) {
          await writing;
          writing = fh.writeFile(chunk);
          // Seen by the next await (or below); never an unhandled rejection meanwhile.
          writing.catch(() => undefined);
        }
        await writing;
        await fh.sync();
      } finally {
        await writing.catch(() => undefined);
        await fh.close();
      }
      body.check();
      // link() refuses an existing name, unlike rename(): the final name is never clobbered.
      await fs.link(temp, final);
      return 'delivered';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await sha256OfFile(final)) === f.sha256) return 'already_present';
      throw new PermanentDeliveryError(`a different file already exists at ${f.relPath}`);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async remove(companyId: string, relPaths: string[]): Promise<RemovalResult[]> {
    const companyDir = resolve(this.root, companyId);
    const out: RemovalResult[] = [];
    for (const rel of relPaths) {
      const final = resolve(companyDir, ...rel.split('/'));
      if (!final.startsWith(companyDir + sep)) {
        out.push({ outcome: 'failed', error: `path escapes the export folder: ${rel}` });
        continue;
      }
      try {
        await fs.unlink(final);
        out.push({ outcome: 'removed' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') out.push({ outcome: 'not_found' });
        else out.push({ outcome: 'failed', error: `${rel}: ${code ?? (err as Error).message}` });
      }
    }
    return out;
  }

  async check(companyId: string): Promise<void> {
    const dir = resolve(this.root, companyId);
    await fs.mkdir(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}-${Date.now()}.part`);
    await fs.writeFile(probe, 'probe');
    await fs.rm(probe);
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
