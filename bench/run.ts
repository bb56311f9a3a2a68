import { execFileSync, spawn } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, freePort, http, migrate, ROOT, startApp, token } from '../test/support/app';
import { sftpTargetBody } from '../test/support/chat-driver';
import { createTestDatabase, TestDatabase } from '../test/support/database';
import { SshdHandle, startSshd } from '../test/support/sshd';
import { renderTranscript, TranscriptEntry } from '../src/transcript/transcript-renderer';
import { percentile, RelayPair, runRelayLoad } from './relay-load';

// npm run bench [-- --json out.json] [--quick]
// Measures the service against ceilings of its own parts measured in the same run on the same
// machine: a bare socket.io server, OpenSSH's `sftp -b`, and the bare socket.io server's memory.
// Everything is on loopback; every loop is bounded in count and time.
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const quick = args.includes('--quick');
// --profile DIR: the service writes a V8 CPU profile there (node --cpu-prof), to see what bounds it.
const profileDir = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : null;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

interface Row {
  bench: string;
  service: string;
  ceiling: string;
  ratio: string;
  target: string;
  met: boolean;
  note?: string;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {};
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

const BENCH_ENV = {
  LOG_LEVEL: 'warn',
  DELIVERY_POLL_MS: '500',

  RATE_LIMIT_SOCKET_PER_SECOND: '100000',
  RATE_LIMIT_TOKEN_PER_SECOND: '100000',
  RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '100000',
};
const NODE_ARGS = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

async function startBare(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'bare-server.js'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('bare server did not start')), 10_000);
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
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

// --- relay -------------------------------------------------------------------------------------

async function benchRelay(app: AppHandle, chats: number, seconds: number): Promise<void> {
  const company = 'bench-relay';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const pairs: RelayPair[] = [];
  for (let i = 0; i < chats; i++) {
    const c = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench' });
    await http(app, 'POST', `/v1/flow/chats/${c.body.chatId}/assign`, flow, { agentId: `agent-${i}` });
    pairs.push({
      chatId: c.body.chatId,
      customerAuth: { token: c.body.customerToken },
      agentAuth: { token: token({ sub: `agent-${i}`, company, role: 'agent', name: `Agent ${i}` }) },
    });
  }
  log(`relay: ${chats} chats through the service for ${seconds}s`);
  const before = await counters(app);
  const svc = await runRelayLoad(app.url, pairs, {
    seconds,
    warmupSeconds: 2,
    beforeSend: async (agent, pair) => {
      const r = (await agent.timeout(10_000).emitWithAck('chat.join', { chatId: pair.chatId })) as { ok: boolean };
      if (!r.ok) throw new Error('join failed');
    },
  });
  const after = await counters(app);
  const perCommit = (after.messages - before.messages) / Math.max(1, after.commits - before.commits);
  log(`relay: ${fmt(perCommit)} messages per commit on average`);
  const bare = await startBare();
  log(`relay: the same load against a bare socket.io server`);
  const barePairs = pairs.map((p) => ({ chatId: p.chatId, customerAuth: { chatId: p.chatId }, agentAuth: { chatId: p.chatId } }));
  const base = await runRelayLoad(bare.url, barePairs, { seconds, warmupSeconds: 2 });
  await bare.stop();
  const ratio = svc.perSecond / base.perSecond;
  results.relay = { chats, service: svc, bareSocketIo: base, ratio, messagesPerCommit: perCommit };
  rows.push({
    bench: `relay, ${chats} chats: acked msg/s`,
    service: fmt(svc.perSecond, 0),
    ceiling: `${fmt(base.perSecond, 0)} (bare socket.io)`,
    ratio: fmt(ratio * 100, 0) + '%',
    target: '>= 50%',
    met: ratio >= 0.5,
    note: ratio >= 0.5 ? undefined : `short by ${fmt((0.5 - ratio) * 100, 0)} points`,
  });
  rows.push({
    bench: `relay, ${chats} chats: ack p50 / p99 ms`,
    service: `${fmt(svc.p50)} / ${fmt(svc.p99)}`,
    ceiling: `${fmt(base.p50)} / ${fmt(base.p99)}`,
    ratio: '',
    target: 'p99 < 50',
    met: svc.p99 < 50,
    note: svc.p99 < 50 ? undefined : `over by ${fmt(svc.p99 - 50)} ms`,
  });
}

