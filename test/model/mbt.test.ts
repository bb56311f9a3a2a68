import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, migrate, startApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { ChainRow, firstBreak } from '../support/message-chain';
import { SshdHandle, startSshd } from '../support/sshd';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import { Action, actionArb, describeAction, Faults, Setup, setupArb } from './actions';
import { SEQUENCES, EVERYONE_RECORDED, Sequence } from './sequences';
import { ChatRun, World } from './system';

// Model-based test (issue 10): random conversations driven through the built service over
// socket.io and REST, faults among the actions, and every delivered file compared with what the
// reference model in this folder predicts from the chat's history.
//
// npm run test:model -- --runs N --seed S [--db mariadb|sqlite] [--path P --replay R]
// The environment carries the options to jest: MBT_RUNS, MBT_SEED, MBT_DB, MBT_PATH, MBT_REPLAY,
// MBT_TIME_LIMIT_S (the bound of each database's property, shrinking included).

const RUNS = Number(process.env.MBT_RUNS ?? 30);
const SEED = process.env.MBT_SEED ? Number(process.env.MBT_SEED) : undefined;
const PATH = process.env.MBT_PATH || undefined;
const REPLAY = process.env.MBT_REPLAY || undefined;
const DB = process.env.MBT_DB ?? 'both';
const TIME_LIMIT_S = Number(process.env.MBT_TIME_LIMIT_S ?? 70);
const VERBOSE = !!process.env.MBT_VERBOSE;
const SURVEY = !!process.env.MBT_SURVEY;
const MAX_COMMANDS = Number(process.env.MBT_MAX_COMMANDS ?? 30);
const CHAIN_ROWS = 'SELECT seq, at, sender_role, sender_id, text, body_sha256, chain FROM messages WHERE chat_id = ? ORDER BY seq';

const APP_ENV = {
  IDLE_SWEEP_MS: '500',
  DELIVERY_LEASE_MS: '3000',
  DELIVERY_MAX_ATTEMPTS: '60',
  DELIVERY_RETRY_BASE_MS: '200',
  DELIVERY_RETRY_MAX_MS: '1000',
};

// The service's own error lines since a mark: they help to tell a defect from a wrong expectation.
const logMark = (world: World) => world.apps.map((a) => a.logs().length);
function serviceErrors(world: World, mark: number[]): string {
  const errors = world.apps.flatMap((a, i) =>
    a
      .logs()
      .slice(mark[i])
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(-3)
      .map((l) => `instance ${i}: ${l}`),
  );
  return errors.length > 0 ? `\n  service log (last errors):\n    ${errors.join('\n    ')}` : '';
}

class Step implements fc.AsyncCommand<ChatRun, ChatRun, false> {
  constructor(readonly action: Action) {}
  check(m: Readonly<ChatRun>): boolean {
    return m.applicable(this.action);
  }
  async run(_m: ChatRun, real: ChatRun): Promise<void> {
    await real.execute(this.action);
  }
  toString(): string {
    return describeAction(this.action);
  }
}

