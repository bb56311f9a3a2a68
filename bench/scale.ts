import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { AppHandle, cleanupDir, ROOT, startApp } from '../test/support/app';
import { BENCH_ENV, fmt, log, NODE_ARGS, REDIS_URL, rssKb, sleep, startChildServer } from './common';
import { bareAuth, createPairs, recordRelayRows } from './relay';
import { percentile, RelayPair, RelayResult } from './relay-load';
import { keep, record } from './results';

type Urls = { customer: string; agent: string };

// Drives the pairs from `processes` child processes at once (each its share of the chats), started
// together once all are connected; `connected` runs at that moment (e.g. to read the RSS).
async function runSplitLoad(
  urls: Urls,
  pairs: RelayPair[],
  processes: number,
  seconds: number,
  agentsJoin: boolean,
  connected?: () => void,
): Promise<RelayResult> {
  const script = join(ROOT, 'dist', 'bench', 'scale-load.js');
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<RelayResult & { latencies: number[] }>[] = [];
  for (let i = 0; i < processes; i++) {
    const share = pairs.filter((_, k) => k % processes === i);
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    let onReady: () => void = () => undefined;
    ready.push(new Promise<void>((r) => (onReady = r)));
    done.push(
      new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error('load process timed out')), (seconds + 180) * 1000);
        child.on('message', (m: { ready?: boolean; result?: RelayResult & { latencies: number[] }; error?: string }) => {
          if (m.ready) onReady();
          else if (m.result) {
            clearTimeout(t);
            res(m.result);
          } else if (m.error) {
            clearTimeout(t);
            rej(new Error(m.error));
          }
        });
        child.once('exit', (code) => code !== 0 && (clearTimeout(t), rej(new Error(`load process exited with ${code}`))));
      }),
    );
    child.send({ urls, pairs: share, seconds, warmupSeconds: 2, join: agentsJoin });
  }
  try {
    await Promise.race([Promise.all(ready), Promise.all(done)]);
    connected?.();
    children.forEach((c) => c.send({ go: true }));
    const parts = await Promise.all(done);
    const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
    const acked = parts.reduce((s, p) => s + p.acked, 0);
    const secs = Math.max(...parts.map((p) => p.seconds));
    return {
      acked,
      errors: parts.reduce((s, p) => s + p.errors, 0),
      seconds: secs,
      perSecond: acked / secs,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  }
}

// Issue 14 item 4: many concurrent chats from several load processes, against the durable ceiling
// at the same load; the RSS per connected socket; and two instances over Redis (customers on A,
// agents on B) against one instance, in the same run.
export async function benchScale(databaseUrl: string, chats: number, processes: number, seconds: number): Promise<void> {
  const single = await startApp({ databaseUrl, env: BENCH_ENV, nodeArgs: NODE_ARGS });
  let a: AppHandle | null = null;
  let b: AppHandle | null = null;
  try {
    log(`scale: creating ${chats} chats`);
    const pairs = await createPairs(single, 'bench-scale', chats, 16);
    await sleep(1000);
    const rssIdle = rssKb(single.pid());
    let rssConnected = NaN;
    log(`scale: ${chats} chats (${chats * 2} sockets) from ${processes} processes, one instance`);
    const one = await runSplitLoad({ customer: single.url, agent: single.url }, pairs, processes, seconds, true, () => (rssConnected = rssKb(single.pid())));
    await single.stop();
    log(`scale: the durable ceiling at the same load`);
    const durableServer = await startChildServer('durable-server.js', [databaseUrl]);
    const durable = await runSplitLoad({ customer: durableServer.url, agent: durableServer.url }, bareAuth(pairs), processes, seconds, false);
    await durableServer.stop();
    log(`scale: two instances over Redis, customers on A, agents on B`);
    const env = { ...BENCH_ENV, REDIS_URL };
    a = await startApp({ databaseUrl, env, nodeArgs: NODE_ARGS });
    b = await startApp({ databaseUrl, env: { ...env, DELIVERY_WORKER: 'false' }, nodeArgs: NODE_ARGS });
    const pairs2 = await createPairs(a, 'bench-scale-redis', chats, 16);
    const two = await runSplitLoad({ customer: a.url, agent: b.url }, pairs2, processes, seconds, true);
    const perSocketKb = (rssConnected - rssIdle) / (chats * 2);
    keep('scale', {
      chats,
      processes,
      oneInstance: one,
      durable,
      twoInstancesRedis: two,
      rssIdleMb: rssIdle / 1024,
      rssConnectedMb: rssConnected / 1024,
      perSocketKb,
    });
    const label = `scale, ${chats} chats`;
    recordRelayRows(label, one, null, durable);
    record({
      row: `${label}: RSS per connected socket, KB`,
      service: perSocketKb,
      digits: 1,
      target: '< 50',
      met: (m) => m.service < 50,
      note: `RSS ${fmt(rssIdle / 1024, 0)} -> ${fmt(rssConnected / 1024, 0)} MB`,
    });
    record({
      row: `${label}: 2 instances over Redis vs 1, acked msg/s`,
      service: two.perSecond,
      ceiling: one.perSecond,
      ceilingName: '(1 instance)',
      digits: 0,
      target: '(informs)',
      note: `p99 ${fmt(two.p99)} ms vs ${fmt(one.p99)} ms; errors ${two.errors} vs ${one.errors}`,
    });
  } finally {
    for (const x of [single, a, b]) {
      if (!x) continue;
      await x.stop();
      cleanupDir(x.workDir);
    }
  }
}
