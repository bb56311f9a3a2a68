import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manager, Socket } from 'socket.io-client';
import { Ack, AppHandle, cleanupDir, http, startApp, token, waitFor } from './support/app';
import { relativeFilesUnder } from './support/files';

// Issue 9 item 3: the embedded default (SQLite, one connection) serves events that arrive together
// (socket.io's polling transport, the client's default first transport, sends everything queued in
// one request) and REST at the same time as correctly as MariaDB does.
describe('the embedded default (SQLite) under events that arrive together', () => {
  let app: AppHandle;
  const company = 'polling';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const sockets: Socket[] = [];

  beforeAll(async () => {
    app = await startApp({ env: { DATABASE_URL: '', EXPORT_LOCAL_DIR: '' } });
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  // A browser's client: polling first (and only, here, so that every test runs on it). A chat's
  // agent and customer share one connection (one Manager), as namespaces of one page would: events
  // of both then arrive in the same request.
  async function pollingSocket(manager: Manager, ns: '/agent' | '/customer', t: string): Promise<Socket> {
    const s = manager.socket(ns, { auth: { token: t } });
    sockets.push(s);
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('connect_error', (e) => rej(e));
      s.connect();
    });
    return s;
  }

  const send = (s: Socket, event: string, payload: unknown): Promise<Ack> => s.timeout(20_000).emitWithAck(event, payload) as Promise<Ack>;

  interface PolledChat {
    chatId: string;
    agent: Socket;
    customer: Socket;
  }

  async function openChats(n: number, prefix: string): Promise<PolledChat[]> {
    const chats: PolledChat[] = [];
    for (let i = 0; i < n; i++) {
      const agentId = `${prefix}-agent-${i}`;
      const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
        service: 'poll',
        customer: { name: 'Pat' },
      });
      expect(created.status).toBe(201);
      const { chatId, customerToken } = created.body;
      const manager = new Manager(app.url, { transports: ['polling'], reconnection: false, autoConnect: false });
      const customer = await pollingSocket(manager, '/customer', customerToken);
      const agent = await pollingSocket(manager, '/agent', token({ sub: agentId, company, role: 'agent', name: `Agent ${i}`, login: agentId }));
      expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId })).status).toBe(200);
      expect(await send(agent, 'chat.join', { chatId })).toMatchObject({ ok: true });
      chats.push({ chatId, agent, customer });
    }
    return chats;
  }

  async function transcriptOf(chatId: string): Promise<string> {
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const file = await waitFor(`the transcript of ${chatId}`, () => relativeFilesUnder(outbox).find((f) => f.includes(chatId) && f.endsWith('.txt')));
    return readFileSync(join(outbox, file), 'utf8');
  }

  const count = (text: string, part: string) => text.split(part).length - 1;

  it('several sockets fire several events each at once: all answered ok, each applied once, the files right', async () => {
    const chats = await openChats(4, 'burst');
    // Each burst is queued by the clients before any answer and leaves in a few requests. The
    // customers' messages are not in the burst that pauses: across sockets there is no order.
    const burst = async (fill: (push: (what: string, s: Socket, event: string, payload: unknown) => void) => void) => {
      const pending: { what: string; ack: Promise<Ack> }[] = [];
      fill((what, s, event, payload) => pending.push({ what, ack: send(s, event, payload) }));
      const answers = await Promise.all(pending.map(async (p) => ({ what: p.what, ack: await p.ack })));
      expect(answers.filter((x) => !x.ack.ok)).toEqual([]);
    };
    await burst((push) => {
      for (const [i, c] of chats.entries()) {
        for (let m = 0; m < 3; m++) {
          push(`chat ${i} agent message ${m}`, c.agent, 'message', { chatId: c.chatId, clientMsgId: `a${m}`, text: `agent says ${i}.${m}` });
          push(`chat ${i} customer message ${m}`, c.customer, 'message', { clientMsgId: `c${m}`, text: `customer says ${i}.${m}` });
        }
        push(`chat ${i} abuse flag`, c.agent, 'chat.flagAbusive', { chatId: c.chatId, reason: `abusive ${i}` });
        push(`chat ${i} consent`, c.customer, 'consent.answer', { granted: true });
      }
    });
    await burst((push) => {
      for (const [i, c] of chats.entries()) {
        push(`chat ${i} pause`, c.agent, 'recording.pause', { chatId: c.chatId });
        push(`chat ${i} message while paused`, c.agent, 'message', { chatId: c.chatId, clientMsgId: 'p', text: `unrecorded ${i}` });
        push(`chat ${i} resume`, c.agent, 'recording.resume', { chatId: c.chatId });
        push(`chat ${i} message after resume`, c.agent, 'message', { chatId: c.chatId, clientMsgId: 'r', text: `resumed ${i}` });
      }
    });

    const ends = await Promise.all(chats.map((c) => send(c.agent, 'chat.end', { chatId: c.chatId })));
    expect(ends.filter((x) => !x.ok)).toEqual([]);

    for (const [i, c] of chats.entries()) {
      const file = await transcriptOf(c.chatId);
      for (let m = 0; m < 3; m++) {
        expect(count(file, `agent says ${i}.${m}`)).toBe(1);
        expect(count(file, `customer says ${i}.${m}`)).toBe(1);
      }
      expect(count(file, `resumed ${i}`)).toBe(1);
      expect(file).not.toContain(`unrecorded ${i}`);
      expect(count(file, 'recording paused by')).toBe(1);
      expect(count(file, 'recording resumed by')).toBe(1);
      expect(count(file, `flagged abusive by agent Agent ${i}`)).toBe(1);
      // The socket's order is the file's order.
      expect(file.indexOf(`agent says ${i}.2`)).toBeLessThan(file.indexOf('recording paused by'));
      expect(file.indexOf('recording resumed by')).toBeLessThan(file.indexOf(`resumed ${i}`));
    }
  });

  it('REST and socket traffic at the same time: every call and event answered ok and stored once', async () => {
    const chats = await openChats(3, 'mixed');
    const socketAcks: Promise<Ack>[] = [];
    const rest: Promise<{ status: number; body: unknown }>[] = [];
    for (const [i, c] of chats.entries()) {
      for (let m = 0; m < 4; m++) {
        socketAcks.push(send(c.agent, 'message', { chatId: c.chatId, clientMsgId: `a${m}`, text: `agent mixed ${i}.${m}` }));
        socketAcks.push(send(c.customer, 'message', { clientMsgId: `c${m}`, text: `customer mixed ${i}.${m}` }));
        rest.push(http(app, 'POST', `/v1/flow/chats/${c.chatId}/messages`, flow, { clientMsgId: `f${m}`, text: `flow mixed ${i}.${m}` }));
      }
      rest.push(http(app, 'GET', `/v1/admin/chats/${c.chatId}`, admin));
      rest.push(http(app, 'POST', '/v1/flow/chats', flow, { service: 'poll', customer: { name: `Extra ${i}` } }));
      rest.push(http(app, 'GET', '/v1/admin/settings', admin));
    }
    const acks = await Promise.all(socketAcks);
    expect(acks.filter((x) => !x.ok)).toEqual([]);
    const replies = await Promise.all(rest);
    expect(replies.filter((r) => r.status >= 300)).toEqual([]);

    const ends = await Promise.all(chats.map((c) => send(c.agent, 'chat.end', { chatId: c.chatId })));
    expect(ends.filter((x) => !x.ok)).toEqual([]);
    for (const [i, c] of chats.entries()) {
      const file = await transcriptOf(c.chatId);
      const missing = ['agent', 'customer', 'flow'].flatMap((who) => [0, 1, 2, 3].map((m) => `${who} mixed ${i}.${m}`)).filter((t) => count(file, t) !== 1);
      expect(missing).toEqual([]);
    }
  });
});
