// Test helper: a real HAProxy (Debian's package) in front of several service instances, on
// loopback only. Its configuration is the one docs/scaling.md shows, with faster health checks.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './app';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Backend {
  name: string;
  port: number;
}

export interface HaproxyHandle {
  url: string;
  config: string;
  // The state HAProxy's health checks give each server: UP, DOWN, MAINT, "UP 1/2", ...
  states(): Promise<Map<string, string>>;
  waitFor(want: Record<string, 'UP' | 'DOWN'>, timeoutMs?: number): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export function haproxyConfig(port: number, statsPort: number, backends: Backend[]): string {
  return `global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # a WebSocket, once upgraded, is a tunnel: socket.io pings it every 25 s
    timeout tunnel 1h
    timeout http-keep-alive 10s
    # a server that refuses the connection: try another one
    option redispatch
    retries 3

frontend webchat
    bind 127.0.0.1:${port}
    default_backend instances

backend instances
    balance roundrobin
    # socket.io's polling transport: every request of a session must reach the instance holding it
    cookie SERVERID insert indirect nocache
    # a stopping instance (its /health says 503 at once) keeps its sessions until it closes them
    option persist
    option httpchk GET /health
    http-check expect status 200
    default-server check inter 250 fall 1 rise 1
${backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port} cookie ${b.name}`).join('\n')}

listen stats
    bind 127.0.0.1:${statsPort}
    stats enable
    stats uri /stats
`;
}

export async function startHaproxy(backends: Backend[]): Promise<HaproxyHandle> {
  if (!existsSync(HAPROXY)) {
    throw new Error(`${HAPROXY} not found: this test needs Debian's HAProxy (apt-get install -y haproxy; .ci/run installs it)`);
  }
  // Not a port a backend will listen on later (the slots not started yet are free now).
  const taken = new Set(backends.map((b) => b.port));
  const pick = async () => {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    return p;
  };
  const port = await pick();
  const statsPort = await pick();
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  const config = haproxyConfig(port, statsPort, backends);
  writeFileSync(file, config);
  // A configuration error is reported as such, before anything runs.
  execFileSync(HAPROXY, ['-c', '-q', '-f', file], { stdio: 'pipe' });
  let out = '';
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));

  const states = async (): Promise<Map<string, string>> => {
    const r = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
    const lines = (await r.text()).split('\n').filter(Boolean);
    const header = lines[0].replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => header.indexOf(c));
    const m = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const f = l.split(',');
      if (f[px] === 'instances' && f[sv] !== 'BACKEND') m.set(f[sv], f[st]);
    }
    return m;
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${out}`);
    if (
      await states().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`haproxy did not start:\n${out}`);
    await sleep(100);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    config,
    states,
    async waitFor(want, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const now = await states();
        if (Object.entries(want).every(([name, state]) => now.get(name) === state)) return;
        if (Date.now() > until) throw new Error(`haproxy: wanted ${JSON.stringify(want)}, have ${JSON.stringify(Object.fromEntries(now))}`);
        await sleep(100);
      }
    },
    logs: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
