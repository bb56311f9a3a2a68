import type { EventEmitter } from 'node:events';
import type { SFTPWrapper } from 'ssh2';

// One WRITE request carries at most this much (and at most what the server announced), and up to
// this many are in flight at once, as OpenSSH's own client does (`sftp -R 64 -B 32768` by
// default): waiting for each reply before the next request (the library's write stream) leaves
// the link idle for a round trip per chunk. The bytes in flight (at most 4 MB) are all the upload
// holds in memory besides the chunk being read.
export const SFTP_WRITE_BYTES = 64 * 1024;
export const SFTP_WRITES_IN_FLIGHT = 64;

// The mode the library's write stream gives an uploaded file (open, then fchmod or chmod), kept so
// that files look the same to the recipient.
const UPLOAD_MODE = 0o666;

/**
 * Writes the chunks to `path` (created or truncated) with pipelined WRITE requests, then closes the
 * handle once every write is acknowledged. Rejects on the first refused write, or when `ssh` closes
 * or fails meanwhile (the pending replies would never come).
 */
export async function pipelinedPut(sftp: SFTPWrapper, ssh: EventEmitter, path: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const window = new WriteWindow(sftp, SFTP_WRITES_IN_FLIGHT);
  const gone = (err?: Error) => window.fail(err ?? new Error('the SSH connection closed during the upload'));
  ssh.once('close', gone);
  ssh.once('error', gone);
  try {
    const handle = await window.call<Buffer>((cb) => sftp.open(path, 'w', UPLOAD_MODE, cb));
    try {
      await window
        .call((cb) => sftp.fchmod(handle, UPLOAD_MODE, cb))
        .catch(() => window.call((cb) => sftp.chmod(path, UPLOAD_MODE, cb)).catch(() => undefined));
      const piece = Math.max(1, Math.min(SFTP_WRITE_BYTES, (sftp as unknown as { _maxWriteLen?: number })._maxWriteLen ?? SFTP_WRITE_BYTES));
      let position = 0;
      for await (const chunk of chunks) {
        for (let off = 0; off < chunk.length; off += piece) {
          const part = chunk.subarray(off, Math.min(chunk.length, off + piece));
          await window.write(handle, part, position);
          position += part.length;
        }
      }
      await window.drain();
    } catch (err) {
      // The handle is left to the connection, which the caller discards after an error.
      window.fail(err as Error);
      throw err;
    }
    await window.call((cb) => sftp.close(handle, cb));
  } finally {
    ssh.removeListener('close', gone);
    ssh.removeListener('error', gone);
  }
}

// Counts the WRITE requests in flight and remembers the first failure (a refused write, or the
// connection gone): from then on every call rejects with it.
class WriteWindow {
  private outstanding = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly limit: number,
  ) {}

  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  async write(handle: Buffer, part: Buffer, position: number): Promise<void> {
    while (this.outstanding >= this.limit && !this.failure) await this.next();
    if (this.failure) throw this.failure;
    this.outstanding++;
    // The request is built (the bytes copied) before write() returns.
    this.sftp.write(handle, part, 0, part.length, position, (err) => {
      this.outstanding--;
      if (err) this.failure ??= err;
      this.notify();
    });
  }

  async drain(): Promise<void> {
    while (this.outstanding > 0 && !this.failure) await this.next();
    if (this.failure) throw this.failure;
  }

  // One request with a reply, settled early by a failure of the connection.
  call<T = void>(send: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const settle = (err: Error | null | undefined, value?: T) => {
        if (this.pending !== settle) return;
        this.pending = null;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.pending = settle;
      send(settle);
    });
  }

  // The one call awaiting its reply, if any (calls are made one after another).
  private pending: ((err: Error | null | undefined) => void) | null = null;

  private next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
    if (this.failure) this.pending?.(this.failure);
  }
}
