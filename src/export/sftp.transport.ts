import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { DeliveryFile, DeliveryResult, measuredContent, PermanentDeliveryError, RemovalResult, temporaryPath } from './transport';
import { removeOverSftp } from './sftp-removal';
import { pipelinedPut } from './sftp-upload';
import { SftpTargetConfig } from './export-target.types';
import { TargetAddressPolicy, TargetRefusedError } from './target-address-policy';
import { fingerprintOf, targetKey } from './sftp-connection-key';
import { HostKeyMismatchError, SftpTimeoutError, TargetUnreachableError } from './sftp.errors';

export { HostKeyMismatchError, SftpTimeoutError, TargetUnreachableError, TARGET_UNREACHABLE_MESSAGE } from './sftp.errors';

interface PooledConnection {
  client: SftpClient;
  dead: boolean;
  lastUsed: number;
  // Folders known to exist on this connection's server: mkdir once, not per file.
  dirs: Set<string>;
}

// SFTP delivery with a small pool per target: connections are reused across files (a new
// connection per file is ~40x slower), every operation has a deadline (a stalled server must not
// hang a worker; on expiry the connection is discarded), Nagle is off on the socket, and the host
// key is pinned by its SHA-256 fingerprint.
export class SftpTransport {
  private readonly logger = new Logger(SftpTransport.name);
  private readonly idle = new Map<string, PooledConnection[]>();
  private readonly open = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  // Connections being opened ahead of an upload (warm), by target.
  private readonly warming = new Map<string, Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly opTimeoutMs: number,
    private readonly maxPerTarget = 2,
    private readonly idleMs = 30_000,
    // Outside production rules by default: loopback and private addresses are allowed.
    private readonly addresses = new TargetAddressPolicy({ production: false, allowed: { names: [], cidrs: [] } }),
    // Each operation's time, by name and outcome (ok, error, timeout).
    private readonly timed: (operation: string, outcome: string, seconds: number) => void = () => undefined,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(idleMs, 10_000));
    this.sweeper.unref();
  }

  async deliver(target: SftpTargetConfig, files: DeliveryFile[]): Promise<DeliveryResult[]> {
    return this.withConnection(target, async (c) => {
      const out: DeliveryResult[] = [];
      for (const f of files) out.push(await this.uploadOne(c, target, f));
      return out;
    });
  }

  // Opens a connection ahead of an upload (while a large body renders) when none is idle and the
  // pool has room; an upload that starts meanwhile waits for it. A failure is left for the upload
  // to meet and report.
  warm(target: SftpTargetConfig): void {
    const key = targetKey(target);
    if (this.warming.has(key) || this.idle.get(key)?.some((c) => !c.dead) || (this.open.get(key) ?? 0) >= this.maxPerTarget) return;
    this.open.set(key, (this.open.get(key) ?? 0) + 1);
    const warming = this.connect(target).then(
      (c) => this.release(key, c),
      (err: Error) => {
        this.open.set(key, (this.open.get(key) ?? 1) - 1);
        this.wakeOne(key);
        this.logger.debug(`warming a connection to ${target.host}:${target.port}: ${err.message}`);
      },
    );
    this.warming.set(key, warming);
    void warming.finally(() => this.warming.delete(key));
  }

  async check(target: SftpTargetConfig): Promise<void> {
    await this.withConnection(target, async (c) => {
      const dir = normalizeDir(target.remoteDir);
      const probe = posix.join(dir, `.probe-${process.pid}-${Date.now()}.part`);
      // Deliveries create the folder when it is missing; the check does as they do, so a target
      // that works is not reported broken before its first delivery.
      await this.op(c, 'mkdir', () => c.client.mkdir(dir, true));
      c.dirs.add(dir);
      await this.op(c, 'put', () => c.client.put(Buffer.from('probe'), probe));
      await this.op(c, 'delete', () => c.client.delete(probe));
    });
  }

  async remove(target: SftpTargetConfig, relPaths: string[]): Promise<RemovalResult[]> {
    return this.withConnection(target, (c) => removeOverSftp(c, normalizeDir(target.remoteDir), relPaths, (n, fn) => this.op(c, n, fn)));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const list of this.idle.values()) for (const c of list) await this.discard(c);
    this.idle.clear();
  }

  private async uploadOne(c: PooledConnection, target: SftpTargetConfig, f: DeliveryFile): Promise<DeliveryResult> {
    const base = normalizeDir(target.remoteDir);
    const finalPath = posix.join(base, f.relPath);
    if (f.relPath.startsWith('/') || f.relPath.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      throw new PermanentDeliveryError(`path escapes the remote folder: ${f.relPath}`);
    }
    const dir = posix.dirname(finalPath);
    const temp = posix.join(base, temporaryPath(f));
    if (dir !== base && !c.dirs.has(dir)) {
      await this.op(c, 'mkdir', () => c.client.mkdir(dir, true));
      c.dirs.add(dir);
    }
    // Streamed chunk by chunk with pipelined writes (sftp-upload.ts; at most 1 MB in flight),
    // hashed on the way. A large file gets extra time at a floor rate of 1 MB/s; a stall still ends
    // within the deadline.
    const body = measuredContent(f);
    try {
      await this.op(c, 'put', () => pipelinedPut(sftpOf(c.client), sshOf(c.client), temp, body.chunks), this.opTimeoutMs + Math.ceil(f.bytes / 1000));
    } catch (err) {
      // A refused write (a full disk, a quota) leaves part of the body under the temporary name:
      // removed while the connection still answers (a retry would replace it; a last attempt
      // would not). A connection that failed leaves it to the retry, or to an erasure.
      if (!c.dead) await this.op(c, 'delete', () => c.client.delete(temp, true)).catch(() => undefined);
      throw err;
    }
    try {
      body.check();
    } catch (err) {
      await this.op(c, 'delete', () => c.client.delete(temp, true));
      throw err;
    }
    // posix-rename replaces an existing file, and so does plain RENAME on some servers (the spec
    // leaves it open), so look first: a name that exists is either this very file (an earlier
    // attempt got through) or a conflict, never overwritten. OpenSSH's RENAME never replaces one
    // (it links, then unlinks; where links are not supported it looks, then renames), so there
    // the rename itself is the look, and its refusal is when to look.
    if (!renameNeverReplaces(c.client)) {
      const present = await this.presentAs(c, finalPath, temp, f.sha256);
      if (present) return present;
      if (hasPosixRename(c.client)) {
        await this.op(c, 'posixRename', () => c.client.posixRename(temp, finalPath));
        return 'delivered';
      }
    }
    try {
      // A plain rename that refuses an existing target also covers a file that appeared since the
      // look above.
      await this.op(c, 'rename', () => c.client.rename(temp, finalPath));
      return 'delivered';
    } catch (err) {
      if (c.dead) throw err;
      const present = await this.presentAs(c, finalPath, temp, f.sha256);
      if (present) return present;
      throw err;
    }
  }

  // If the final name exists: the same content is success (the temporary upload is removed), other
  // content is a conflict. Null when the name is free.
  private async presentAs(c: PooledConnection, finalPath: string, temp: string, sha256: string): Promise<DeliveryResult | null> {
    const exists = await this.op(c, 'exists', () => c.client.exists(finalPath));
    if (!exists) return null;
    // Hashed as it streams in: the existing file is never held whole either.
    const hash = createHash('sha256');
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done();
      },
    });
    await this.op(c, 'get', () => c.client.get(finalPath, sink));
    await this.op(c, 'delete', () => c.client.delete(temp, true));
    if (hash.digest('hex') === sha256) return 'already_present';
    throw new PermanentDeliveryError(`a different file already exists at ${finalPath}`);
  }

  private async withConnection<T>(target: SftpTargetConfig, fn: (c: PooledConnection) => Promise<T>): Promise<T> {
    const key = targetKey(target);
    const c = await this.acquire(key, target);
    try {
      const result = await fn(c);
      this.release(key, c);
      return result;
    } catch (err) {
      // After an error the connection's state is unknown: do not reuse it.
      await this.discard(c);
      this.release(key, c);
      throw err;
    }
  }

  private async acquire(key: string, target: SftpTargetConfig): Promise<PooledConnection> {
    // A connection being opened for this target is nearer than a new one.
    await this.warming.get(key);
    for (;;) {
      const list = this.idle.get(key);
      while (list && list.length > 0) {
        const c = list.pop() as PooledConnection;
        if (!c.dead) return c;
        this.open.set(key, (this.open.get(key) ?? 1) - 1);
      }
      const n = this.open.get(key) ?? 0;
      if (n < this.maxPerTarget) {
        this.open.set(key, n + 1);
        try {
          return await this.connect(target);
        } catch (err) {
          this.open.set(key, (this.open.get(key) ?? 1) - 1);
          this.wakeOne(key);
          throw err;
        }
      }
      await new Promise<void>((resolve) => {
        const w = this.waiters.get(key) ?? [];
        w.push(resolve);
        this.waiters.set(key, w);
      });
    }
  }

  private release(key: string, c: PooledConnection): void {
    if (c.dead) {
      this.open.set(key, Math.max(0, (this.open.get(key) ?? 1) - 1));
    } else {
      c.lastUsed = Date.now();
      const list = this.idle.get(key) ?? [];
      list.push(c);
      this.idle.set(key, list);
    }
    this.wakeOne(key);
  }

  private wakeOne(key: string): void {
    const w = this.waiters.get(key);
    const next = w?.shift();
    if (next) next();
  }

  private async connect(target: SftpTargetConfig): Promise<PooledConnection> {
    // The address is checked after resolution and then connected to as checked.
    let address: string;
    try {
      [address] = await this.addresses.resolve(target.host);
    } catch (err) {
      if (err instanceof TargetRefusedError) throw err;
      this.logger.warn({ msg: `export target ${target.host}:${target.port}: ${(err as Error).message}` });
      throw new TargetUnreachableError();
    }
    const conn: PooledConnection = { client: undefined as unknown as SftpClient, dead: false, lastUsed: Date.now(), dirs: new Set() };
    const markDead = () => {
      conn.dead = true;
    };
    // Our own listeners: the library's defaults print to the console on every disconnect.
    conn.client = new SftpClient('horizon', { error: markDead, end: markDead, close: markDead });
    let mismatch: string | null = null;
    const expected = target.hostKeySha256.trim();
    let handshakeDone = false;
    const connecting = conn.client.connect({
      host: address,
      port: target.port,
      username: target.username,
      password: target.password,
      privateKey: target.privateKey,
      readyTimeout: this.opTimeoutMs,
      keepaliveInterval: 10_000,
      retries: 0,
      hostVerifier: (key: Buffer) => {
        const got = fingerprintOf(key);
        if (got !== expected) mismatch = got;
        return got === expected;
      },
    } as SftpClient.ConnectOptions);
    // The socket exists now but is not yet connected: Node applies this on connect, so the key
    // exchange also runs without Nagle (setting it after the handshake cost ~200 ms per connection).
    const ssh = (conn.client as unknown as { client: { setNoDelay(v: boolean): void; once(e: 'handshake', f: () => void): void; _sock?: Socket } }).client;
    ssh.setNoDelay(true);
    if (ssh._sock) coalesceWrites(ssh._sock);
    ssh.once('handshake', () => {
      handshakeDone = true;
    });
    try {
      await this.op(conn, 'connect', () => connecting);
    } catch (err) {
      await this.discard(conn);
      // Our own pinned-key check may say what it saw.
      if (mismatch) throw new HostKeyMismatchError(`host key mismatch: the server presented ${mismatch}, expected ${expected}`);
      // Past the handshake the server is the pinned one: its answer (authentication refused) may be told.
      if (handshakeDone) throw err;
      this.logger.warn({ msg: `export target ${target.host}:${target.port}: ${(err as Error).message}` });
      throw new TargetUnreachableError();
    }
    return conn;
  }

  private async op<T>(c: PooledConnection, name: string, fn: () => Promise<T>, limitMs = this.opTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let outcome = 'error';
    const started = performance.now();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        c.dead = true;
        outcome = 'timeout';
        reject(new SftpTimeoutError(`sftp ${name} took longer than ${limitMs} ms`));
      }, limitMs);
    });
    try {
      const result = await Promise.race([fn(), deadline]);
      outcome = 'ok';
      return result;
    } finally {
      clearTimeout(timer);
      this.timed(name, outcome, (performance.now() - started) / 1000);
    }
  }

  private async discard(c: PooledConnection): Promise<void> {
    c.dead = true;
    try {
      // end() waits for 'close', which a stalled server may never send.
      (c.client as unknown as { client: { destroy(): void } }).client.destroy();
    } catch (err) {
      this.logger.debug(`closing sftp connection: ${(err as Error).message}`);
    }
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [key, list] of this.idle) {
      const keep: PooledConnection[] = [];
      for (const c of list) {
        if (c.dead || now - c.lastUsed > this.idleMs) {
          void this.discard(c);
          this.open.set(key, Math.max(0, (this.open.get(key) ?? 1) - 1));
        } else keep.push(c);
      }
      this.idle.set(key, keep);
    }
  }
}

