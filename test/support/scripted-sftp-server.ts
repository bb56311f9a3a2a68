// Test helper: an in-process SFTP server (ssh2's Server) with an in-memory file system and
// switchable faults that a real OpenSSH server cannot be made to show on demand: a stalled WRITE,
// a plain RENAME that overwrites, no posix-rename extension, a rename whose reply never arrives.
// It only ever listens on 127.0.0.1.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, Server as NetServer, Socket } from 'node:net';
import { posix } from 'node:path';
import { Attributes, Connection, Server, SFTPWrapper, utils } from 'ssh2';

const HOST = '127.0.0.1';
const { OPEN_MODE, STATUS_CODE } = utils.sftp;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const VERSION_PACKET = 2; // SSH_FXP_VERSION

export interface ScriptedFaults {
  // Advertise (in the VERSION packet) and serve posix-rename@openssh.com. Read at each SFTP session start.
  posixRename: boolean;
  // Plain RENAME onto an existing name: false fails like OpenSSH (SSH_FX_FAILURE), true replaces it.
  renameOverwrites: boolean;
  // Once a file handle has taken this many bytes, leave every further WRITE on it unanswered
  // (true = from the first byte); false = off.
  stallOnWrite: boolean | number;
  // The next plain RENAME answers FAILURE without renaming.
  failRenameOnce: boolean;
  // The next successful rename (plain or posix) is done, then the connection is destroyed before
  // the reply: the client cannot know that it worked.
  dropAfterRenameOnce: boolean;
  // Every WRITE is answered FAILURE (a full disk, say).
  refuseWrites: boolean;
  // Every reply leaves this many ms after its request was handled (in order), so that a client
  // that sends requests without waiting for replies is seen doing so (see `pipelined`).
  replyDelayMs: number;
}

export interface ScriptedSftpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  hostKeySha256: string;
  // path → content; absolute, normalized paths. Partial uploads are visible as they arrive.
  files: Map<string, Buffer>;
  folders: Set<string>;
  // One line per event, e.g. 'AUTH ok', 'OPEN /upload/x w', 'RENAME /a -> /b', 'POSIX-RENAME /a -> /b'.
  ops: string[];
  // The requests (by SFTP name, e.g. 'WRITE', 'CLOSE') that arrived while an earlier request of
  // the same session was still unanswered.
  pipelined: string[];
  // Listing of file paths under a folder (recursive), sorted.
  list(dir?: string): string[];
  setFault(f: Partial<ScriptedFaults>): void;
  close(): Promise<void>;
}

interface OpenFile {
  kind: 'file';
  path: string;
  write: boolean;
  written: number;
}
interface OpenDir {
  kind: 'dir';
  path: string;
  done: boolean;
}