async function counters(app: AppHandle): Promise<{ messages: number; commits: number }> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  // The messages-per-commit histogram: its sum counts messages, its count commits.
  return { messages: read('webchat_messages_per_commit_sum'), commits: read('webchat_messages_per_commit_count') };
}

// --- delivery ----------------------------------------------------------------------------------

async function prepareChats(app: AppHandle, company: string, n: number, texts: string[]): Promise<string[]> {
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const ids: string[] = [];
  const lanes = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) {
        next++;
        const c = await http<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench' });
        const chatId = c.body.chatId;
        await http(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'flat' });
        for (const text of texts) await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text });
        ids.push(chatId);
      }
    }),
  );
  return ids;
}

async function endAndWatch(
  app: AppHandle,
  sshd: SshdHandle,
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
  const seen = (name: string) => {
    const id = name.slice(0, -4);
    if (!arrived.has(id) && endedAt.has(id)) arrived.set(id, performance.now() - (endedAt.get(id) as number));
  };
  const watcher = watch(sshd.localDir, (_event, name) => {
    if (name && wanted.has(name) && existsSync(join(sshd.localDir, name))) seen(name);
  });
  const t0 = performance.now();
  if (perSecond) {
    for (const [i, id] of ids.entries()) {
      const due = t0 + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      endedAt.set(id, performance.now());
      void http(app, 'POST', `/v1/flow/chats/${id}/end`, flow);
    }
  } else {
    let k = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (k < ids.length) {
          const id = ids[k++];
          endedAt.set(id, performance.now());
          await http(app, 'POST', `/v1/flow/chats/${id}/end`, flow);
        }
      }),
    );
    const endsDone = performance.now();
    const deliveredByThen = arrived.size;
    log(`delivery: ${ids.length} ends took ${fmt((endsDone - t0) / 1000, 2)} s; ${deliveredByThen} files had arrived by then`);
    const deadline2 = Date.now() + 120_000;
    while (arrived.size < ids.length && Date.now() < deadline2) await sleep(5);
    const drain = (performance.now() - endsDone) / 1000;
    if (ids.length > deliveredByThen)
      log(
        `delivery: the remaining ${ids.length - deliveredByThen} files took ${fmt(drain, 2)} s more (${fmt((ids.length - deliveredByThen) / drain, 0)} files/s with no chat ends competing)`,
      );
  }
  const deadline = Date.now() + 120_000;
  while (arrived.size < ids.length && Date.now() < deadline) await sleep(20);
  watcher.close();
  const seconds = (Math.max(...[...arrived.values()].map((v, i) => v + (endedAt.get([...arrived.keys()][i]) as number))) - t0) / 1000;
  if (arrived.size < ids.length) log(`delivery: only ${arrived.size} of ${ids.length} arrived in time`);
  return { latencies: [...arrived.values()].sort((a, b) => a - b), seconds };
}

function sftpBatch(sshd: SshdHandle, keyFile: string, files: string[], remoteDir: string): number {
  const batch = join(mkdtempSync(join(tmpdir(), 'sftpb-')), 'batch');
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
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    },
  );
  return (performance.now() - t0) / 1000;
}

