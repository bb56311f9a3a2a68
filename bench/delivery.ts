import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, startApp, token } from '../test/support/app';
import { sftpTargetBody } from '../test/support/chat-driver';
import { TestDatabase } from '../test/support/database';
import { SshdHandle } from '../test/support/sshd';
import { BENCH_ENV, call, cpuMs, databasePid, fmt, log, NODE_ARGS, sftpBatch, sleep } from './common';
import { percentile } from './relay-load';
import { keep, record } from './results';

const TEXTS = [
  'Hello, I would like to change my delivery address.',
  'Of course, what is the new address?',
  '12 Example Street, Springfield',
  'Done: anything else?',
];

// Chats with a flat recording and a few flow messages each, not yet ended.
export async function prepareChats(app: AppHandle, company: string, n: number, texts = TEXTS): Promise<string[]> {
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        next++;
        const c = await call<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench' });
        await call(app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'flat' });
        for (const text of texts) await call(app, 'POST', `/v1/flow/chats/${c.chatId}/messages`, flow, { text });
        ids.push(c.chatId);
      }
    }),
  );
  return ids;
}

// What the outbox says about chats whose file did not arrive: a lost delivery is a defect, a late
// one (retry, backoff) is the bench's to wait for.
async function explainMissing(db: TestDatabase, ids: string[]): Promise<string> {
  if (ids.length === 0) return '';
  const rows = await db.query<Record<string, unknown>>(
    `SELECT r.chat_id, r.status, j.state, j.attempts, j.next_attempt_at, j.lease_owner, j.last_error FROM recordings r LEFT JOIN delivery_jobs j ON j.recording_id = r.id WHERE r.chat_id IN (${ids.map(() => '?').join(',')})`,
    ids,
  );
  return rows.map((r) => JSON.stringify(r)).join('\n');
}

async function endAndWatch(
  app: AppHandle,
  sshd: SshdHandle,
  db: TestDatabase,
  company: string,
  ids: string[],
  perSecond: number | null,
): Promise<{ latencies: number[]; seconds: number }> {
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const endedAt = new Map<string, number>();
  const arrived = new Map<string, number>();
  // inotify, not polling: a polling loop over hundreds of names costs a core and starves the
  // service it is measuring.
  const wanted = new Set(ids.map((id) => `${id}.txt`));
  const watcher = watch(sshd.localDir, (_event, name) => {
    if (!name || !wanted.has(name) || !existsSync(join(sshd.localDir, name))) return;
    const id = name.slice(0, -4);
    if (!arrived.has(id) && endedAt.has(id)) arrived.set(id, performance.now());
  });
  const t0 = performance.now();
  const ends: Promise<unknown>[] = [];
  if (perSecond) {
    for (const [i, id] of ids.entries()) {
      const wait = t0 + (i * 1000) / perSecond - performance.now();
      if (wait > 0) await sleep(wait);
      endedAt.set(id, performance.now());
      ends.push(call(app, 'POST', `/v1/flow/chats/${id}/end`, flow));
    }
  } else {
    let k = 0;
    const lanes = Array.from({ length: 16 }, async () => {
      while (k < ids.length) {
        const id = ids[k++];
        endedAt.set(id, performance.now());
        await call(app, 'POST', `/v1/flow/chats/${id}/end`, flow);
      }
    });
    ends.push(...lanes);
  }
  await Promise.all(ends);
  const endsDone = performance.now();
  log(`delivery: ${ids.length} ends took ${fmt((endsDone - t0) / 1000, 2)} s; ${arrived.size} files had arrived by then`);
  const deadline = Date.now() + 120_000;
  while (arrived.size < ids.length && Date.now() < deadline) await sleep(20);
  watcher.close();
  // A file can land between the watcher's events and its close: the folder is the last word.
  for (const id of ids) if (!arrived.has(id) && existsSync(join(sshd.localDir, `${id}.txt`))) arrived.set(id, performance.now());
  if (arrived.size < ids.length) {
    const missing = ids.filter((id) => !arrived.has(id));
    log(`delivery: only ${arrived.size} of ${ids.length} arrived in time; the outbox says:\n${await explainMissing(db, missing)}`);
  }
  const seconds = (Math.max(...arrived.values()) - t0) / 1000;
  const latencies = [...arrived.entries()].map(([id, at]) => at - (endedAt.get(id) as number)).sort((a, b) => a - b);
  return { latencies, seconds };
}