// `ident` is the software part of the server's identification string (e.g. 'OpenSSH_9.2p1';
// ssh2's own by default).
export async function startScriptedSftpServer(opts: Partial<ScriptedFaults> & { remoteDir?: string; ident?: string } = {}): Promise<ScriptedSftpServer> {
  const username = 'scripted';
  const password = randomBytes(12).toString('hex');
  // ssh2 now and then generates an ed25519 key it cannot parse back ("Malformed OpenSSH public
  // key"): draw again, a bounded number of times.
  let keys = utils.generateKeyPairSync('ed25519');
  let parsed = utils.parseKey(keys.public);
  for (let i = 0; i < 20 && (parsed instanceof Error || Array.isArray(parsed)); i++) {
    keys = utils.generateKeyPairSync('ed25519');
    parsed = utils.parseKey(keys.public);
  }
  if (parsed instanceof Error) throw parsed;
  if (Array.isArray(parsed)) throw new Error('unexpected key list');
  // What the client's hostVerifier gets is the raw public key blob; hash exactly that.
  const hostKeySha256 = 'SHA256:' + createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '');

  const faults: ScriptedFaults = {
    posixRename: opts.posixRename ?? false,
    renameOverwrites: opts.renameOverwrites ?? false,
    stallOnWrite: opts.stallOnWrite ?? false,
    failRenameOnce: opts.failRenameOnce ?? false,
    dropAfterRenameOnce: opts.dropAfterRenameOnce ?? false,
    replyDelayMs: opts.replyDelayMs ?? 0,
    refuseWrites: opts.refuseWrites ?? false,
  };
  const files = new Map<string, Buffer>();
  const folders = new Set<string>(['/', posix.resolve('/', opts.remoteDir ?? '/upload')]);
  const ops: string[] = [];
  const pipelined: string[] = [];
  const sockets = new Set<Socket>();
  const socketsByPort = new Map<number, Socket>();

  const ssh = new Server({ hostKeys: [keys.private], ...(opts.ident ? { ident: opts.ident } : {}) }, (client: Connection, info) => {
    const sock = socketsByPort.get(info.port);
    client.on('error', () => undefined); // resets are expected here; the socket 'close' cleans up
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === username && ctx.password === password) {
        ops.push('AUTH ok');
        ctx.accept();
      } else if (ctx.method === 'password') {
        ops.push('AUTH fail');
        ctx.reject(['password']);
      } else {
        ctx.reject(['password']);
      }
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          if (faults.posixRename) advertise(sftp, { 'posix-rename@openssh.com': '1' });
          watchReplies(sftp, pipelined, () => faults.replyDelayMs);
          serveSftp(sftp, () => sock?.destroy());
        });
      });
    });
  });
  ssh.on('error', () => undefined);

  // Our own listener feeding ssh2 (injectSocket) so close() can destroy every open connection.
  const net: NetServer = createServer((sock) => {
    sock.setNoDelay(true); // else delayed ACKs add ~40 ms to every request/reply round trip
    sockets.add(sock);
    const port = sock.remotePort;
    if (port !== undefined) socketsByPort.set(port, sock);
    sock.once('close', () => {
      sockets.delete(sock);
      if (port !== undefined) socketsByPort.delete(port);
    });
    ssh.injectSocket(sock);
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(0, HOST, () => resolve());
  });
  const addr = net.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  let nextHandle = 1;
  const isFolder = (p: string) => folders.has(p);
  const attrsOf = (p: string): Attributes | null => {
    const now = Math.floor(Date.now() / 1000);
    const f = files.get(p);
    if (f) return { mode: S_IFREG | 0o644, uid: 0, gid: 0, size: f.length, atime: now, mtime: now };
    if (isFolder(p)) return { mode: S_IFDIR | 0o755, uid: 0, gid: 0, size: 4096, atime: now, mtime: now };
    return null;
  };

  function serveSftp(sftp: SFTPWrapper, dropConnection: () => void): void {
    const handles = new Map<string, OpenFile | OpenDir>();
    const abs = (p: string) => posix.resolve('/', p); // the session starts in '/'
    const ok = (id: number) => sftp.status(id, STATUS_CODE.OK);
    const fail = (id: number, code: number, msg: string) => sftp.status(id, code, msg);
    const newHandle = (h: OpenFile | OpenDir): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(nextHandle++);
      handles.set(b.toString('hex'), h);
      return b;
    };

    // Shared by RENAME and posix-rename: overwrite says whether an existing target is replaced.
    const rename = (id: number, from: string, to: string, overwrite: boolean, label: string) => {
      ops.push(`${label} ${from} -> ${to}`);
      const content = files.get(from);
      if (!content) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (!isFolder(posix.dirname(to)) || isFolder(to)) return fail(id, STATUS_CODE.FAILURE, 'Failure');
      if (files.has(to) && !overwrite) return fail(id, STATUS_CODE.FAILURE, 'Failure');
      files.delete(from);
      files.set(to, content);
      if (faults.dropAfterRenameOnce) {
        faults.dropAfterRenameOnce = false;
        ops.push(`DROP after ${label}`);
        return dropConnection();
      }
      ok(id);
    };

    sftp.on('REALPATH', (id, p) => {
      const path = abs(p);
      ops.push(`REALPATH ${path}`);
      const attrs = attrsOf(path);
      if (!attrs) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      sftp.name(id, [{ filename: path, longname: path, attrs }]);
    });
    for (const ev of ['STAT', 'LSTAT'] as const) {
      sftp.on(ev, (id: number, p: string) => {
        const path = abs(p);
        ops.push(`${ev} ${path}`);
        const attrs = attrsOf(path);
        if (!attrs) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
        sftp.attrs(id, attrs);
      });
    }
    sftp.on('OPEN', (id, p, flags) => {
      const path = abs(p);
      const write = (flags & OPEN_MODE.WRITE) !== 0;
      ops.push(`OPEN ${path} ${utils.sftp.flagsToString(flags) ?? flags}`);
      if (!isFolder(posix.dirname(path))) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (isFolder(path)) return fail(id, STATUS_CODE.FAILURE, 'Is a directory');
      const exists = files.has(path);
      if (exists && flags & OPEN_MODE.EXCL) return fail(id, STATUS_CODE.FAILURE, 'File exists');
      if (!exists && !(flags & OPEN_MODE.CREAT)) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (!exists || flags & OPEN_MODE.TRUNC) files.set(path, Buffer.alloc(0));
      sftp.handle(id, newHandle({ kind: 'file', path, write, written: 0 }));
    });
    sftp.on('WRITE', (id, handle, offset, data) => {
      const h = handles.get(handle.toString('hex'));
      if (!h || h.kind !== 'file' || !h.write) return fail(id, STATUS_CODE.FAILURE, 'Bad handle');
      const limit = faults.stallOnWrite === true ? 0 : faults.stallOnWrite;
      if (limit !== false && h.written >= limit) {
        ops.push(`WRITE-STALLED ${h.path} @${offset}`);
        return; // never answered: the client waits until it gives up
      }
      if (faults.refuseWrites) {
        ops.push(`WRITE-REFUSED ${h.path} @${offset}`);
        return fail(id, STATUS_CODE.FAILURE, 'No space left on device');
      }
      ops.push(`WRITE ${h.path} @${offset}+${data.length}`);
      const cur = files.get(h.path) ?? Buffer.alloc(0);
      const next = Buffer.alloc(Math.max(cur.length, offset + data.length));
      cur.copy(next);
      data.copy(next, offset);
      files.set(h.path, next);
      h.written += data.length;
      ok(id);
    });
    sftp.on('READ', (id, handle, offset, len) => {
      const h = handles.get(handle.toString('hex'));
      if (!h || h.kind !== 'file') return fail(id, STATUS_CODE.FAILURE, 'Bad handle');
      ops.push(`READ ${h.path} @${offset}`);
      const content = files.get(h.path) ?? Buffer.alloc(0);
      if (offset >= content.length) return sftp.status(id, STATUS_CODE.EOF);
      sftp.data(id, content.subarray(offset, offset + len));
    });
    sftp.on('FSTAT', (id, handle) => {
      const h = handles.get(handle.toString('hex'));
      const attrs = h ? attrsOf(h.path) : null;
      if (!attrs) return fail(id, STATUS_CODE.FAILURE, 'Bad handle');
      sftp.attrs(id, attrs);
    });
    sftp.on('SETSTAT', (id) => ok(id));
    sftp.on('FSETSTAT', (id) => ok(id));
    sftp.on('CLOSE', (id, handle) => {
      const key = handle.toString('hex');
      const h = handles.get(key);
      if (!h) return fail(id, STATUS_CODE.FAILURE, 'Bad handle');
      ops.push(`CLOSE ${h.path}`);
      handles.delete(key);
      ok(id);
    });
    sftp.on('OPENDIR', (id, p) => {
      const path = abs(p);
      ops.push(`OPENDIR ${path}`);
      if (!isFolder(path)) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      sftp.handle(id, newHandle({ kind: 'dir', path, done: false }));
    });
    sftp.on('READDIR', (id, handle) => {
      const h = handles.get(handle.toString('hex'));
      if (!h || h.kind !== 'dir') return fail(id, STATUS_CODE.FAILURE, 'Bad handle');
      if (h.done) return sftp.status(id, STATUS_CODE.EOF);
      h.done = true;
      const children = [...files.keys(), ...folders].filter((p) => p !== '/' && posix.dirname(p) === h.path);
      sftp.name(
        id,
        children.map((p) => ({ filename: posix.basename(p), longname: posix.basename(p), attrs: attrsOf(p) as Attributes })),
      );
    });
    sftp.on('MKDIR', (id, p) => {
      const path = abs(p);
      ops.push(`MKDIR ${path}`);
      if (isFolder(path) || files.has(path)) return fail(id, STATUS_CODE.FAILURE, 'Failure');
      if (!isFolder(posix.dirname(path))) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      folders.add(path);
      ok(id);
    });
    sftp.on('REMOVE', (id, p) => {
      const path = abs(p);
      ops.push(`REMOVE ${path}`);
      if (!files.delete(path)) return fail(id, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      ok(id);
    });
    sftp.on('RENAME', (id, from, to) => {
      if (faults.failRenameOnce) {
        faults.failRenameOnce = false;
        ops.push(`RENAME-FAILED ${abs(from)} -> ${abs(to)}`);
        return fail(id, STATUS_CODE.FAILURE, 'Failure');
      }
      rename(id, abs(from), abs(to), faults.renameOverwrites, 'RENAME');
    });
    sftp.on('EXTENDED', (id, name, data) => {
      if (name !== 'posix-rename@openssh.com' || !faults.posixRename) {
        ops.push(`EXTENDED ${name} unsupported`);
        return fail(id, STATUS_CODE.OP_UNSUPPORTED, 'Unsupported');
      }
      const [from, to] = readStrings(data, 2);
      if (from === undefined || to === undefined) return fail(id, STATUS_CODE.BAD_MESSAGE, 'Bad message');
      // POSIX rename(2): an existing target is replaced, atomically.
      rename(id, abs(from), abs(to), true, 'POSIX-RENAME');
    });
  }

  return {
    host: HOST,
    port,
    username,
    password,
    hostKeySha256,
    files,
    folders,
    ops,
    pipelined,
    list: (dir = '/') => [...files.keys()].filter((p) => dir === '/' || p.startsWith(dir.replace(/\/+$/, '') + '/')).sort(),
    setFault: (f) => Object.assign(faults, f),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => net.close(() => resolve()));
    },
  };
}