async function benchDelivery(app: AppHandle, sshd: SshdHandle, keyFile: string, paced: number, burst: number): Promise<void> {
  const company = 'bench-delivery';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd));
  await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'flat', filenameTemplate: '{{chatId}}', format: 'text' });
  const texts = [
    'Hello, I would like to change my delivery address.',
    'Of course, what is the new address?',
    '12 Example Street, Springfield',
    'Done: anything else?',
  ];

  log(`delivery: ${paced} chat ends at 50/s`);
  const pacedIds = await prepareChats(app, company, paced, texts);
  const pacedRun = await endAndWatch(app, sshd, company, pacedIds, 50);
  log(`delivery: ${burst} chat ends as fast as possible`);
  const burstIds = await prepareChats(app, company, burst, texts);
  const burstRun = await endAndWatch(app, sshd, company, burstIds, null);
  const filesPerSecond = burstRun.latencies.length / burstRun.seconds;

  // The ceiling: OpenSSH's sftp uploading the same files over one connection.
  const local = mkdtempSync(join(tmpdir(), 'bench-files-'));
  const copies = burstIds.map((id) => {
    const dst = join(local, `${id}.txt`);
    copyFileSync(join(sshd.localDir, `${id}.txt`), dst);
    return dst;
  });
  log(`delivery: sftp -b uploading the same ${copies.length} files`);
  const sftpSeconds = sftpBatch(sshd, keyFile, copies, `${sshd.remoteDir}/sftp-b`);
  const sftpRate = copies.length / sftpSeconds;
  rmSync(local, { recursive: true, force: true });

  const p50 = percentile(pacedRun.latencies, 50);
  const p99 = percentile(pacedRun.latencies, 99);
  results.delivery = {
    paced: { chats: paced, perSecond: 50, p50, p99 },
    burst: { chats: burst, filesPerSecond, seconds: burstRun.seconds },
    sftpBatch: { files: copies.length, filesPerSecond: sftpRate },
  };
  rows.push({
    bench: `delivery, ${burst} chat ends: files/s`,
    service: fmt(filesPerSecond, 0),
    ceiling: `${fmt(sftpRate, 0)} (sftp -b)`,
    ratio: fmt((filesPerSecond / sftpRate) * 100, 0) + '%',
    target: '>= 100%',
    met: filesPerSecond >= sftpRate,
    note: filesPerSecond >= sftpRate ? undefined : `short by ${fmt(sftpRate - filesPerSecond, 0)} files/s`,
  });
  rows.push({
    bench: `delivery at 50 ends/s: end -> file p50 / p99 ms`,
    service: `${fmt(p50, 0)} / ${fmt(p99, 0)}`,
    ceiling: '',
    ratio: '',
    target: 'p99 < 1000',
    met: p99 < 1000,
    note: p99 < 1000 ? undefined : `over by ${fmt(p99 - 1000, 0)} ms`,
  });
}

// The outbox alone: chats are ended on an instance whose worker is off, then a worker instance
// starts and drains them, with nothing else running in the service.
async function benchDrain(databaseUrl: string, sshd: SshdHandle, keyFile: string, n: number): Promise<void> {
  const company = 'bench-drain';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const api = await startApp({ databaseUrl, env: { ...BENCH_ENV, DELIVERY_WORKER: 'false' } });
  let worker: AppHandle | null = null;
  try {
    await http(api, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd));
    await http(api, 'POST', '/v1/admin/profiles', admin, { name: 'flat', filenameTemplate: 'drain/{{chatId}}', format: 'text' });
    log(`drain: ${n} chats ended with no worker running`);
    const ids = await prepareChats(api, company, n, [
      'Hello, I would like to change my delivery address.',
      'Of course, what is the new address?',
      '12 Example Street',
      'Done',
    ]);
    const flow = token({ sub: 'flow', company, role: 'flow' });
    let k = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (k < ids.length) await http(api, 'POST', `/v1/flow/chats/${ids[k++]}/end`, flow);
      }),
    );
    const dir = join(sshd.localDir, 'drain');
    const count = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.txt')).length : 0);
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
    const launched = startApp({ databaseUrl, env: BENCH_ENV, nodeArgs: NODE_ARGS });
    const deadline = Date.now() + 120_000;
    while (count() < n && Date.now() < deadline) await sleep(50);
    watcher.close();
    const seconds = (last - first) / 1000;
    worker = await launched;
    if (count() < n) log(`drain: only ${count()} of ${n} arrived; the worker said:\n${worker.logs().split('\n').slice(-15).join('\n')}`);
    const local = mkdtempSync(join(tmpdir(), 'bench-drain-'));
    const copies = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => {
        copyFileSync(join(dir, f), join(local, f));
        return join(local, f);
      });
    const sftpRate = copies.length / sftpBatch(sshd, keyFile, copies, `${sshd.remoteDir}/sftp-drain`);
    rmSync(local, { recursive: true, force: true });
    const rate = (count() - 1) / seconds;
    results.drain = { files: count(), seconds, filesPerSecond: rate, sftpBatchFilesPerSecond: sftpRate };
    rows.push({
      bench: `delivery, outbox of ${n} drained by one instance: files/s`,
      service: fmt(rate, 0),
      ceiling: `${fmt(sftpRate, 0)} (sftp -b)`,
      ratio: fmt((rate / sftpRate) * 100, 0) + '%',
      target: '>= 100%',
      met: rate >= sftpRate,
      note: rate >= sftpRate ? undefined : `short by ${fmt(sftpRate - rate, 0)} files/s`,
    });
  } finally {
    for (const x of [api, worker]) {
      if (!x) continue;
      await x.stop();
      cleanupDir(x.workDir);
    }
  }
}