// Runs the property over one world; on a failure, throws the shrunk run as a readable list.
async function property(world: World, faults: Faults, dbName: string): Promise<void> {
  let lastFailure: { log: string[]; error: string } | null = null;
  const prop = fc.asyncProperty(
    setupArb,
    fc.commands([actionArb(faults).map((a) => new Step(a))], { maxCommands: MAX_COMMANDS, size: 'max', replayPath: REPLAY }),
    async (setup: Setup, cmds) => {
      const run = new ChatRun(world, setup);
      const logStart = logMark(world);
      try {
        await run.open();
        await fc.asyncModelRun(() => ({ model: run, real: run }), cmds);
        await run.finishAndCheck();
        if (VERBOSE) console.log(`run passed (${run.log.length} actions):\n  ${run.log.join('\n  ')}`);
      } catch (e) {
        const tail = serviceErrors(world, logStart);
        lastFailure = { log: [...run.log], error: (e instanceof Error ? e.message : String(e)) + tail };
        throw e;
      } finally {
        await run.close();
      }
    },
  );
  if (SURVEY) {
    // Survey: RUNS independent runs, no shrinking, every failure listed (to sort them by cause).
    const found: string[] = [];
    const base = SEED ?? Date.now() % 1_000_000;
    for (let i = 0; i < RUNS; i++) {
      lastFailure = null;
      const one = await fc.check(prop, { numRuns: 1, seed: base + i, endOnFailure: true });
      const f = lastFailure as { log: string[]; error: string } | null;
      if (one.failed) found.push(`seed ${base + i}:\n  ${(f?.log ?? []).join('\n  ')}\n  => ${f?.error ?? fc.defaultReportMessage(one)}`);
    }
    if (found.length > 0) throw new Error(`${found.length} of ${RUNS} runs on ${dbName} failed:\n\n${found.join('\n\n')}`);
    return;
  }
  const out = await fc.check(prop, {
    numRuns: RUNS,
    seed: SEED,
    path: PATH,
    interruptAfterTimeLimit: TIME_LIMIT_S * 1000,
    markInterruptAsFailure: false,
  });
  const failure = lastFailure as { log: string[]; error: string } | null;
  if (out.failed && failure) {
    const replay = /replayPath="([^"]*)"/.exec(fc.defaultReportMessage(out) ?? '')?.[1];
    const lines = [
      `model-based test on ${dbName} failed after ${out.numRuns} run(s), shrunk ${out.numShrinks} time(s)${out.interrupted ? ' (shrinking stopped at the time limit)' : ''}.`,
      'Smallest failing sequence:',
      ...failure.log.map((l, i) => `  ${i + 1}. ${l}`),
      'What differs:',
      `  ${failure.error}`,
      `Replay: npm run test:model -- --db ${dbName} --seed ${out.seed} --path "${out.counterexamplePath ?? ''}"${replay ? ` --replay "${replay}"` : ''}`,
    ];
    throw new Error(lines.join('\n'));
  }
  if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? 'model-based test failed');
  // How many random conversations this run tried (a time limit may stop it before RUNS).
  process.stdout.write(`model-based test on ${dbName}: ${out.numRuns} random run(s) passed${out.interrupted ? ' (stopped at the time limit)' : ''}\n`);
}

// A fixed sequence through the same driver and checks; every action must apply.
async function runSequence(world: World, faults: Faults, seq: Sequence): Promise<void> {
  const run = new ChatRun(world, EVERYONE_RECORDED, seq.clash ?? false);
  const mark = logMark(world);
  try {
    await run.open();
    for (const a of seq.actions) {
      if (!run.applicable(a)) throw new Error(`sequence "${seq.name}": ${describeAction(a)} does not apply here`);
      await run.execute(a);
    }
    await run.finishAndCheck();
  } catch (e) {
    throw new Error(`${seq.name}\n  ${run.log.join('\n  ')}\n=> ${e instanceof Error ? e.message : String(e)}${serviceErrors(world, mark)}`);
  } finally {
    await run.close();
  }
}

// Skipped while replaying or surveying random runs.
const sequencesFor = (f: Faults) =>
  SEQUENCES.filter(() => !PATH && !SURVEY)
    .filter((s) => !s.needs || (s.needs === 'dbCut' && f.dbCut) || (s.needs === 'sshd' && f.sshd) || (s.needs === 'instances' && f.instances > 1))
    .map((s) => [s.name, s] as const);

const suiteTimeout = (TIME_LIMIT_S + 120) * 1000;

