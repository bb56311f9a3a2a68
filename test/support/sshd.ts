// Test helper: a real, private OpenSSH sshd that plays the SFTP recording platform.
// It must run as root (it creates a system user and a chroot); it only ever listens on 127.0.0.1
// and never touches port 22 or the system sshd's config.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';

export interface SshdHandle {
  host: string;
  port: number;
  username: string;
  password: string;
  privateKey: string;
  hostKeySha256: string;
  remoteDir: string;
  localDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  listFiles(): string[];
  readFile(rel: string): string;
  clear(): void;
  destroy(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const HOST = '127.0.0.1';
// sshd refuses a ChrootDirectory with a world-writable ancestor, so /tmp is out.
const CHROOT_BASE = '/srv/sftp';
const REMOTE_DIR = '/upload';
const USERNAME_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export async function startSshd(opts: { username?: string } = {}): Promise<SshdHandle> {
  checkPrerequisites();
  // Unique per call so parallel jest workers never share an account, chroot or port.
  const username = opts.username ?? `hz${randomBytes(5).toString('hex')}`;
  if (!USERNAME_RE.test(username)) {
    throw new Error(`startSshd: invalid username '${username}' (lowercase, max 32 chars)`);
  }
  if (userExists(username)) {
    // Refuse rather than hijack (and later userdel) an account we did not create.
    throw new Error(`startSshd: user '${username}' already exists`);
  }

  const password = randomBytes(12).toString('hex');
  const tempDir = mkdtempSync(join(tmpdir(), 'sshd-harness-'));
  const chrootDir = join(CHROOT_BASE, username);
  const localDir = join(chrootDir, REMOTE_DIR.slice(1));
  const configPath = join(tempDir, 'sshd_config');
  const pidFile = join(tempDir, 'sshd.pid');
  const logFile = join(tempDir, 'sshd.log');
  let userCreated = false;
  let port = 0;
  let exitHook: (() => void) | undefined;

  const readPid = (): number | undefined => {
    if (!existsSync(pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  };

  const logTail = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '(no log)');

  const stop = async (): Promise<void> => {
    const pid = readPid();
    if (pid !== undefined) {
      // Killing the listener alone leaves open sessions alive; an outage test wants them gone too.
      const victims = [pid, ...descendantsOf(pid)];
      for (const p of victims) signal(p, 'SIGTERM');
      await waitFor(() => victims.every((p) => !isAlive(p)), 5000, 'sshd to exit').catch(() => {
        for (const p of victims) signal(p, 'SIGKILL');
      });
      rmSync(pidFile, { force: true });
    }
    await waitFor(async () => !(await portOpen(port)), 5000, `port ${port} to close`);
  };

  const start = async (): Promise<void> => {
    if (readPid() !== undefined && (await portOpen(port))) return;
    ensurePrivsepDir();
    try {
      // sshd binds before daemonizing, so a taken port makes this call fail right here.
      execFileSync(SSHD, ['-f', configPath, '-E', logFile], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`sshd failed to start on port ${port}: ${errText(err)}\n${logTail()}`);
    }
    await waitFor(() => portOpen(port), 10000, `sshd to listen on ${HOST}:${port}`).catch((err: unknown) => {
      throw new Error(`${errText(err)}\n${logTail()}`);
    });
  };

  const destroy = async (): Promise<void> => {
    try {
      if (port) await stop();
    } finally {
      cleanupSync();
    }
  };

  // Synchronous so it can also run from a process 'exit' hook if a test forgets destroy().
  const cleanupSync = (): void => {
    const pid = readPid();
    if (pid !== undefined) for (const p of [pid, ...descendantsOf(pid)]) signal(p, 'SIGKILL');
    if (userCreated) {
      tryRun('userdel', [username]);
      userCreated = false;
    }
    rmSync(chrootDir, { recursive: true, force: true });
    rmSync(tempDir, { recursive: true, force: true });
    if (exitHook) {
      process.removeListener('exit', exitHook);
      exitHook = undefined;
    }
  };

  try {
    // sshd reads AuthorizedKeysFile as the target user, so the temp dir must be traversable.
    chmodSync(tempDir, 0o755);
    const hostKey = join(tempDir, 'host_ed25519');
    const clientKey = join(tempDir, 'client_ed25519');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sshd-harness-host', '-f', hostKey]);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${username}@sshd-harness`, '-f', clientKey]);
    chmodSync(hostKey, 0o600);
    const authorizedKeys = join(tempDir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o644 });
    const privateKey = readFileSync(clientKey, 'utf8');
    // `ssh-keygen -lf` prints "256 SHA256:... comment (ED25519)".
    const hostKeySha256 = run('ssh-keygen', ['-lf', `${hostKey}.pub`]).split(/\s+/)[1] ?? '';
    if (!hostKeySha256.startsWith('SHA256:')) {
      throw new Error(`unexpected ssh-keygen fingerprint output for ${hostKey}.pub`);
    }

    // Home '/upload' makes the SFTP session start in the upload folder inside the chroot.
    run('useradd', ['-M', '-d', REMOTE_DIR, '-s', '/usr/sbin/nologin', '-U', username]);
    userCreated = true;
    exitHook = cleanupSync;
    process.once('exit', exitHook);
    // A useradd account is locked ('!') and UsePAM no then refuses even keys; a password unlocks it.
    run('chpasswd', [], `${username}:${password}\n`);
    const uid = Number(run('id', ['-u', username]).trim());
    const gid = Number(run('id', ['-g', username]).trim());

    // Chroot and all its ancestors must be root-owned and not group/world-writable.
    mkdirSync(CHROOT_BASE, { recursive: true });
    chmodSync(CHROOT_BASE, 0o755);
    mkdirSync(chrootDir);
    chmodSync(chrootDir, 0o755);
    mkdirSync(localDir);
    chmodSync(localDir, 0o755);
    chownSync(localDir, uid, gid);

    const writeConfig = (): void => {
      const config = [
        `Port ${port}`,
        `ListenAddress ${HOST}`,
        `HostKey ${hostKey}`,
        `PidFile ${pidFile}`,
        'UsePAM no',
        'PasswordAuthentication yes',
        'PermitEmptyPasswords no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AuthorizedKeysFile ${authorizedKeys}`,
        // The temp dir's ownership/modes would otherwise fail sshd's checks.
        'StrictModes no',
        'PermitRootLogin no',
        `AllowUsers ${username}`,
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'LogLevel VERBOSE',
        'Subsystem sftp internal-sftp',
        `Match User ${username}`,
        '  ForceCommand internal-sftp',
        `  ChrootDirectory ${chrootDir}`,
        '',
      ].join('\n');
      writeFileSync(configPath, config, { mode: 0o600 });
      ensurePrivsepDir();
      run(SSHD, ['-t', '-f', configPath]);
    };

    // A port picked via bind(0) can be taken before sshd binds it; retry with a fresh one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeConfig();
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }

    return {
      host: HOST,
      port,
      username,
      password,
      privateKey,
      hostKeySha256,
      remoteDir: REMOTE_DIR,
      localDir,
      stop,
      start,
      destroy,
      listFiles: () => listFilesUnder(localDir),
      readFile: (rel: string) => readFileSync(insideDir(localDir, rel), 'utf8'),
      clear: () => {
        for (const entry of readdirSync(localDir)) rmSync(join(localDir, entry), { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stop().catch(() => undefined);
    cleanupSync();
    throw err;
  }
}

// Both `sshd -t` and sshd refuse to run without it, and /run is a tmpfs emptied on boot.
function ensurePrivsepDir(): void {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

function checkPrerequisites(): void {
  try {
    accessSync(SSHD, fsConstants.X_OK);
  } catch {
    throw new Error(`startSshd: ${SSHD} not found; install it with 'apt-get install openssh-server'`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('startSshd: must run as root (it creates a user and a chroot under /srv/sftp)');
  }
}

// Arguments go straight to execve: no shell, so nothing in them is interpreted.
function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe', input });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${errText(err)}`);
  }
}

function tryRun(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch {
    // best-effort cleanup
  }
}

function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'stderr' in err) {
    const stderr = String((err as { stderr: unknown }).stderr ?? '').trim();
    if (stderr) return stderr;
  }
  return err instanceof Error ? err.message : String(err);
}

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const sock = createConnection({ host: HOST, port });
    const done = (open: boolean): void => {
      sock.destroy();
      resolveOpen(open);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0) but is gone for our purposes.
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// Session processes sshd forked (found by parent pid in /proc), so stop() can end them by id.
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces/parens; fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // process vanished while scanning
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function listFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split(sep).join('/'))
    .sort();
}

// Keep readFile() from wandering outside the upload folder.
function insideDir(dir: string, rel: string): string {
  const full = resolve(dir, rel);
  if (full !== dir && !full.startsWith(dir + sep)) throw new Error(`path escapes ${dir}: ${rel}`);
  return full;
}
