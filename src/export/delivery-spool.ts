import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

// A spooled body is read back in pieces of this size for each upload attempt: large enough that
// the uploads see few, big chunks, small enough that memory stays flat.
export const SPOOL_READ_BYTES = 512 * 1024;

// This process's files: `<pid>.<random>.spool`. Anything else in the folder is left alone.
const SPOOL_NAME = /^(\d+)\.[0-9a-f]{16}\.spool$/;

/** A large body written once while it is measured, then read back for each upload attempt. */
export interface SpooledBody {
  write(chunk: Buffer): Promise<void>;
  // Every write is on disk (in the page cache); the file is complete.
  close(): Promise<void>;
  read(): AsyncIterable<Buffer>;
  // Idempotent; never throws.
  remove(): Promise<void>;
}

// The delivery spool (DELIVERY_SPOOL_DIR): private files (0600 in a 0700 folder) that live from a
// large body's measuring pass to the end of its delivery attempt, success or failure. A file left by
// a crash is removed at the next start: the files of a process that no longer runs, or that carry
// this process's pid (a container restarts with the same one), are stale.
@Injectable()
export class DeliverySpool implements OnModuleInit {
  private readonly logger = new Logger(DeliverySpool.name);
  private readonly dir: string;
  private cleaned: Promise<void> | null = null;

  constructor(config: AppConfig) {
    this.dir = config.deliverySpoolDir;
  }

  async onModuleInit(): Promise<void> {
    // A folder that cannot be used does not stop the service: large bodies are then rendered again
    // for upload instead (see renderRecording).
    await this.prepare().catch((err: Error) => this.logger.warn(`delivery spool ${this.dir}: ${err.message}`));
  }

  prepare(): Promise<void> {
    this.cleaned ??= this.removeStale().catch((err) => {
      this.cleaned = null;
      throw err;
    });
    return this.cleaned;
  }

  async create(): Promise<SpooledBody> {
    await this.prepare();
    const path = join(this.dir, `${process.pid}.${randomBytes(8).toString('hex')}.spool`);
    return new SpoolFile(path, await fs.open(path, 'wx', 0o600), (msg) => this.logger.warn(msg));
  }

  private async removeStale(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    let removed = 0;
    for (const name of await fs.readdir(this.dir)) {
      const m = SPOOL_NAME.exec(name);
      if (!m || (Number(m[1]) !== process.pid && running(Number(m[1])))) continue;
      await fs.rm(join(this.dir, name), { force: true });
      removed++;
    }
    if (removed > 0) this.logger.log(`removed ${removed} stale delivery spool file(s) from ${this.dir}`);
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class SpoolFile implements SpooledBody {
  // One write in flight while the next chunk is rendered.
  private pending: Promise<void> = Promise.resolve();
  private fh: FileHandle | null;
  private removed = false;

  constructor(
    private readonly path: string,
    fh: FileHandle,
    private readonly warn: (msg: string) => void,
  ) {
    this.fh = fh;
  }

  async write(chunk: Buffer): Promise<void> {
    await this.pending;
    const fh = this.fh;
    if (!fh) throw new Error('the spool file is closed');
    this.pending = writeAll(fh, chunk);
    // Its error is seen by the next write or by close().
    this.pending.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.pending;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  read(): AsyncIterable<Buffer> {
    return createReadStream(this.path, { highWaterMark: SPOOL_READ_BYTES });
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    await this.pending.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await fs.rm(this.path, { force: true }).catch((err: Error) => this.warn(`removing ${this.path}: ${err.message}`));
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let off = 0; off < chunk.length;) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}
