import { cleanupDir, migrate, startApp } from '../test/support/app';
import { createTestDatabase } from '../test/support/database';
import { BENCH_ENV, fmt, log, NODE_ARGS } from './common';
import { cpuWindow, createPairs } from './relay';
import { runRelayLoad } from './relay-load';

// The relay alone, without the ceilings: acked msg/s, p99, and the service's and MariaDB's CPU per
// acked message, on a fresh database. For comparing two builds of the service in alternating runs
// (e.g. with and without a change to the message path), where the machine's drift from one run to
// the next is larger than the difference: run each build several times, interleaved, and compare
// the paired ratios. Usage (from each build's folder): node dist/bench/relay-only.js [SECONDS] [CHATS]
async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 8);
  const chats = Number(process.argv[3] ?? 200);
  const db = await createTestDatabase('relay_only');
  try {
    await migrate(db.url);
    const app = await startApp({ databaseUrl: db.url, env: BENCH_ENV, nodeArgs: NODE_ARGS });
    try {
      const pairs = await createPairs(app, 'relay-only', chats);
      log(`relay only: ${chats} chats for ${seconds}s`);
      const cpu = cpuWindow(app.pid());
      const r = await runRelayLoad(app.url, pairs, { seconds, warmupSeconds: 2, join: true, onWindow: cpu.onWindow });
      const c = cpu.perMessage(r.acked);
      process.stdout.write(
        `${JSON.stringify({ chats, seconds, msgPerS: Math.round(r.perSecond), p50: +fmt(r.p50), p99: +fmt(r.p99), errors: r.errors, serverCpuUsPerMsg: +fmt(c.server), databaseCpuUsPerMsg: +fmt(c.database) })}\n`,
      );
    } finally {
      await app.stop();
      cleanupDir(app.workDir);
    }
  } finally {
    await db.drop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
