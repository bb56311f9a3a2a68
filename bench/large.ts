import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, token } from '../test/support/app';
import { SshdHandle } from '../test/support/sshd';
import { MEASURE_CHUNK_CHARS } from '../src/transcript/recording-renderer';
import { renderTranscriptStream, TranscriptEntry } from '../src/transcript/transcript-renderer';
import { call, fmt, log, rssKb, sftpBatch, sleep } from './common';
import { setUpDeliveryCompany } from './delivery';
import { createPairs } from './relay';
import { runRelayLoad } from './relay-load';
import { keep, record } from './results';

// The renderer alone, in process, on the same entries, as delivery renders them (the streaming
// form in the measuring pass's chunks): how fast a file can be produced at all.
async function renderAloneMBs(count: number, body: string): Promise<number> {
  const entries: TranscriptEntry[] = [];
  for (let i = 0; i < count; i++)
    entries.push({
      type: 'message',
      seq: i + 1,
      at: new Date(1_800_000_000_000 + i * 1000),
      role: i % 2 ? 'agent' : 'customer',
      name: i % 2 ? 'Bob' : 'Alice',
      text: body,
    });
  const at = new Date();
  const header = {
    chatId: 'bench',
    externalId: null,
    companyId: 'bench',
    service: 'bench',
    timeZone: 'UTC',
    recording: { id: 'r', name: 'flat', label: null, kind: 'flow' as const, startedAt: at, endedAt: at },
    agents: [],
    customer: { id: null, name: null },
    chatStartedAt: at,
    chatEndedAt: at,
  };
  const r0 = performance.now();
  let bytes = 0;
  for await (const chunk of renderTranscriptStream('text', header, entries, MEASURE_CHUNK_CHARS)) bytes += chunk.length;
  return bytes / 1e6 / ((performance.now() - r0) / 1000);
}

// Issue 14 item 3: a chat of ~30 MB ends; its file is timed from the end to its arrival and set
// against `sftp -b put` of the same file. Meanwhile the service's RSS is sampled and a light relay
// load (other chats, closed loop) measures their ack latency.
export async function benchLarge(app: AppHandle, sshd: SshdHandle, keyFile: string, megabytes: number, otherChats: number): Promise<void> {
  const company = 'bench-delivery';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  await setUpDeliveryCompany(app, sshd, company, '{{chatId}}');
  const body = 'y'.repeat(9_950);
  const count = Math.ceil((megabytes * 1_000_000) / 10_000);
  const renderMBs = await renderAloneMBs(count, body);

  log(`large: a chat of ${count} messages of 10,000 characters (~${megabytes} MB)`);
  const c = await call<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench-large' });
  const chatId = c.chatId;
  await call(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'flat' });
  let k = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (k < count) {
        const i = k++;
        await call(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: `${i} ${body}` });
      }
    }),
  );
  const pairs = await createPairs(app, 'bench-large-others', otherChats);
  const file = join(sshd.localDir, `${chatId}.txt`);
  let ended = 0;
  let seconds = NaN;
  const pid = app.pid();
  let rssBefore = NaN;
  let rssMax = NaN;
  let sampler: NodeJS.Timeout | undefined;
  // The chat ends once the other chats' loops have warmed up; the load measures until the file is there.
  const delivered = (async () => {
    await sleep(1500);
    rssBefore = rssKb(pid);
    rssMax = rssBefore;
    sampler = setInterval(() => (rssMax = Math.max(rssMax, rssKb(pid))), 10);
    ended = performance.now();
    await call(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow);
    const deadline = Date.now() + 120_000;
    while (!existsSync(file) && Date.now() < deadline) await sleep(5);
    seconds = (performance.now() - ended) / 1000;
    clearInterval(sampler);
  })();
  const others = await runRelayLoad(app.url, pairs, { seconds: 150, warmupSeconds: 1, join: true, until: delivered });
  await delivered;
  const bytes = existsSync(file) ? statSync(file).size : 0;
  const e2eMBs = bytes / 1e6 / seconds;

  const local = mkdtempSync(join(tmpdir(), 'bench-large-'));
  const copy = join(local, 'large.txt');
  copyFileSync(file, copy);
  const sftpMBs = bytes / 1e6 / sftpBatch(sshd, keyFile, [copy], `${sshd.remoteDir}/sftp-large`);
  rmSync(local, { recursive: true, force: true });
  const growthMb = (rssMax - rssBefore) / 1024;
  const mb = bytes / 1024 / 1024;
  keep('large', {
    bytes,
    renderMBs,
    endToEndMBs: e2eMBs,
    endToEndSeconds: seconds,
    sftpBatchMBs: sftpMBs,
    rssBeforeMb: rssBefore / 1024,
    rssMaxMb: rssMax / 1024,
    others,
  });
  const size = `${fmt(bytes / 1e6, 0)} MB`;
  record({
    row: `large transcript ${size}: chat end -> file, MB/s`,
    service: e2eMBs,
    ceiling: sftpMBs,
    ceilingName: '(sftp -b put)',
    digits: 0,
    target: '>= 100%',
    met: (m) => m.ratio >= 1,
    note: `render alone ${fmt(renderMBs, 0)} MB/s; ${fmt(seconds, 2)} s`,
  });
  record({
    row: `large transcript ${size}: RSS growth while delivering, MB`,
    service: growthMb,
    ceiling: 2 * mb,
    ceilingName: '(2x file)',
    digits: 0,
    target: '< 2x file',
    met: (m) => m.service < m.ceiling,
    note: `RSS ${fmt(rssBefore / 1024, 0)} -> ${fmt(rssMax / 1024, 0)} MB`,
  });
  record({
    row: `large transcript ${size}: ${otherChats} other chats' ack p99 meanwhile, ms`,
    service: others.p99,
    digits: 0,
    target: '< 200',
    met: (m) => m.service < 200,
    note: `${others.acked} acks, p50 ${fmt(others.p50)} ms, ${others.errors} errors`,
  });
}
