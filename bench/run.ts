import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, migrate, startApp } from '../test/support/app';
import { createTestDatabase, TestDatabase } from '../test/support/database';
import { SshdHandle, startSshd } from '../test/support/sshd';
import { benchBigChat } from './bigchat';
import { BENCH_ENV, fmt, log, NODE_ARGS, options } from './common';
import { benchDelivery, benchDrain } from './delivery';
import { benchLarge } from './large';
import { benchMemory } from './memory';
import { benchRelay } from './relay';
import { printTable, writeJson } from './results';
import { benchScale } from './scale';

// npm run bench [-- --runs N] [--relay-seconds N] [--quick] [--only relay,delivery,drain,large,scale,bigchat,memory]
//               [--json out.json] [--profile DIR]
// Measures the service against ceilings of its own parts measured in the same run on the same
// machine: a bare socket.io server, the durable ceiling (bare socket.io plus group-committed
// storage in the same MariaDB), OpenSSH's `sftp -b`, and the bare server's memory. With --runs N
// every row is measured N times in this invocation; the table shows medians and spreads.
// Everything is on loopback; every loop is bounded in count and time.
const BENCHES = ['relay', 'delivery', 'large', 'drain', 'scale', 'bigchat', 'memory'];

async function main(): Promise<void> {
  const quick = options.quick;
  const want = (name: string) => (options.only ? options.only.includes(name) : BENCHES.includes(name));
  // One bench that fails (a timeout under load) is reported; the others still run.
  const guarded = async (name: string, fn: () => Promise<void>) => {
    if (!want(name)) return;
    try {
      await fn();
    } catch (err) {
      log(`${name} failed: ${(err as Error)?.stack ?? String(err)}`);
    }
  };
  const startedAt = new Date();
  const loadBefore = loadavg();
  let db: TestDatabase | null = null;
  let sshd: SshdHandle | null = null;
  let app: AppHandle | null = null;
  const keyDir = mkdtempSync(join(tmpdir(), 'bench-key-'));
  try {
    db = await createTestDatabase('bench');
    await migrate(db.url);
    sshd = await startSshd();
    const keyFile = join(keyDir, 'id');
    mkdirSync(keyDir, { recursive: true });
    writeFileSync(keyFile, sshd.privateKey, { mode: 0o600 });
    const database = db;
    const ssh = sshd;
    for (let run = 1; run <= options.runs; run++) {
      log(`run ${run} of ${options.runs}`);
      const service = await startApp({ databaseUrl: database.url, env: BENCH_ENV, nodeArgs: NODE_ARGS });
      app = service;
      await guarded('relay', () => benchRelay(service, database.url, quick ? 50 : 200, quick ? 3 : options.relaySeconds));
      await guarded('delivery', () => benchDelivery(service, ssh, database, keyFile, quick ? 50 : 200, quick ? 100 : 300, run));
      await guarded('large', () => benchLarge(service, ssh, keyFile, quick ? 10 : 30, quick ? 5 : 10));
      await guarded('bigchat', () => benchBigChat(service, ssh, quick ? 1000 : 3000, quick ? 10 : 20));
      await app.stop();
      cleanupDir(app.workDir);
      app = null;
      await guarded('drain', () => benchDrain(database, ssh, keyFile, quick ? 200 : 500, run));
      await guarded('scale', () => benchScale(database.url, quick ? 200 : 2000, quick ? 2 : 4, quick ? 3 : 8));
      await guarded('memory', () => benchMemory(database.url, quick ? 1000 : 5000));
      // So far, on standard error: a long run that is cut short still leaves its figures.
      if (run < options.runs)
        printTable(
          `after run ${run} of ${options.runs}, load average ${loadavg()
            .map((x) => fmt(x, 2))
            .join(' ')}`,
          (l) => process.stderr.write(l + '\n'),
        );
    }
  } finally {
    if (app) {
      await app.stop();
      cleanupDir(app.workDir);
    }
    await sshd?.destroy();
    await db?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();
  const minutes = (Date.now() - startedAt.getTime()) / 60_000;
  const load = (l: number[]) => l.map((x) => fmt(x, 2)).join(' ');
  printTable(
    `webchat-recorder bench, ${startedAt.toISOString()}, node ${process.version}, ${quick ? 'quick' : 'full'} run, ${options.runs} run(s) in ${fmt(minutes, 1)} min, ` +
      `load average ${load(loadBefore)} before, ${load(loadAfter)} after; MariaDB with every message durable before its ack`,
  );
  writeJson({ at: startedAt.toISOString(), quick, runs: options.runs, minutes, loadBefore, loadAfter });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