const REQUESTS = new Set([
  'OPEN',
  'READ',
  'WRITE',
  'FSTAT',
  'FSETSTAT',
  'CLOSE',
  'OPENDIR',
  'READDIR',
  'LSTAT',
  'STAT',
  'REMOVE',
  'RMDIR',
  'REALPATH',
  'READLINK',
  'SETSTAT',
  'MKDIR',
  'RENAME',
  'SYMLINK',
  'EXTENDED',
]);
const REPLIES = ['status', 'handle', 'data', 'name', 'attrs'] as const;

// Counts the session's unanswered requests (recording those that arrive while some are) and,
// with a delay, sends each reply that much later, in order.
function watchReplies(sftp: SFTPWrapper, pipelined: string[], delayMs: () => number): void {
  let unanswered = 0;
  const emit = sftp.emit.bind(sftp);
  sftp.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (typeof event === 'string' && REQUESTS.has(event)) {
      if (unanswered > 0) pipelined.push(event);
      unanswered++;
    }
    return emit(event, ...args);
  }) as typeof sftp.emit;
  const target = sftp as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of REPLIES) {
    const reply = target[name].bind(sftp);
    target[name] = (...a: unknown[]) => {
      const send = () => {
        unanswered = Math.max(0, unanswered - 1);
        try {
          reply(...a);
        } catch {
          // the channel closed meanwhile
        }
      };
      if (delayMs() > 0) setTimeout(send, delayMs());
      else send();
      return true;
    };
  }
}

