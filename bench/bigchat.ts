import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { io, Socket } from 'socket.io-client';
import { AppHandle, http, token } from '../test/support/app';
import { sftpTargetBody } from '../test/support/chat-driver';
import { SshdHandle } from '../test/support/sshd';
import { fmt, log, rssKb, sleep } from './common';
import { percentile } from './relay-load';
import { keep, record } from './results';

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

export async function benchBigChat(app: AppHandle, sshd: SshdHandle, messages: number, otherChats: number): Promise<void> {
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
  keep('bigChat', {
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
  });
  record({
    row: `big chat ${messages} x 10k chars, 6 recordings: other chats' ack p99 during delivery, ms`,
    service: p99,
    ceiling: warmP99,
    ceilingName: '(same load, no delivery)',
    ratioStyle: 'times',
    digits: 0,
    target: '< 200 ms',
    met: (m) => m.service < 200,
    note: `${fmt(total / 1e6, 0)} MB; ${acks.length} acks from ${otherChats} chats; /health max ${fmt(healthMax, 0)} ms; ${arrived}/6 files in ${fmt(seconds, 1)} s`,
  });
  record({
    row: `big chat: RSS growth during delivery, MB`,
    service: growthMb,
    ceiling: (2 * largest) / 1024 / 1024,
    ceilingName: '(2x largest file)',
    digits: 0,
    target: '< 2x largest file',
    met: (m) => m.service < m.ceiling,
    note: `RSS ${fmt(rssBefore / 1024, 0)} -> ${fmt(rssMax / 1024, 0)} MB`,
  });
}