(DB === 'both' || DB === 'mariadb' ? describe : describe.skip)('model-based test on MariaDB, two instances over Redis, real sshd', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let sshd: SshdHandle;
  const apps: AppHandle[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mbt');
    await migrate(db.url);
    proxy = await startTcpProxy(Number(new URL(db.url).port || 3306));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    sshd = await startSshd();
    const env = { ...APP_ENV, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' };
    apps.push(await startApp({ databaseUrl: viaProxy.toString(), env: { ...env, INSTANCE_ID: 'mbt-a' } }));
    apps.push(await startApp({ databaseUrl: viaProxy.toString(), env: { ...env, INSTANCE_ID: 'mbt-b' } }));
  }, 120_000);
  afterAll(async () => {
    for (const a of apps) {
      await a.stop();
      cleanupDir(a.workDir);
    }
    await sshd?.destroy();
    await proxy?.close();
    await db?.drop();
  });

  const faults: Faults = { kill: true, dbCut: true, sshd: true, instances: 2 };
  let world: World;
  beforeAll(() => {
    world = {
      name: 'mariadb',
      apps,
      sshd,
      dbProxy: proxy,
      filesRoot: () => sshd.localDir,
      bodies: async (chatId) => {
        const rows = await db.query<{ seq: number; text: string | null }>('SELECT seq, text FROM messages WHERE chat_id = ?', [chatId]);
        return new Map(rows.map((r) => [Number(r.seq), r.text]));
      },
      chainBreak: async (chatId) => {
        const rows = await db.query<ChainRow>(CHAIN_ROWS, [chatId]);
        const head = await db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', [chatId]);
        return firstBreak(rows, head[0]?.chain_head ?? null);
      },
    };
  });

  // Replays and surveys run the random property alone.
  const fixed = sequencesFor(faults);
  if (fixed.length > 0) it.each(fixed)('fixed sequence: %s', async (_name, seq) => runSequence(world, faults, seq), 90_000);

  it('every delivered file matches the model, through kill -9, database cuts and sshd outages', () => property(world, faults, 'mariadb'), suiteTimeout);
});

(DB === 'both' || DB === 'sqlite' ? describe : describe.skip)('model-based test on SQLite (the default), one instance, local folder', () => {
  let app: AppHandle;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mbt-sqlite-'));
    file = join(dir, 'mbt.sqlite');
    app = await startApp({ databaseUrl: `sqlite:${file}`, env: APP_ENV });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    cleanupDir(dir);
  });

  const faults: Faults = { kill: true, dbCut: false, sshd: false, instances: 1 };
  let world: World;
  beforeAll(() => {
    world = {
      name: 'sqlite',
      apps: [app],
      filesRoot: (company) => join(app.workDir, 'data', 'outbox', company),
      bodies: (chatId) => {
        const conn = new Database(file, { readonly: true, fileMustExist: true });
        try {
          const rows = conn.prepare('SELECT seq, text FROM messages WHERE chat_id = ?').all(chatId) as { seq: number; text: string | null }[];
          return Promise.resolve(new Map(rows.map((r) => [Number(r.seq), r.text])));
        } finally {
          conn.close();
        }
      },
      chainBreak: (chatId) => {
        const conn = new Database(file, { readonly: true, fileMustExist: true });
        try {
          const rows = (conn.prepare(CHAIN_ROWS).all(chatId) as (ChainRow & { at: string })[]).map((r) => ({
            ...r,
            at: new Date(`${r.at.replace(' ', 'T')}Z`),
          }));
          const head = conn.prepare('SELECT chain_head FROM chats WHERE id = ?').get(chatId) as { chain_head: string | null } | undefined;
          return Promise.resolve(firstBreak(rows, head?.chain_head ?? null));
        } finally {
          conn.close();
        }
      },
    };
  });

  // Replays and surveys run the random property alone.
  const fixed = sequencesFor(faults);
  if (fixed.length > 0) it.each(fixed)('fixed sequence: %s', async (_name, seq) => runSequence(world, faults, seq), 90_000);

  it('every delivered file matches the model, through kill -9', () => property(world, faults, 'sqlite'), suiteTimeout);
});
