import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, freePort, http, ROOT } from '../test/support/app';
import { SshdHandle } from '../test/support/sshd';

// Command-line options shared by the bench files (see run.ts for the list).
const args = process.argv.slice(2);
const value = (name: string): string | null => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? null) : null);
export const options = {
  jsonOut: value('--json'),
  quick: args.includes('--quick'),
  // --profile DIR: the service writes a V8 CPU profile there (node --cpu-prof), to see what bounds it.
  profileDir: value('--profile'),
  only: value('--only')?.split(',') ?? null,
  runs: Math.max(1, Math.min(20, Number(value('--runs') ?? 1) || 1)),
  // --relay-seconds N: measure the relay for N seconds (default 8), e.g. so that a profile is
  // mostly the relay rather than the chats' creation.
  relaySeconds: Math.max(1, Math.min(600, Number(value('--relay-seconds') ?? 8) || 8)),
};

export const BENCH_ENV = {
  LOG_LEVEL: 'warn',
  DELIVERY_POLL_MS: '500',
  RATE_LIMIT_SOCKET_PER_SECOND: '100000',
  RATE_LIMIT_TOKEN_PER_SECOND: '100000',
  RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '100000',
};
// The service runs with the node options of the production command (package.json's start:prod,
// which the Dockerfile's CMD repeats). BENCH_SERVICE_NODE_ARGS adds options for the service's node
// alone (not the load generators'), e.g. '--max-semi-space-size=8' to see what a GC setting does.
export const NODE_ARGS = [
  ...productionNodeOptions(),
  ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []),
  ...(process.env.BENCH_SERVICE_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
];
function productionNodeOptions(): string[] {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const m = /^node\s+(.*?)\s*dist\/src\/main\.js$/.exec(scripts['start:prod'] ?? '');
  if (!m) throw new Error(`package.json start:prod is not "node [options] dist/src/main.js": ${scripts['start:prod']}`);
  return m[1].split(/\s+/).filter(Boolean);
}

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

// CPU time (user + system) a process has used so far, in ms, from /proc (clock-tick resolution).
let ticksPerSecond = 0;
export function cpuMs(pid: number): number {
  if (pid <= 0) return NaN;
  ticksPerSecond ||= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / ticksPerSecond;
}

// The database server's process, for its CPU time per message (NaN figures when not found).
export function databasePid(): number {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      return Number(execFileSync('pidof', ['-s', name]).toString().trim());
    } catch {
      // not this one
    }
  }
  return -1;
}

export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

// A request whose failure would silently skew a figure (a chat not created, not ended) stops the
// bench with the answer instead.
// A pooled keep-alive connection that the server closes just as the client reuses it fails with
// ECONNRESET before the request was read: that one is sent again, once (every call here is safe to
// repeat: ending twice is harmless, a chat created twice is only one more chat).
export async function call<T = Record<string, unknown>>(app: AppHandle, method: string, path: string, tok: string, body?: unknown): Promise<T> {
  let r: { status: number; body: T };
  try {
    r = await http<T>(app, method, path, tok, body);
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') throw err;
    log(`${method} ${path}: ${code}, sent again`);
    r = await http<T>(app, method, path, tok, body);
  }
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

// A ceiling server of the bench (bare-server.js, durable-server.js) in its own process.
export async function startChildServer(script: string, extraArgs: string[] = []): Promise<ChildServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', script), String(port), ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${script} did not start`)), 10_000);
    child.once('exit', (code) => rej(new Error(`${script} exited with ${code}`)));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(t);
        res();
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

// The delivery ceiling: OpenSSH's sftp uploading the same files over one connection.
export function sftpBatch(sshd: SshdHandle, keyFile: string, files: string[], remoteDir: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'sftpb-'));
  const batch = join(dir, 'batch');
  writeFileSync(batch, [`-mkdir ${remoteDir}`, `cd ${remoteDir}`, ...files.map((f) => `put ${f}`)].join('\n') + '\n');
  const t0 = performance.now();
  execFileSync(
    'sftp',
    [
      '-b',
      batch,
      '-i',
      keyFile,
      '-P',
      String(sshd.port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      `${sshd.username}@${sshd.host}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
  );
  const seconds = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}