// --- a large transcript ------------------------------------------------------------------------

async function benchLarge(app: AppHandle, sshd: SshdHandle, keyFile: string, megabytes: number): Promise<void> {
  const company = 'bench-delivery';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  // Render alone, in process.
  const entries: TranscriptEntry[] = [];
  const body = 'y'.repeat(9_950);
  const count = Math.ceil((megabytes * 1_000_000) / 10_000);
  for (let i = 0; i < count; i++)
    entries.push({
      type: 'message',
      seq: i + 1,
      at: new Date(1_800_000_000_000 + i * 1000),
      role: i % 2 ? 'agent' : 'customer',
      name: i % 2 ? 'Bob' : 'Alice',
      text: body,
    });
  const input = {
    chatId: 'bench',
    externalId: null,
    companyId: company,
    service: 'bench',
    timeZone: 'UTC',
    recording: { id: 'r', name: 'flat', label: null, kind: 'flow' as const, startedAt: new Date(), endedAt: new Date() },
    agents: [],
    customer: { id: null, name: null },
    chatStartedAt: new Date(),
    chatEndedAt: new Date(),
    entries,
  };
  const r0 = performance.now();
  const rendered = renderTranscript('text', input);
  const renderMBs = rendered.length / 1e6 / ((performance.now() - r0) / 1000);

  // End to end: the chat's messages stored, the chat ended, the file on the server.
  log(`large: a chat of ${count} messages of 10,000 characters (~${megabytes} MB)`);
  const c = await http<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench-large' });
  const chatId = c.body.chatId;
  await http(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'flat' });
  let k = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (k < count) {
        const i = k++;
        await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: `${i} ${body}` });
      }
    }),
  );
  const t0 = performance.now();
  await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow);
  const file = join(sshd.localDir, `${chatId}.txt`);
  const deadline = Date.now() + 120_000;
  while (!existsSync(file) && Date.now() < deadline) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  const bytes = existsSync(file) ? statSync(file).size : 0;
  const e2eMBs = bytes / 1e6 / seconds;

  const local = mkdtempSync(join(tmpdir(), 'bench-large-'));
  const copy = join(local, 'large.txt');
  copyFileSync(file, copy);
  const sftpSeconds = sftpBatch(sshd, keyFile, [copy], `${sshd.remoteDir}/sftp-large`);
  rmSync(local, { recursive: true, force: true });
  const sftpMBs = bytes / 1e6 / sftpSeconds;
  results.large = { bytes, renderMBs, endToEndMBs: e2eMBs, endToEndSeconds: seconds, sftpBatchMBs: sftpMBs };
  rows.push({
    bench: `large transcript ${fmt(bytes / 1e6, 0)} MB: chat end -> file, MB/s`,
    service: fmt(e2eMBs, 0),
    ceiling: `${fmt(sftpMBs, 0)} (sftp -b put)`,
    ratio: fmt((e2eMBs / sftpMBs) * 100, 0) + '%',
    target: '>= 50 MB/s',
    met: e2eMBs >= 50,
    note: e2eMBs >= 50 ? `render alone ${fmt(renderMBs, 0)} MB/s` : `short by ${fmt(50 - e2eMBs, 0)} MB/s; render alone ${fmt(renderMBs, 0)} MB/s`,
  });
}

