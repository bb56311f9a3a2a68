import type { EventEmitter } from 'node:events';
import type { SFTPWrapper } from 'ssh2';

// One WRITE request carries at most this much (and at most what the server announced: OpenSSH
// takes 255 KB, others often 32 KB), and the requests in flight carry at most SFTP_BYTES_IN_FLIGHT
// together. Waiting for each reply before the next request (the library's write stream, which
// also splits a chunk into requests sent one after another) leaves the link idle for a round trip
// per request. Far more than 1 MB in flight was slower on OpenSSH, not faster: the first large
// upload of a connection then stalled for a second or two (measured with 2 MB and more on this
// project's bench machine), so the window stays at half the server's 2 MB channel window.
export const SFTP_WRITE_BYTES = 256 * 1024;
export const SFTP_BYTES_IN_FLIGHT = 1024 * 1024;

// The mode the library's write stream gives an uploaded file (open, then fchmod or chmod), kept so
// that files look the same to the recipient.
const UPLOAD_MODE = 0o666;

/**
 * Writes the chunks to `path` (created or truncated) with pipelined WRITE requests, the mode set and
 * the handle closed in the same stream of requests, and resolves once every reply has come: after
 * the open, a small file costs one round trip. Rejects on the first refused write or close, or when
 * `ssh` closes or fails meanwhile (the pending replies would never come).
 */
export async function pipelinedPut(sftp: SFTPWrapper, ssh: EventEmitter, path: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const window = new WriteWindow(sftp, SFTP_BYTES_IN_FLIGHT);
  const gone = (err?: Error) =>
    window.fail(new Error(err ? `the SSH connection failed during the upload: ${err.message}` : 'the SSH connection closed during the upload'));
  ssh.once('close', gone);
  ssh.once('error', gone);
  try {
    const handle = await window.call<Buffer>((cb) => sftp.open(path, 'w', UPLOAD_MODE, cb));
    try {
      // The mode, the writes and the close go out without waiting for each other's replies: a
      // server handles the requests on one handle in the order they came (the SFTP drafts require
      // it), so this is the same as waiting for each, without a round trip per request.
      const chmodded = window
        .call((cb) => sftp.fchmod(handle, UPLOAD_MODE, cb))
        .then(
          () => true,
          () => false,
        );
      const piece = Math.max(1, Math.min(SFTP_WRITE_BYTES, (sftp as unknown as { _maxWriteLen?: number })._maxWriteLen ?? SFTP_WRITE_BYTES));
      let position = 0;
      for await (const chunk of chunks) {
        for (let off = 0; off < chunk.length; off += piece) {
          const part = chunk.subarray(off, Math.min(chunk.length, off + piece));
          await window.write(handle, part, position);
          position += part.length;
        }
      }
      const closed = window.call((cb) => sftp.close(handle, cb));
      closed.catch(() => undefined); // awaited below, after the writes' replies
      await window.drain();
      await closed;
      if (!(await chmodded)) await window.call((cb) => sftp.chmod(path, UPLOAD_MODE, cb)).catch(() => undefined);
    } catch (err) {
      // The handle is left to the connection, which the caller discards after an error.
      window.fail(err as Error);
      throw err;
    }
  } catch (err) {
    throw uploadError(err, path);
  } finally {
    ssh.removeListener('close', gone);
    ssh.removeListener('error', gone);
  }
}

// Counts the bytes of the WRITE requests in flight and remembers the first failure (a refused
// write, or the connection gone): from then on every call rejects with it.
class WriteWindow {
  private outstanding = 0;
  private bytes = 0;
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
    while (this.outstanding > 0 && this.bytes + part.length > this.limit && !this.failure) await this.next();
    if (this.failure) throw this.failure;
    this.outstanding++;
    this.bytes += part.length;
    // The request is built (the bytes copied) before write() returns.
    this.sftp.write(handle, part, 0, part.length, position, (err) => {
      this.outstanding--;
      this.bytes -= part.length;
      if (err) this.failure ??= err;
      this.notify();
    });
  }

  async drain(): Promise<void> {
    while (this.outstanding > 0 && !this.failure) await this.next();
    if (this.failure) throw this.failure;
  }

  // One request with a reply, settled early by a failure of the connection or of a write.
  call<T = void>(send: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const settle = (err: Error | null | undefined, value?: T) => {
        if (!this.pending.delete(settle)) return;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.pending.add(settle);
      send(settle);
    });
  }

  // The calls awaiting their replies (the mode and the close go out while writes are in flight).
  private readonly pending = new Set<(err: Error | null | undefined) => void>();

  private next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
    if (this.failure) for (const settle of [...this.pending]) settle(this.failure);
  }
}

// As the library's put() words its failures (the path last, the code kept); a delivery failure
// from the body's source passes as it is.
export class SftpUploadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SftpUploadError';
  }
}

function uploadError(err: unknown, path: string): unknown {
  const e = err as { message?: string; code?: unknown; permanent?: unknown } | null;
  if (typeof e?.permanent === 'boolean') return err;
  return new SftpUploadError(`put: ${e?.message ?? String(err)} ${path}`, typeof e?.code === 'string' ? e.code : undefined);
}
