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

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function open(url: string, ns: string, auth: Record<string, unknown>): Promise<Socket> {
  const s = io(`${url}${ns}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`connect to ${ns} timed out`)), 15_000);
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

// Closed loop: every customer and agent socket sends its next message as soon as the previous one
// is acknowledged, for a fixed time after a warm-up. Bounded by `seconds` and stops by itself.
export async function runRelayLoad(
  url: string,
  pairs: RelayPair[],
  opts: { seconds: number; warmupSeconds: number; beforeSend?: (socket: Socket, pair: RelayPair) => Promise<void> },
): Promise<RelayResult> {
  const sockets: { s: Socket; pair: RelayPair; role: 'customer' | 'agent' }[] = [];
  for (const pair of pairs) {
    sockets.push({ s: await open(url, '/customer', pair.customerAuth), pair, role: 'customer' });
    const agent = await open(url, '/agent', pair.agentAuth);
    if (opts.beforeSend) await opts.beforeSend(agent, pair);
    sockets.push({ s: agent, pair, role: 'agent' });
  }
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
  const started = performance.now();
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  sockets.forEach(({ s }) => s.close());
  latencies.sort((a, b) => a - b);
  return { acked: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