export async function setUpDeliveryCompany(app: AppHandle, sshd: SshdHandle, company: string, template: string): Promise<void> {
  const admin = token({ sub: 'adm', company, role: 'admin' });
  await call(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd));
  const r = await fetch(`${app.url}/v1/admin/profiles/flat`, { headers: { authorization: `Bearer ${admin}` } });
  if (r.status === 404) await call(app, 'POST', '/v1/admin/profiles', admin, { name: 'flat', filenameTemplate: template, format: 'text' });
}

export async function benchDelivery(
  app: AppHandle,
  sshd: SshdHandle,
  db: TestDatabase,
  keyFile: string,
  paced: number,
  burst: number,
  run: number,
): Promise<void> {
  const company = 'bench-delivery';
  await setUpDeliveryCompany(app, sshd, company, '{{chatId}}');
  log(`delivery: ${paced} chat ends at 50/s`);
  const pacedRun = await endAndWatch(app, sshd, db, company, await prepareChats(app, company, paced), 50);
  log(`delivery: ${burst} chat ends as fast as possible`);
  const burstIds = await prepareChats(app, company, burst);
  const burstRun = await endAndWatch(app, sshd, db, company, burstIds, null);
  const filesPerSecond = burstRun.latencies.length / burstRun.seconds;

  const local = mkdtempSync(join(tmpdir(), 'bench-files-'));
  const copies = burstIds.map((id) => {
    const dst = join(local, `${id}.txt`);
    copyFileSync(join(sshd.localDir, `${id}.txt`), dst);
    return dst;
  });
  log(`delivery: sftp -b uploading the same ${copies.length} files`);
  const sftpRate = copies.length / sftpBatch(sshd, keyFile, copies, `${sshd.remoteDir}/sftp-b-${run}`);
  rmSync(local, { recursive: true, force: true });

  const p50 = percentile(pacedRun.latencies, 50);
  const p99 = percentile(pacedRun.latencies, 99);
  keep('delivery', {
    paced: { chats: paced, perSecond: 50, p50, p99 },
    burst: { chats: burst, filesPerSecond, seconds: burstRun.seconds },
    sftpBatch: { files: copies.length, filesPerSecond: sftpRate },
  });
  record({
    row: `delivery, ${burst} chat ends as fast as possible: files/s`,
    service: filesPerSecond,
    ceiling: sftpRate,
    ceilingName: '(sftp -b)',
    digits: 0,
    target: '>= 50%',
    met: (m) => m.ratio >= 0.5,
  });
  record({
    row: `delivery at 50 ends/s: end -> file p99 ms`,
    service: p99,
    digits: 0,
    target: '< 1000',
    met: (m) => m.service < 1000,
    note: `p50 ${fmt(p50, 0)} ms`,
  });
}