// --- a big chat with several recordings, while other chats talk --------------------------------

// Issue 9 item 17: a chat of 3,000 messages of 10,000 characters with five html flow recordings and
// the agent recording. While its six files are rendered and uploaded, other chats keep sending
// (closed loop) and /health is polled: their ack p99 and the service's RSS growth are reported.
function openSocket(url: string, ns: '/agent' | '/customer', auth: Record<string, unknown>): Promise<Socket> {
  const s = io(`${url}${ns}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise<Socket>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`connect to ${ns} timed out`)), 30_000);
    s.once('connect', () => {
      clearTimeout(t);
      res(s);
    });
    s.once('connect_error', (e) => {
      clearTimeout(t);
      rej(e);
    });
  });
}

async function benchBigChat(app: AppHandle, sshd: SshdHandle, messages: number, otherChats: number): Promise<void> {
  const company = 'bench-bigchat';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });
  await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd));
  await http(app, 'PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate: 'big/agent/{{chatId}}', format: 'text' });
  await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'bightml', filenameTemplate: 'big/{{label}}/{{chatId}}', format: 'html' });

  const c = await http<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench-big' });
  const chatId = c.body.chatId;
  const agentAuth = { token: token({ sub: 'big-agent', company, role: 'agent', name: 'Big Agent' }) };
  await http(app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'big-agent' });
  const agent = await openSocket(app.url, '/agent', agentAuth);
  await new Promise<void>((res) => agent.emit('chat.join', { chatId }, () => res()));
  for (let i = 1; i <= 5; i++) await http(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'bightml', label: `flow${i}` });
  log(`bigchat: storing ${messages} messages of 10,000 characters`);
  // Ordinary prose with the odd character that HTML escapes or UTF-8 widens.
  const body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. Ça coûte 5 € & plus. '.repeat(130).slice(0, 9_990);
  let k = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (k < messages) {
        const i = k++;
        await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: `${i} ${body}`.slice(0, 10_000) });
      }
    }),
  );

  // The other chats, each with its customer connected and talking in a closed loop.
  const others: Socket[] = [];
  for (let i = 0; i < otherChats; i++) {
    const o = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench-other' });
    others.push(await openSocket(app.url, '/customer', { token: o.body.customerToken }));
  }
  // An object, so that the loops below see the changes (TypeScript narrows a plain local).
  const state: { phase: 'warm' | 'measure' | 'stop' } = { phase: 'warm' };
  const acks: number[] = [];
  const warmAcks: number[] = [];
  const healths: number[] = [];
  const loops = others.map(async (s, n) => {
    for (let i = 0; i < 1_000_000 && state.phase !== 'stop'; i++) {
      const t = performance.now();
      await new Promise<void>((res) => s.emit('message', { clientMsgId: `b${n}-${i}`, text: `other ${i}` }, () => res()));
      if (state.phase === 'measure') acks.push(performance.now() - t);
      else if (state.phase === 'warm') warmAcks.push(performance.now() - t);
    }
  });
  const health = (async () => {
    for (let i = 0; i < 100_000 && state.phase !== 'stop'; i++) {
      const t = performance.now();
      await fetch(`${app.url}/health`).then((r) => r.arrayBuffer());
      if (state.phase === 'measure') healths.push(performance.now() - t);
      await sleep(20);
    }
  })();
  // The same load without the big delivery first: the baseline p99 on this machine.
  await sleep(3000);

  const pid = app.pid();
  const rssBefore = rssKb(pid);
  let rssMax = rssBefore;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssKb(pid))), 20);
  const dir = join(sshd.localDir, 'big');
  const expected = [`agent/${chatId}.txt`, ...[1, 2, 3, 4, 5].map((i) => `flow${i}/${chatId}.html`)];
  const t0 = performance.now();
  state.phase = 'measure';
  await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow);
  const deadline = Date.now() + 300_000;
  while (!expected.every((f) => existsSync(join(dir, f))) && Date.now() < deadline) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  state.phase = 'stop';
  clearInterval(sampler);
  await Promise.all([...loops, health]);
  agent.close();
  for (const s of others) s.close();

  const sizes = expected.map((f) => (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0));
  const largest = Math.max(...sizes);
  const total = sizes.reduce((a, b) => a + b, 0);
  const growthMb = (rssMax - rssBefore) / 1024;
  const sorted = [...acks].sort((a, b) => a - b);
  const p99 = percentile(sorted, 99);
  const warmP99 = percentile(
    [...warmAcks].sort((a, b) => a - b),
    99,
  );
  const healthMax = healths.length ? Math.max(...healths) : NaN;
  const arrived = sizes.filter((n) => n > 0).length;
  results.bigChat = {
    messages,
    otherChats,
    seconds,
    files: arrived,
    totalBytes: total,
    largestBytes: largest,
    ackP99Ms: p99,
    acks: acks.length,
    healthMaxMs: healthMax,
    rssBeforeMb: rssBefore / 1024,
    rssMaxMb: rssMax / 1024,
  };
  rows.push({
    bench: `big chat ${messages} x 10k chars, 6 recordings (${fmt(total / 1e6, 0)} MB): other chats' ack p99 during delivery, ms`,
    service: fmt(p99, 0),
    ceiling: `${fmt(warmP99, 0)} (same load, no delivery)`,
    ratio: '-',
    target: '< 200 ms',
    met: p99 < 200 && arrived === expected.length,
    note: `${acks.length} acks from ${otherChats} chats; /health max ${fmt(healthMax, 0)} ms; ${arrived}/6 files in ${fmt(seconds, 1)} s`,
  });
  rows.push({
    bench: `big chat: RSS growth during delivery vs largest file (${fmt(largest / 1e6, 1)} MB), MB`,
    service: fmt(growthMb, 0),
    ceiling: `${fmt((2 * largest) / 1024 / 1024, 0)} (2x largest file)`,
    ratio: fmt((growthMb / ((2 * largest) / 1024 / 1024)) * 100, 0) + '%',
    target: '< 2x largest file',
    met: growthMb < (2 * largest) / 1024 / 1024,
    note: `RSS ${fmt(rssBefore / 1024, 0)} -> ${fmt(rssMax / 1024, 0)} MB`,
  });
}