// ssh2 hands each SSH packet to the socket in three writes (length, payload, MAC or tag), and each
// became a system call of its own, as did every request of a pipelined upload. Writes made in one
// turn of the event loop now leave together, in one call, when that turn's synchronous work and
// promise reactions are done (cork, then uncork on the next tick); order and callbacks are kept.
export function coalesceWrites(sock: Socket): void {
  const write = sock.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}

function normalizeDir(d: string): string {
  const n = posix.normalize(d || '.');
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

// The library's SFTP session and SSH connection underneath, for the pipelined upload.
function sftpOf(client: SftpClient): SFTPWrapper {
  const sftp = (client as unknown as { sftp?: SFTPWrapper }).sftp;
  if (!sftp) throw new Error('no SFTP session on this connection');
  return sftp;
}

function sshOf(client: SftpClient): EventEmitter {
  return (client as unknown as { client: EventEmitter }).client;
}

// The server says it is OpenSSH (its identification string, as ssh2 itself reads it for OpenSSH's
// extensions), whose sftp-server has refused a RENAME onto an existing name in every version.
function renameNeverReplaces(client: SftpClient): boolean {
  const software = (client as unknown as { client?: { _remoteVer?: unknown } }).client?._remoteVer;
  return typeof software === 'string' && /^OpenSSH_\d/.test(software);
}

function hasPosixRename(client: SftpClient): boolean {
  const sftp = (client as unknown as { sftp?: { _extensions?: Record<string, string> } }).sftp;
  return !!sftp?._extensions?.['posix-rename@openssh.com'];
}