// The outbox alone: chats are ended on an instance whose worker is off, then a worker instance
// starts and drains them, with nothing else running in the service.
export async function benchDrain(db: TestDatabase, sshd: SshdHandle, keyFile: string, n: number, run: number): Promise<void> {
  const company = `bench-drain-${run}`;
  const folder = `drain-${run}`;
  const api = await startApp({ databaseUrl: db.url, env: { ...BENCH_ENV, DELIVERY_WORKER: 'false' }, nodeArgs: NODE_ARGS });
  let worker: AppHandle | null = null;
  try {
    await setUpDeliveryCompany(api, sshd, company, `${folder}/{{chatId}}`);
    log(`drain: ${n} chats ended with no worker running`);
    const ids = await prepareChats(api, company, n);
    const flow = token({ sub: 'flow', company, role: 'flow' });
    let k = 0;
    // The ends alone (no worker in this instance): their CPU time, the service's and MariaDB's.
    const dbPid = databasePid();
    const before = { service: cpuMs(api.pid()), database: cpuMs(dbPid), at: performance.now() };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (k < ids.length) await call(api, 'POST', `/v1/flow/chats/${ids[k++]}/end`, flow);
      }),
    );
    const endCpu = {
      service: (cpuMs(api.pid()) - before.service) / n,
      database: (cpuMs(dbPid) - before.database) / n,
      seconds: (performance.now() - before.at) / 1000,
    };
    log(`drain: ${n} ends took ${fmt(endCpu.seconds, 2)} s, ${fmt(endCpu.service, 2)} ms of service CPU each`);
    const dir = join(sshd.localDir, folder);
    const files = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.txt') && !f.startsWith('.')) : []);
    // The folder exists (owned like the upload folder) so that inotify can watch it from the start.
    mkdirSync(dir, { recursive: true });
    const owner = statSync(sshd.localDir);
    chownSync(dir, owner.uid, owner.gid);
    // Timed from the first file to the last, so that the worker's start is not counted.
    let first = 0;
    let last = 0;
    const watcher = watch(dir, (_e, name) => {
      if (!name || !name.endsWith('.txt') || name.startsWith('.')) return;
      const now = performance.now();
      if (first === 0) first = now;
      last = now;
    });
    // CPU time is counted from the worker's readiness (its start-up left out) to the end, for the
    // files delivered meanwhile: steadier than throughput on a machine shared with other load.
    let atReady = { worker: NaN, database: NaN, files: 0 };
    const launched = startApp({ databaseUrl: db.url, env: BENCH_ENV, nodeArgs: NODE_ARGS }).then((h) => {
      atReady = { worker: cpuMs(h.pid()), database: cpuMs(dbPid), files: files().length };
      return h;
    });
    const deadline = Date.now() + 120_000;
    while (files().length < n && Date.now() < deadline) await sleep(50);
    // The last rename's event may still be queued: let the watcher see it before closing it.
    await sleep(100);
    watcher.close();
    const seconds = (last - first) / 1000;
    worker = await launched;
    const got = files();
    const counted = got.length - atReady.files;
    const cpuPerFile = {
      worker: counted > 0 ? (cpuMs(worker.pid()) - atReady.worker) / counted : NaN,
      database: counted > 0 ? (cpuMs(dbPid) - atReady.database) / counted : NaN,
    };
    if (got.length < n) {
      const have = new Set(got.map((f) => f.slice(0, -4)));
      log(
        `drain: only ${got.length} of ${n} arrived; the outbox says:\n${await explainMissing(
          db,
          ids.filter((id) => !have.has(id)),
        )}`,
      );
      log(`drain: the worker said:\n${worker.logs().split('\n').slice(-15).join('\n')}`);
    }
    const local = mkdtempSync(join(tmpdir(), 'bench-drain-'));
    const copies = got.map((f) => {
      copyFileSync(join(dir, f), join(local, f));
      return join(local, f);
    });
    const sftpRate = copies.length / sftpBatch(sshd, keyFile, copies, `${sshd.remoteDir}/sftp-drain-${run}`);
    rmSync(local, { recursive: true, force: true });
    const rate = (got.length - 1) / seconds;
    keep('drain', { files: got.length, seconds, filesPerSecond: rate, sftpBatchFilesPerSecond: sftpRate, cpuPerFile, cpuCountedFiles: counted, endCpu });
    record({
      row: `delivery, outbox of ${n} drained by one instance: files/s`,
      service: rate,
      ceiling: sftpRate,
      ceilingName: '(sftp -b)',
      digits: 0,
      target: '>= 100%',
      met: (m) => m.ratio >= 1,
    });
    record({
      row: `delivery, outbox of ${n} drained: worker process CPU ms per file`,
      service: cpuPerFile.worker,
      digits: 2,
      target: '(informs)',
      note: `over ${counted} files delivered after the worker was ready`,
    });
    record({ row: `delivery, outbox of ${n} drained: MariaDB CPU ms per file`, service: cpuPerFile.database, digits: 2, target: '(informs)' });
    record({
      row: `chat end (POST .../end, ${n} by 8 clients, no worker): service process CPU ms per end`,
      service: endCpu.service,
      digits: 2,
      target: '(informs)',
      note: `${fmt(n / endCpu.seconds, 0)} ends/s`,
    });
    record({ row: `chat end: MariaDB CPU ms per end`, service: endCpu.database, digits: 2, target: '(informs)' });
    cleanupDir(dir);
  } finally {
    for (const x of [api, worker]) {
      if (!x) continue;
      await x.stop();
      cleanupDir(x.workDir);
    }
  }
}
