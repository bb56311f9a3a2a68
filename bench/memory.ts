import { io, Socket } from 'socket.io-client';
import { cleanupDir, startApp, token } from '../test/support/app';
import { BENCH_ENV, log, NODE_ARGS, rssKb, sleep, startChildServer } from './common';
import { keep, record } from './results';

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

export async function benchMemory(databaseUrl: string, n: number): Promise<void> {
  log(`memory: ${n} idle sockets on a fresh service`);
  const app = await startApp({ databaseUrl, env: BENCH_ENV, nodeArgs: NODE_ARGS });
  const company = 'bench-memory';
  const svc = await perSocketKb(app.pid(), app.url, n, (i) => ({ token: token({ sub: `idle-${i}`, company, role: 'agent' }) }));
  await app.stop();
  cleanupDir(app.workDir);
  const bare = await startChildServer('bare-server.js');
  const base = await perSocketKb(bare.pid, bare.url, n, (i) => ({ chatId: `idle-${i}` }));
  await bare.stop();
  keep('memory', { sockets: n, serviceKbPerSocket: svc, bareKbPerSocket: base });
  record({
    row: `memory: RSS per idle socket at ${n}, KB`,
    service: svc,
    ceiling: base,
    ceilingName: '(bare socket.io)',
    target: '< 50 KB',
    met: (m) => m.service < 50,
  });
}
