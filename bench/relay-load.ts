import { io, Socket } from 'socket.io-client';

export interface RelayPair {
  chatId: string;
  customerAuth: Record<string, unknown>;
  agentAuth: Record<string, unknown>;
}

export interface RelayResult {
  acked: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export interface RelayOptions {
  // How long to measure, after the warm-up; or until `until` settles (bounded by `seconds` anyway).
  seconds: number;
  warmupSeconds: number;
  until?: Promise<unknown>;
  // Called once every socket is connected and has joined; the loops start when it resolves.
  ready?: () => Promise<void>;
  // Agents send chat.join first (the service needs it; the ceilings do not).
  join?: boolean;
  // Every ack's latency, for merging the figures of several load processes.
  keepLatencies?: boolean;
  // Called when the measured window starts and when it ends (to read the servers' CPU time).
  onWindow?: (edge: 'start' | 'end') => void;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function open(url: string, ns: string, auth: Record<string, unknown>): Promise<Socket> {
  const s = io(`${url}${ns}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`connect to ${ns} timed out`)), 30_000);
    s.once('connect', () => {
      clearTimeout(t);
      res();
    });
    s.once('connect_error', (e) => {
      clearTimeout(t);
      rej(e);
    });
  });
  return s;
}

type Side = { s: Socket; pair: RelayPair; role: 'customer' | 'agent' };

// Opens a pair's two sockets (customers and agents may be on different instances).
async function openPair(urls: { customer: string; agent: string }, pair: RelayPair, join: boolean): Promise<Side[]> {
  const [customer, agent] = await Promise.all([open(urls.customer, '/customer', pair.customerAuth), open(urls.agent, '/agent', pair.agentAuth)]);
  if (join) {
    const r = (await agent.timeout(30_000).emitWithAck('chat.join', { chatId: pair.chatId })) as { ok: boolean };
    if (!r.ok) throw new Error(`chat.join failed: ${JSON.stringify(r)}`);
  }
  return [
    { s: customer, pair, role: 'customer' },
    { s: agent, pair, role: 'agent' },
  ];
}

// Closed loop: every customer and agent socket sends its next message as soon as the previous one
// is acknowledged, for a fixed time after a warm-up. Bounded by `seconds` and stops by itself.
export async function runRelayLoad(
  url: string | { customer: string; agent: string },
  pairs: RelayPair[],
  opts: RelayOptions,
): Promise<RelayResult & { latencies?: number[] }> {
  const urls = typeof url === 'string' ? { customer: url, agent: url } : url;
  const sockets: Side[] = [];
  // Connected 25 pairs at a time: quick, without a thundering herd of handshakes.
  for (let i = 0; i < pairs.length; i += 25) {
    const part = await Promise.all(pairs.slice(i, i + 25).map((p) => openPair(urls, p, opts.join ?? false)));
    sockets.push(...part.flat());
  }
  if (opts.ready) await opts.ready();
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const text = 'x'.repeat(60);
  const loops = sockets.map(async ({ s, pair, role }, i) => {
    let n = 0;
    while (!stop) {
      const id = `${i}-${n++}`;
      const payload = role === 'customer' ? { clientMsgId: id, text } : { chatId: pair.chatId, clientMsgId: id, text };
      const t0 = performance.now();
      try {
        const ack = (await s.timeout(10_000).emitWithAck('message', payload)) as { ok: boolean };
        if (measuring) {
          if (ack.ok) latencies.push(performance.now() - t0);
          else errors++;
        }
      } catch {
        if (measuring) errors++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, opts.warmupSeconds * 1000));
  measuring = true;
  opts.onWindow?.('start');
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => (timer = setTimeout(r, opts.seconds * 1000))), ...(opts.until ? [opts.until] : [])]);
  clearTimeout(timer);
  measuring = false;
  opts.onWindow?.('end');
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  sockets.forEach(({ s }) => s.close());
  latencies.sort((a, b) => a - b);
  return {
    acked: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ...(opts.keepLatencies ? { latencies } : {}),
  };
}