// ssh2's server always answers INIT with a bare VERSION packet (a fixed buffer, no extensions) and
// has no option for extensions. So rewrite that one outgoing packet: the channel's first
// channelData call is the VERSION reply, and we append "name, data" string pairs to it.
function advertise(sftp: SFTPWrapper, exts: Record<string, string>): void {
  type Proto = { channelData(id: number, data: Buffer): void };
  const inner = sftp as unknown as { _protocol: Proto };
  const real = inner._protocol;
  inner._protocol = new Proxy(real, {
    get(target, prop) {
      if (prop === 'channelData') {
        return (id: number, data: Buffer) => {
          inner._protocol = real; // one-shot: everything after VERSION goes out untouched
          real.channelData(id, data.length >= 9 && data[4] === VERSION_PACKET ? withExtensions(data, exts) : data);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function withExtensions(version: Buffer, exts: Record<string, string>): Buffer {
  const parts: Buffer[] = [version.subarray(4)];
  for (const [name, data] of Object.entries(exts)) parts.push(sshString(name), sshString(data));
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function sshString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function readStrings(data: Buffer | undefined, n: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (!data || p + 4 > data.length) return out;
    const len = data.readUInt32BE(p);
    if (p + 4 + len > data.length) return out;
    out.push(data.toString('utf8', p + 4, p + 4 + len));
    p += 4 + len;
  }
  return out;
}
