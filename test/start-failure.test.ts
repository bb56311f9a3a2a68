import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, TEST_JWT_SECRET } from './support/app';
import { MYSQL_ADMIN_URL } from './support/database';

// A start that fails says why in one line of the structured log and exits 1: no silent wait while
// the database is tried, no stack printed outside the log's format, no core dump.

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runService(env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  const workDir = mkdtempSync(join(tmpdir(), 'wcr-start-'));
  return new Promise<Run>((res) => {
    const c = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], {
      cwd: workDir,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'log',
        EXPORT_LOCAL_DIR: join(workDir, 'out'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(workDir, { recursive: true, force: true });
      res({ code, signal, stdout, stderr });
    });
  });
}

function lines(run: Run): Record<string, unknown>[] {
  return run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Every line is one JSON object; the last is the fatal one, and it is the only fatal line.
function failure(run: Run): Record<string, unknown> {
  expect(run.signal).toBeNull();
  expect(run.code).toBe(1);
  expect(run.stderr).toBe('');
  const all = lines(run);
  const fatal = all.filter((l) => l.level === 'fatal');
  expect(fatal).toHaveLength(1);
  expect(all[all.length - 1]).toBe(fatal[0]);
  expect(fatal[0]).toMatchObject({ context: 'Bootstrap', phase: 'start' });
  return fatal[0];
}

describe('a start that fails', () => {
  it('logs each attempt at an unreachable database, then one line naming it and the cause', async () => {
    const port = await freePort();
    const run = await runService({ DATABASE_URL: `mysql://root@127.0.0.1:${port}/nowhere`, START_CONNECT_ATTEMPTS: '2' });
    const fatal = failure(run);
    expect(fatal.msg).toBe(`start failed: building the app on its database (MySQL 127.0.0.1:${port}/nowhere): connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(fatal.cause).toMatchObject({ code: 'ECONNREFUSED' });
    // The attempts were logged as they failed, not held back until the end.
    const attempts = lines(run).filter((l) => l.context === 'TypeOrmModule' && l.level === 'error');
    expect(attempts.length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('names a database that the server does not have', async () => {
    const u = new URL(MYSQL_ADMIN_URL);
    u.pathname = '/wcr_no_such_database';
    const run = await runService({ DATABASE_URL: u.toString(), START_CONNECT_ATTEMPTS: '1' });
    const fatal = failure(run);
    expect(fatal.msg).toMatch(/^start failed: building the app on its database \(MySQL .*\/wcr_no_such_database\): .*Unknown database 'wcr_no_such_database'/);
    expect(fatal.cause).toMatchObject({ code: 'ER_BAD_DB_ERROR' });
  }, 30_000);

  it('says that the port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((res) => taken.listen(0, '0.0.0.0', () => res()));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await runService({ PORT: String(port), DATABASE_URL: 'sqlite::memory:' });
      const fatal = failure(run);
      expect(fatal.msg).toBe(`start failed: port ${port} is already in use`);
      expect(fatal.cause).toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise<void>((res) => taken.close(() => res()));
    }
  }, 30_000);

  it('names a Redis that does not answer, without its password', async () => {
    const port = await freePort();
    const run = await runService({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`, START_CONNECT_ATTEMPTS: '1' });
    const fatal = failure(run);
    expect(fatal.msg).toBe(`start failed: connecting to Redis at redis://127.0.0.1:${port}: no answer within 2 s (connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(run.stdout).not.toContain('hunter2');
    // Unreachable is said once, not once per attempt.
    expect(lines(run).filter((l) => l.context === 'RedisIoAdapter' && l.level === 'warn')).toHaveLength(1);
  }, 30_000);

  it('refuses a START_CONNECT_ATTEMPTS that is not a count', async () => {
    const run = await runService({ DATABASE_URL: 'sqlite::memory:', START_CONNECT_ATTEMPTS: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/configuration error: START_CONNECT_ATTEMPTS/);
  });
});