// --- memory per idle socket --------------------------------------------------------------------

async function connectMany(url: string, n: number, auth: (i: number) => Record<string, unknown>): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 250;
  for (let i = 0; i < n; i += batch) {
    const part = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) => {
        const s = io(`${url}/agent`, { auth: auth(i + j), transports: ['websocket'], reconnection: false, forceNew: true });
        return new Promise<Socket>((res, rej) => {
          const t = setTimeout(() => rej(new Error('connect timed out')), 30_000);
          s.once('connect', () => {
            clearTimeout(t);
            res(s);
          });
          s.once('connect_error', (e) => {
            clearTimeout(t);
            rej(e);
          });
        });
      }),
    );
    sockets.push(...part);
  }
  return sockets;
}

async function perSocketKb(pid: number, url: string, n: number, auth: (i: number) => Record<string, unknown>): Promise<number> {
  // Warm up the code paths so that what is measured is the sockets, not the first use.
  const warm = await connectMany(url, 200, auth);
  warm.forEach((s) => s.close());
  await sleep(1500);
  const before = rssKb(pid);
  const sockets = await connectMany(url, n, (i) => auth(i + 1000));
  await sleep(3000);
  const after = rssKb(pid);
  sockets.forEach((s) => s.close());
  return (after - before) / n;
}

