import { AgentClient, ClientError, connectAgent, connectCustomer, CustomerClient, type SentMessage } from '../client/src/index';
import { AppHandle, cleanupDir, freePort, http, migrate, sleep, startApp, token, waitFor } from './support/app';
import { sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { HaproxyHandle, startHaproxy } from './support/haproxy';
import { SshdHandle, startSshd } from './support/sshd';

interface Slot {
  name: string;
  port: number;
  app: AppHandle | null;
}

interface Party {
  chatId: string;
  customer: CustomerClient;
  agent: AgentClient;
  sent: { customer: SentMessage[]; agent: SentMessage[] };
  // Connections made again after the first one, per side.
  reconnects: { customer: number; agent: number };
  talking: boolean;
  loops: Promise<void>[];
}

interface JsonTranscript {
  chat: { id: string };
  recording: { id: string };
  entries: { type: string; seq?: number; role?: string; text?: string }[];
}

// Three instances on one MariaDB and one Redis behind a real HAProxy (sticky sessions for
// socket.io's polling transport, health checks on /health), a real sshd as the export target, and
// the client library on socket.io's default transports (polling, then WebSocket). While the chats
// run, the instances are replaced one by one with SIGTERM (a rolling deploy), and one is killed
// with SIGKILL. Every message the library reported as sent must be in the delivered files exactly
// once, every recording delivered once, and the clients must reconnect and go on.
describe('several instances behind HAProxy: a rolling restart and a kill -9', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let lb: HaproxyHandle;
  const slots: Slot[] = [];
  const parties: Party[] = [];
  const company = 'lbco';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });
  // Seven places in HAProxy's configuration: three first instances, three replacements, and the
  // replacement of the killed one. Until something listens there, the health check says DOWN.
  const SLOTS = 7;
  const socket = { withCredentials: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 };
  let generation = 0;

  const viaLb = (): AppHandle => ({ url: lb.url }) as AppHandle;

  // REST through the load balancer, sent again on 503 (an instance that is stopping), as a flow would.
  async function rest<T = Record<string, unknown>>(method: string, path: string, bearer: string, body?: unknown): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      const r = await http<T>(viaLb(), method, path, bearer, body).catch(() => ({ status: 502, body: null as T }));
      if ((r.status !== 503 && r.status !== 502) || attempt >= 20) return r;
      await sleep(200);
    }
  }

  async function startSlot(slot: Slot): Promise<void> {
    slot.app = await startApp({
      databaseUrl: db.url,
      port: slot.port,
      env: {
        INSTANCE_ID: `${slot.name}-g${generation++}`,
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        // Four instances at most at once (during a replacement), each with a small pool.
        DB_POOL_SIZE: '10',
        // The killed instance's deliveries come back after this.
        DELIVERY_LEASE_MS: '3000',
        SHUTDOWN_DEADLINE_MS: '10000',
      },
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase('lb');
    await migrate(db.url);
    sshd = await startSshd();
    const ports = new Set<number>();
    while (ports.size < SLOTS) ports.add(await freePort());
    [...ports].forEach((port, i) => slots.push({ name: `s${i}`, port, app: null }));
    await Promise.all(slots.slice(0, 3).map((s) => startSlot(s)));
    lb = await startHaproxy(slots);
    await lb.waitFor({ s0: 'UP', s1: 'UP', s2: 'UP', s3: 'DOWN', s4: 'DOWN', s5: 'DOWN', s6: 'DOWN' });
    expect((await rest('PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    const profile = await rest('PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate: 'lb/{{chatId}}-{{recordingId}}', format: 'json' });
    expect(profile.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    for (const p of parties) {
      p.talking = false;
      p.customer.close();
      p.agent.close();
    }
    await lb?.stop();
    for (const s of slots) {
      await s.app?.kill();
      if (s.app) cleanupDir(s.app.workDir);
    }
    await sshd?.destroy();
    await db?.drop();
  });

  async function talk(p: Party, role: 'customer' | 'agent'): Promise<void> {
    for (let i = 0; p.talking; i++) {
      const text = `${p.chatId} ${role} ${i}`;
      const m = role === 'customer' ? await p.customer.send(text) : await p.agent.send(p.chatId, text);
      p.sent[role].push(m);
      await sleep(120);
    }
  }

  // One chat's widget stays on long polling (no upgrade), so that the sticky sessions carry it
  // the whole time; the others use the default (polling, then WebSocket).
  async function openParty(n: number, pollingOnly = false): Promise<Party> {
    const created = await rest<{ chatId: string; customerToken: string }>('POST', '/v1/flow/chats', flow, {
      service: 'lb',
      customer: { id: `c${n}`, name: 'Cy' },
    });
    expect(created.status).toBe(201);
    const { chatId, customerToken } = created.body;
    const agentId = `ag-${n}`;
    const agent = await connectAgent({ url: lb.url, token: token({ sub: agentId, company, role: 'agent', name: `Agent ${n}` }), socket });
    const customer = await connectCustomer({ url: lb.url, token: customerToken, socket: pollingOnly ? { ...socket, upgrade: false } : socket });
    expect((await rest('POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId })).status).toBe(200);
    await agent.join(chatId);
    const p: Party = { chatId, customer, agent, sent: { customer: [], agent: [] }, reconnects: { customer: 0, agent: 0 }, talking: true, loops: [] };
    customer.on('status', (st) => st.state === 'connected' && p.reconnects.customer++);
    agent.on('status', (st) => st.state === 'connected' && p.reconnects.agent++);
    p.loops = [talk(p, 'customer'), talk(p, 'agent')];
    parties.push(p);
    return p;
  }

  async function endParty(p: Party): Promise<void> {
    p.talking = false;
    await Promise.all(p.loops);
    for (let attempt = 0; ; attempt++) {
      try {
        await p.agent.end(p.chatId);
        break;
      } catch (err) {
        // An instance stopping under the agent's connection: the portal sends it again after reconnecting.
        if (!(err instanceof ClientError) || err.code !== 'unavailable' || attempt >= 30) throw err;
        await sleep(200);
      }
    }
    p.customer.close();
    p.agent.close();
  }

  const sentCount = (p: Party) => p.sent.customer.length + p.sent.agent.length;

  // Every chat still talking sends (both sides) at least twice more than at `marks`.
  async function goOn(what: string, marks: Map<Party, { customer: number; agent: number }>): Promise<void> {
    await waitFor(
      `${what}: every client to send again`,
      () => [...marks].every(([p, m]) => !p.talking || (p.sent.customer.length >= m.customer + 2 && p.sent.agent.length >= m.agent + 2)),
      30_000,
    );
  }
  const mark = () => new Map(parties.filter((p) => p.talking).map((p) => [p, { customer: p.sent.customer.length, agent: p.sent.agent.length }]));

  async function socketsPerInstance(): Promise<number[]> {
    return Promise.all(
      slots
        .filter((s) => s.app)
        .map(async (s) => {
          const text = await (await fetch(`${(s.app as AppHandle).url}/metrics`)).text();
          return [...text.matchAll(/^webchat_connected_sockets\{namespace="\/(?:customer|agent)"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
        }),
    );
  }

  it('every acknowledged message delivered exactly once, every recording once, clients reconnect and go on', async () => {
    const started = Date.now();
    for (let n = 0; n < 6; n++) await openParty(n, n === 5);
    const first = [...parties];
    // The upgrade to WebSocket went through HAProxy to the instance holding the polling session.
    await waitFor('the default clients to upgrade to WebSocket', () =>
      first.every(
        (p) => p.agent.socket.io.engine.transport.name === 'websocket' && (p === first[5]) !== (p.customer.socket.io.engine.transport.name === 'websocket'),
      ),
    );
    // Spread across the three instances by the load balancer.
    const spread = await socketsPerInstance();
    expect(spread).toHaveLength(3);
    expect(spread.every((k) => k > 0)).toBe(true);
    await goOn('at the start', mark());

    // The rolling deploy: start the replacement, wait until HAProxy sends to it, stop the old one.
    for (let i = 0; i < 3; i++) {
      const old = slots[i];
      const next = slots[3 + i];
      await startSlot(next);
      await lb.waitFor({ [next.name]: 'UP' });
      // A chat ends just before, so that its delivery may be under way during the stop.
      await endParty(parties.filter((p) => p.talking)[0]);
      const marks = mark();
      const oldApp = old.app as AppHandle;
      oldApp.signal('SIGTERM');
      await lb.waitFor({ [old.name]: 'DOWN' }, 3000);
      const { code } = await oldApp.exited();
      expect([old.name, code]).toEqual([old.name, 0]);
      old.app = null;
      await goOn(`after stopping ${old.name}`, marks);
      await openParty(10 + i);
    }

    // An instance killed outright: its clients reconnect elsewhere and resend what had no answer.
    const killed = slots[3];
    let marks = mark();
    await (killed.app as AppHandle).kill();
    killed.app = null;
    await goOn('after kill -9', marks);
    await startSlot(slots[6]);
    await lb.waitFor({ s6: 'UP', s3: 'DOWN' });
    marks = mark();
    await goOn('after the last replacement', marks);

    // The chats that ran through the whole rolling deploy had every client on a stopped instance:
    // each one reconnected (at least once) and went on.
    for (const p of first.slice(3)) expect([p.chatId, p.reconnects.customer > 0, p.reconnects.agent > 0]).toEqual([p.chatId, true, true]);
    expect(first[5].customer.socket.io.engine.transport.name).toBe('polling');

    for (const p of parties.filter((x) => x.talking)) await endParty(p);

    // Every recording of every chat delivered, each file once.
    const chatIds = parties.map((p) => p.chatId);
    const recordings = await waitFor(
      'every recording delivered',
      async () => {
        const r = await rest<{ id: string; chatId: string; status: string; fileName: string }[]>('GET', '/v1/admin/recordings?limit=1000', admin);
        const mine = r.body.filter((x) => chatIds.includes(x.chatId));
        return mine.length >= chatIds.length && mine.every((x) => x.status === 'delivered') ? mine : null;
      },
      60_000,
    );
    const files = sshd.listFiles().filter((f) => f.startsWith('lb/') && !f.endsWith('.part') && !(f.split('/').pop() ?? '').startsWith('.'));
    expect(files.sort()).toEqual(recordings.map((r) => r.fileName).sort());
    for (const r of recordings) expect(r.fileName).toBe(`lb/${r.chatId}-${r.id}.json`);

    // Every message the library reported as sent is in its chat's file exactly once, with its seq.
    let total = 0;
    for (const p of parties) {
      const mine = recordings.filter((r) => r.chatId === p.chatId);
      expect(mine).toHaveLength(1);
      const file = JSON.parse(sshd.readFile(mine[0].fileName)) as JsonTranscript;
      const messages = file.entries.filter((e) => e.type === 'message');
      for (const role of ['customer', 'agent'] as const) {
        expect(p.sent[role].length).toBeGreaterThan(0);
        for (const m of p.sent[role]) {
          const found = messages.filter((e) => e.text === m.text);
          expect([m.text, found.length]).toEqual([m.text, 1]);
          expect(found[0]).toMatchObject({ seq: m.seq, role });
        }
        total += p.sent[role].length;
      }
      // Nothing in the file that no one sent.
      expect(messages).toHaveLength(sentCount(p));
    }
    expect(total).toBeGreaterThan(100);
    expect(Date.now() - started).toBeLessThan(180_000);
  }, 240_000);
});
