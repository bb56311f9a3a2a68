import { Injectable } from '@nestjs/common';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AppException } from '../common/app.exception';
import { AppConfig } from '../config/app-config';

export interface DemoFile {
  name: string;
  bytes: number;
  modifiedAt: string;
}

const MAX_FILES = 500;
const MAX_READ_BYTES = 2_000_000;

// The demo panel's view of a company's local export folder (EXPORT_LOCAL_DIR/<company>): the
// delivered files, never the temporary ones. Demo only: not registered in production.
@Injectable()
export class DemoOutbox {
  constructor(private readonly config: AppConfig) {}

  async list(company: string): Promise<DemoFile[]> {
    const root = this.companyDir(company);
    const out: DemoFile[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > 8 || out.length >= MAX_FILES) return;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // nothing delivered yet
      }
      for (const e of entries) {
        if (e.name.startsWith('.') || e.name.endsWith('.part')) continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full, depth + 1);
        else if (e.isFile() && out.length < MAX_FILES) {
          const s = await stat(full);
          out.push({ name: relative(root, full).split(sep).join('/'), bytes: s.size, modifiedAt: s.mtime.toISOString() });
        }
      }
    };
    await walk(root, 0);
    return out.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt) || a.name.localeCompare(b.name));
  }

  async read(company: string, name: string): Promise<string> {
    const root = this.companyDir(company);
    const full = resolve(root, name);
    if (name.includes('\\') || name.split('/').some((s) => s === '..' || s.startsWith('.')) || !full.startsWith(root + sep)) {
      throw AppException.badRequest('name must be a file name from the list');
    }
    let s;
    try {
      s = await stat(full);
    } catch {
      throw AppException.notFound(`no file ${name}`);
    }
    if (!s.isFile()) throw AppException.notFound(`no file ${name}`);
    if (s.size > MAX_READ_BYTES) throw AppException.badRequest(`name: the file is over ${MAX_READ_BYTES} bytes, too large for the demo`);
    return readFile(full, 'utf8');
  }

  private companyDir(company: string): string {
    return resolve(this.config.exportLocalDir, company);
  }
}
