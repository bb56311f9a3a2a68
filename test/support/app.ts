import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { io, Socket } from 'socket.io-client';

// Runs the built service (dist/) as a real child process, as production runs it: these tests see
// only its HTTP and socket.io interface.
// The project root, whether this file runs from test/support (jest) or dist/test/support (bench).
function findRoot(dir: string): string {
  let d = dir;
  while (!existsSync(join(d, 'package.json'))) {
    const up = resolve(d, '..');
    if (up === d) throw new Error('package.json not found above ' + dir);
    d = up;
  }
  return d;
}
export const ROOT = findRoot(__dirname);
export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const MIGRATE = join(ROOT, 'dist', 'src', 'cli', 'migrate.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function migrate(databaseUrl: string): Promise<void> {
  await promisify(execFile)(process.execPath, [MIGRATE, 'run'], { env: { ...process.env, DATABASE_URL: databaseUrl }, cwd: ROOT });
}

export interface AppHandle {
  url: string;
  pid(): number;
  port: number;
  workDir: string;
  logs(): string;
  // Standard output alone (the service's log lines; Node's own warnings go to standard error).
  stdout(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  // Sends a signal and returns at once; exited() resolves when the process has exited.
  signal(sig: NodeJS.Signals): void;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startApp(opts: { databaseUrl?: string; env?: Record<string, string>; nodeArgs?: string[]; port?: number } = {}): Promise<AppHandle> {
  const port = opts.port ?? (await freePort());
  const workDir = mkdtempSync(join(tmpdir(), 'wcr-app-'));
  let out = '';
  let stdout = '';
  let child: ChildProcess | null = null;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    PORT: String(port),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'log',
    DELIVERY_POLL_MS: '200',
    DELIVERY_RETRY_BASE_MS: '200',
    DELIVERY_RETRY_MAX_MS: '2000',
    SFTP_OPERATION_TIMEOUT_MS: '5000',
    // Tests drive clients faster than people type; the rate-limit test sets its own limits.
    RATE_LIMIT_SOCKET_PER_SECOND: '100000',
    RATE_LIMIT_TOKEN_PER_SECOND: '100000',
    RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '100000',
    // A stop (SIGTERM) in the tests' teardown is bounded more tightly than in production.
    SHUTDOWN_DEADLINE_MS: '10000',
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  };
  const url = `http://127.0.0.1:${port}`;

  const launch = async () => {
    const c = spawn(process.execPath, [...(opts.nodeArgs ?? []), MAIN], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`service exited with ${c.exitCode}:\n${out}`);
      try {
        const r = await fetch(`${url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`service did not become healthy:\n${out}`);
      await sleep(100);
    }
  };
  const exit = (signal: NodeJS.Signals) =>
    new Promise<void>((res) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return res();
      c.once('exit', () => res());
      c.kill(signal);
    });

  await launch();
  return {
    url,
    port,
    workDir,
    logs: () => out,
    stdout: () => stdout,
    pid: () => (child as ChildProcess | null)?.pid ?? -1,
    async stop() {
      await exit('SIGTERM');
    },
    async kill() {
      await exit('SIGKILL');
    },
    async restart() {
      await exit('SIGTERM');
      await launch();
    },
    signal(sig) {
      (child as ChildProcess | null)?.kill(sig);
    },
    exited() {
      const c = child as ChildProcess | null;
      if (!c) return Promise.resolve({ code: null, signal: null });
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
      return new Promise((res) => c.once('exit', (code, sig) => res({ code, signal: sig })));
    },
  };
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function token(
  claims: { sub: string; company: string; role: string; name?: string; login?: string; chat?: string },
  opts: { secret?: string; expiresIn?: number } = {},
): string {
  return jwt.sign(claims, opts.secret ?? TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: opts.expiresIn ?? 3600 });
}

export async function http<T = Record<string, unknown>>(
  app: AppHandle,
  method: string,
  path: string,
  bearer: string | null,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${app.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function connect(app: AppHandle, ns: '/customer' | '/agent', tokenValue: unknown): Promise<Socket> {
  const s = io(`${app.url}${ns}`, { auth: { token: tokenValue }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((res, rej) => {
    s.once('connect', () => res());
    s.once('connect_error', (e) => rej(e));
  });
  return s;
}

export async function connectError(app: AppHandle, ns: '/customer' | '/agent', tokenValue: unknown): Promise<Error> {
  const s = io(`${app.url}${ns}`, {
    auth: tokenValue === undefined ? {} : { token: tokenValue },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  try {
    return await new Promise<Error>((res, rej) => {
      s.once('connect', () => rej(new Error('connected, but a refusal was expected')));
      s.once('connect_error', (e) => res(e));
    });
  } finally {
    s.close();
  }
}

export interface Ack {
  ok: boolean;
  error?: { code: string; message: string };
  [k: string]: unknown;
}

export function emit(s: Socket, event: string, payload?: unknown, timeoutMs = 10_000): Promise<Ack> {
  return s.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Ack>;
}

export function next<T = unknown>(s: Socket, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    s.once(event, (payload: T) => {
      clearTimeout(t);
      res(payload);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
