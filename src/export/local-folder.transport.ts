import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { DeliveryFile, DeliveryResult, PermanentDeliveryError } from './transport';

// The embedded default: one folder per company under EXPORT_LOCAL_DIR.
export class LocalFolderTransport {
  constructor(private readonly root: string) {}

  async deliverOne(f: DeliveryFile): Promise<DeliveryResult> {
    const companyDir = resolve(this.root, f.companyId);
    const final = resolve(companyDir, ...f.relPath.split('/'));
    if (!final.startsWith(companyDir + sep)) throw new PermanentDeliveryError(`path escapes the export folder: ${f.relPath}`);
    await fs.mkdir(dirname(final), { recursive: true });
    const temp = join(dirname(final), `.${posix.basename(f.relPath)}.${f.tempTag}.part`);
    const fh = await fs.open(temp, 'w', 0o644);
    try {
      await fh.writeFile(f.content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      // link() refuses an existing name, unlike rename(): the final name is never clobbered.
      await fs.link(temp, final);
      return 'delivered';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await fs.readFile(final);
      if (createHash('sha256').update(existing).digest('hex') === f.sha256) return 'already_present';
      throw new PermanentDeliveryError(`a different file already exists at ${f.relPath}`);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async check(companyId: string): Promise<void> {
    const dir = resolve(this.root, companyId);
    await fs.mkdir(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}-${Date.now()}.part`);
    await fs.writeFile(probe, 'probe');
    await fs.rm(probe);
  }
}