async function benchMemory(databaseUrl: string, n: number): Promise<void> {
  log(`memory: ${n} idle sockets on a fresh service`);
  const app = await startApp({ databaseUrl, env: BENCH_ENV });
  const company = 'bench-memory';
  const svc = await perSocketKb(app.pid(), app.url, n, (i) => ({ token: token({ sub: `idle-${i}`, company, role: 'agent' }) }));
  await app.stop();
  cleanupDir(app.workDir);
  const bare = await startBare();
  const base = await perSocketKb(bare.pid, bare.url, n, (i) => ({ chatId: `idle-${i}` }));
  await bare.stop();
  results.memory = { sockets: n, serviceKbPerSocket: svc, bareKbPerSocket: base };
  rows.push({
    bench: `memory: RSS per idle socket at ${n}, KB`,
    service: fmt(svc, 1),
    ceiling: `${fmt(base, 1)} (bare socket.io)`,
    ratio: fmt((svc / base) * 100, 0) + '%',
    target: '< 50 KB',
    met: svc < 50,
    note: svc < 50 ? undefined : `over by ${fmt(svc - 50, 1)} KB`,
  });
}

// --- main --------------------------------------------------------------------------------------

function printTable(): void {
  const header: Row = { bench: 'bench', service: 'service', ceiling: 'ceiling (same run)', ratio: 'ratio', target: 'target', met: true, note: 'note' };
  const all = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => String(r[k] ?? '').length));
  const cols: (keyof Row)[] = ['bench', 'service', 'ceiling', 'ratio', 'target'];
  const line = (r: Row, isHeader = false) =>
    '| ' + cols.map((c) => String(r[c]).padEnd(w(c))).join(' | ') + ` | ${isHeader ? 'met' : r.met ? 'yes' : 'NO '} | ${r.note ?? ''}`;
  console.log(line(header, true));
  console.log('|' + cols.map((c) => '-'.repeat(w(c) + 2)).join('|') + '|-----|------');
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const chats = quick ? 50 : 200;
  const seconds = quick ? 3 : 8;
  let db: TestDatabase | null = null;
  let sshd: SshdHandle | null = null;
  let app: AppHandle | null = null;
  const keyDir = mkdtempSync(join(tmpdir(), 'bench-key-'));
  try {
    db = await createTestDatabase('bench');
    await migrate(db.url);
    sshd = await startSshd();
    const keyFile = join(keyDir, 'id');
    writeFileSync(keyFile, sshd.privateKey, { mode: 0o600 });
    mkdirSync(keyDir, { recursive: true });
    app = await startApp({ databaseUrl: db.url, env: BENCH_ENV, nodeArgs: NODE_ARGS });
    const want = (name: string) => !only || only.includes(name);
    if (want('relay')) await benchRelay(app, chats, seconds);
    if (want('delivery') || want('large')) await benchDelivery(app, sshd, keyFile, quick ? 50 : 200, quick ? 100 : 300);
    if (want('large')) await benchLarge(app, sshd, keyFile, quick ? 10 : 30);
    if (want('drain')) await benchDrain(db.url, sshd, keyFile, quick ? 200 : 500);
    if (want('bigchat')) await benchBigChat(app, sshd, quick ? 1000 : 3000, quick ? 10 : 20);
    await app.stop();
    cleanupDir(app.workDir);
    app = null;
    if (want('memory')) await benchMemory(db.url, quick ? 1000 : 5000);
  } finally {
    if (app) {
      await app.stop();
      cleanupDir(app.workDir);
    }
    await sshd?.destroy();
    await db?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  }
  console.log(
    `\nwebchat-recorder bench, ${new Date().toISOString()}, node ${process.version}, ${quick ? 'quick' : 'full'} run, MariaDB with every message durable before its ack\n`,
  );
  printTable();
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ at: new Date().toISOString(), quick, rows, results }, null, 2) + '\n');
    console.log(`\nwrote ${jsonOut}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
