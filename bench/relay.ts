import { AppHandle, token } from '../test/support/app';
import { call, cpuMs, databasePid, fmt, log, startChildServer } from './common';
import { RelayPair, RelayResult, runRelayLoad } from './relay-load';
import { keep, record } from './results';

// Chats created and assigned through the flow API, each with its customer and agent credentials.
export async function createPairs(app: AppHandle, company: string, n: number, lanes = 8): Promise<RelayPair[]> {
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const pairs: RelayPair[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) {
        const i = next++;
        const c = await call<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'bench' });
        await call(app, 'POST', `/v1/flow/chats/${c.chatId}/assign`, flow, { agentId: `agent-${i}` });
        pairs.push({
          chatId: c.chatId,
          customerAuth: { token: c.customerToken },
          agentAuth: { token: token({ sub: `agent-${i}`, company, role: 'agent', name: `Agent ${i}` }) },
        });
      }
    }),
  );
  return pairs;
}

// The ceilings' servers take the chat id in the handshake instead of a token.
export const bareAuth = (pairs: RelayPair[]): RelayPair[] =>
  pairs.map((p) => ({ chatId: p.chatId, customerAuth: { chatId: p.chatId }, agentAuth: { chatId: p.chatId } }));

async function counters(app: AppHandle): Promise<{ messages: number; commits: number }> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  // The messages-per-commit histogram: its sum counts messages, its count commits.
  return { messages: read('webchat_messages_per_commit_sum'), commits: read('webchat_messages_per_commit_count') };
}

// CPU time the server process and the database spend over a load's measured window, per acked
// message: unlike throughput, barely moved by what else the two cores are doing.
export interface CpuPerMessage {
  server: number;
  database: number;
}

export function cpuWindow(serverPid: number): { onWindow: (edge: 'start' | 'end') => void; perMessage: (acked: number) => CpuPerMessage } {
  const dbPid = databasePid();
  let start = { server: NaN, database: NaN };
  let end = { server: NaN, database: NaN };
  const read = () => ({ server: cpuMs(serverPid), database: cpuMs(dbPid) });
  return {
    onWindow: (edge) => (edge === 'start' ? (start = read()) : (end = read())),
    perMessage: (acked) => ({ server: ((end.server - start.server) * 1000) / acked, database: ((end.database - start.database) * 1000) / acked }),
  };
}

// Rows comparing the service with the bare socket.io server and with the durable ceiling.
export function recordRelayRows(
  label: string,
  svc: RelayResult,
  bare: RelayResult | null,
  durable: RelayResult,
  cpu?: { service: CpuPerMessage; durable: CpuPerMessage },
): void {
  if (bare) {
    record({
      row: `${label}: acked msg/s vs bare socket.io`,
      service: svc.perSecond,
      ceiling: bare.perSecond,
      ceilingName: '(bare socket.io)',
      digits: 0,
      target: '(informs)',
    });
  }
  record({
    row: `${label}: acked msg/s vs durable ceiling`,
    service: svc.perSecond,
    ceiling: durable.perSecond,
    ceilingName: '(durable)',
    digits: 0,
    target: '>= 80%',
    met: (m) => m.ratio >= 0.8,
  });
  record({
    row: `${label}: ack p99 ms vs durable`,
    service: svc.p99,
    ceiling: durable.p99,
    ceilingName: '(durable)',
    ratioStyle: 'times',
    target: '<= 1.5x',
    met: (m) => m.ratio <= 1.5,
    note: `p50 ${fmt(svc.p50)} ms (durable ${fmt(durable.p50)}${bare ? `, bare ${fmt(bare.p50)}` : ''}); bare p99 ${bare ? fmt(bare.p99) : '-'} ms`,
  });
  if (!cpu) return;
  record({
    row: `${label}: server process CPU us per acked msg vs durable`,
    service: cpu.service.server,
    ceiling: cpu.durable.server,
    ceilingName: '(durable)',
    ratioStyle: 'times',
    target: '(informs)',
  });
  record({
    row: `${label}: MariaDB CPU us per acked msg vs durable`,
    service: cpu.service.database,
    ceiling: cpu.durable.database,
    ceilingName: '(durable)',
    ratioStyle: 'times',
    target: '(informs)',
  });
}

export async function benchRelay(app: AppHandle, databaseUrl: string, chats: number, seconds: number): Promise<void> {
  const pairs = await createPairs(app, 'bench-relay', chats);
  log(`relay: ${chats} chats through the service for ${seconds}s`);
  const before = await counters(app);
  const svcCpu = cpuWindow(app.pid());
  const svc = await runRelayLoad(app.url, pairs, { seconds, warmupSeconds: 2, join: true, onWindow: svcCpu.onWindow });
  const after = await counters(app);
  const perCommit = (after.messages - before.messages) / Math.max(1, after.commits - before.commits);
  log(`relay: ${after.messages - before.messages} messages stored (warm-up included), ${fmt(perCommit)} per commit on average`);
  log(`relay: the same load against a bare socket.io server`);
  const bare = await startChildServer('bare-server.js');
  const base = await runRelayLoad(bare.url, bareAuth(pairs), { seconds, warmupSeconds: 2 });
  await bare.stop();
  log(`relay: the same load against the durable ceiling`);
  const durableServer = await startChildServer('durable-server.js', [databaseUrl]);
  const durableCpu = cpuWindow(durableServer.pid);
  const durable = await runRelayLoad(durableServer.url, bareAuth(pairs), { seconds, warmupSeconds: 2, onWindow: durableCpu.onWindow });
  await durableServer.stop();
  const cpu = { service: svcCpu.perMessage(svc.acked), durable: durableCpu.perMessage(durable.acked) };
  keep('relay', { chats, service: svc, bareSocketIo: base, durable, messagesPerCommit: perCommit, cpuUsPerMessage: cpu });
  recordRelayRows(`relay, ${chats} chats`, svc, base, durable, cpu);
}
