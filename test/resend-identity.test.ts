import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { resolveDataSourceOptions } from '../src/database/resolve-options';
import { AppHandle, cleanupDir, connect, emit, http, migrate, startApp, token, waitFor } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { filesUnder } from './support/files';
import { ENTITIES } from '../src/wiring/entities';

// A resend is the same sender (role and id) with the same clientMsgId. The customer's id is whatever
// the flow supplies, so it can equal an agent's or the flow's own sub: their messages numbered "1",
// "2" each are different messages, all stored, relayed and filed.
describe.each(['mariadb', 'sqlite'] as const)('sender identity of resends on %s', (kind) => {
  let db: TestDatabase | null = null;
  let app: AppHandle;
  const company = `resendco-${kind}`;
  const sameId = 'ann';
  let chatId = '';
  // The service's database, opened beside it (MariaDB, or the SQLite file in its work folder).
  const openDataSource = async () => {
    const ds = new DataSource(
      await resolveDataSourceOptions(
        loadConfig({ DATABASE_URL: db?.url ?? `sqlite:${join(app.workDir, 'data', 'webchat.sqlite')}`, NODE_ENV: 'test' }),
        ENTITIES,
      ),
    );
    await ds.initialize();
    return ds;
  };

  beforeAll(async () => {
    if (kind === 'mariadb') {
      db = await createTestDatabase('resend');
      await migrate(db.url);
    }
    app = await startApp({ env: { DATABASE_URL: db?.url ?? '', EXPORT_LOCAL_DIR: '' } });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  it('stores, relays and files every message of a customer, an agent and a flow sharing one id; a true resend gets the same seq', async () => {
    const flow = token({ sub: sameId, company, role: 'flow' });
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
      service: 'sales',
      customer: { id: sameId, name: 'Carol' },
    });
    expect(created.status).toBe(201);
    chatId = created.body.chatId;
    const customerToken = created.body.customerToken;
    const customer = await connect(app, '/customer', customerToken);
    const agent = await connect(app, '/agent', token({ sub: sameId, company, role: 'agent', name: 'Ann', login: 'ann.a' }));
    const seen = (s: Socket) => {
      const texts: string[] = [];
      s.on('message', (m: { text: string }) => texts.push(m.text));
      return texts;
    };
    const atCustomer = seen(customer);
    const atAgent = seen(agent);
    try {
      expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: sameId })).status).toBe(200);
      expect((await emit(agent, 'chat.join', { chatId })).ok).toBe(true);

      const fromCustomer = (id: string, text: string) => emit(customer, 'message', { clientMsgId: id, text });
      const fromAgent = (id: string, text: string) => emit(agent, 'message', { chatId, clientMsgId: id, text });
      const fromFlow = async (id: string, text: string) => {
        const r = await http<{ seq: number }>(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { clientMsgId: id, text });
        expect(r.status).toBe(201);
        return { ok: true, seq: r.body.seq };
      };

      const seqs: Record<string, number> = {};
      const send = async (label: string, p: Promise<{ ok: boolean; seq?: unknown }>) => {
        const ack = await p;
        expect(ack.ok).toBe(true);
        seqs[label] = ack.seq as number;
      };
      await send('c1', fromCustomer('1', 'customer one'));
      await send('a1', fromAgent('1', 'agent one'));
      await send('f1', fromFlow('1', 'flow one'));
      await send('c2', fromCustomer('2', 'customer two'));
      await send('a2', fromAgent('2', 'agent two'));
      await send('f2', fromFlow('2', 'flow two'));
      // true resends: the same sender with the same clientMsgId
      await send('c1 again', fromCustomer('1', 'customer one'));
      await send('a2 again', fromAgent('2', 'agent two'));
      await send('f1 again', fromFlow('1', 'flow one'));

      expect([seqs.c1, seqs.a1, seqs.f1, seqs.c2, seqs.a2, seqs.f2]).toEqual([1, 2, 3, 4, 5, 6]);
      expect(seqs['c1 again']).toBe(seqs.c1);
      expect(seqs['a2 again']).toBe(seqs.a2);
      expect(seqs['f1 again']).toBe(seqs.f1);

      // relayed once each to the other side (a sender does not get its own message back)
      await waitFor('the relays', () => atCustomer.length >= 4 && atAgent.length >= 4);
      expect(atCustomer).toEqual(['agent one', 'flow one', 'agent two', 'flow two']);
      expect(atAgent).toEqual(['customer one', 'flow one', 'customer two', 'flow two']);

      expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
    } finally {
      customer.close();
      agent.close();
    }
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const file = await waitFor('the delivered transcript', () => filesUnder(outbox).find((f) => f.includes(chatId)));
    const transcript = readFileSync(file, 'utf8');
    const order = ['customer one', 'agent one', 'flow one', 'customer two', 'agent two', 'flow two'];
    for (const t of order) expect(transcript.split(t).length - 1).toBe(1);
    const at = order.map((t) => transcript.indexOf(t));
    expect([...at].sort((x, y) => x - y)).toEqual(at);
  });

  // The client resends when the first ack was lost; by then the sender may have left, been
  // transferred away, or the chat may have ended. The message is stored: the resend gets its seq
  // and time, while a message never stored is refused as before, and nobody gets another's seq.
  it('answers a resend after the chat ended, after chat.leave and after a transfer with the stored seq and time; new messages are still refused', async () => {
    const flow = token({ sub: 'flow-1', company, role: 'flow' });
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
      service: 'sales',
      customer: { id: 'cust-1', name: 'Carol' },
    });
    expect(created.status).toBe(201);
    const id = created.body.chatId;
    const customer = await connect(app, '/customer', created.body.customerToken);
    const agent = (sub: string) => connect(app, '/agent', token({ sub, company, role: 'agent', name: sub, login: sub }));
    const [amy, bob, cy] = await Promise.all([agent('amy'), agent('bob'), agent('cy')]);
    const assign = async (agentId: string) => expect((await http(app, 'POST', `/v1/flow/chats/${id}/assign`, flow, { agentId })).status).toBe(200);
    const post = (s: Socket, clientMsgId: string, text: string) => emit(s, 'message', { chatId: id, clientMsgId, text });
    const fromFlow = (clientMsgId: string, text: string) =>
      http<Record<string, unknown>>(app, 'POST', `/v1/flow/chats/${id}/messages`, flow, { clientMsgId, text });
    const acked = async (p: Promise<{ ok: boolean; seq?: unknown; at?: unknown }>) => {
      const ack = await p;
      expect(ack).toEqual({ ok: true, seq: expect.any(Number), at: expect.any(String) });
      return { seq: ack.seq, at: ack.at };
    };
    const forbidden = { ok: false, error: { code: 'forbidden', message: 'join the chat first' } };
    const ended = { ok: false, error: { code: 'conflict', message: 'chat has ended' } };
    try {
      await assign('amy');
      expect((await emit(amy, 'chat.join', { chatId: id })).ok).toBe(true);
      const c1 = await acked(emit(customer, 'message', { clientMsgId: 'c1', text: 'customer one' }));
      const a1 = await acked(post(amy, 'a1', 'amy one'));
      const f1 = await fromFlow('f1', 'flow one');
      expect(f1.status).toBe(201);

      // after chat.leave
      expect((await emit(amy, 'chat.leave', { chatId: id })).ok).toBe(true);
      expect(await post(amy, 'a1', 'amy one')).toEqual({ ok: true, ...a1 });
      expect(await post(amy, 'a2', 'amy two')).toEqual(forbidden);

      // after the flow transferred the agent away
      await assign('bob');
      expect((await emit(bob, 'chat.join', { chatId: id })).ok).toBe(true);
      const b1 = await acked(post(bob, 'b1', 'bob one'));
      expect((await http(app, 'POST', `/v1/flow/chats/${id}/transfer`, flow, { toAgentId: 'cy' })).status).toBe(200);
      expect(await post(bob, 'b1', 'bob one')).toEqual({ ok: true, ...b1 });
      expect(await post(bob, 'b2', 'bob two')).toEqual(forbidden);
      // another sender's clientMsgId gives nothing away
      expect(await post(bob, 'a1', 'amy one')).toEqual(forbidden);

      expect((await emit(cy, 'chat.join', { chatId: id })).ok).toBe(true);
      const y1 = await acked(post(cy, 'y1', 'cy one'));

      // after the chat ended
      expect((await emit(customer, 'chat.end')).ok).toBe(true);
      expect(await emit(customer, 'message', { clientMsgId: 'c1', text: 'customer one' })).toEqual({ ok: true, ...c1 });
      expect(await emit(customer, 'message', { clientMsgId: 'c2', text: 'customer two' })).toEqual(ended);
      expect(await emit(customer, 'message', { clientMsgId: 'f1', text: 'flow one' })).toEqual(ended);
      const f1Again = await fromFlow('f1', 'flow one');
      expect(f1Again).toEqual({ status: 201, body: f1.body });
      const f2 = await fromFlow('f2', 'flow two');
      expect(f2.status).toBe(409);
      expect(f2.body).toMatchObject({ code: 'conflict', message: 'chat has ended' });
      // cy was in the chat when it ended; amy and bob had left before
      expect(await post(cy, 'y1', 'cy one')).toEqual({ ok: true, ...y1 });
      expect(await post(cy, 'y2', 'cy two')).toEqual(ended);
      expect(await post(amy, 'a1', 'amy one')).toEqual({ ok: true, ...a1 });
      expect(await post(amy, 'a2', 'amy two')).toEqual(forbidden);
      expect(await post(bob, 'b1', 'bob one')).toEqual({ ok: true, ...b1 });
      expect(await post(bob, 'b2', 'bob two')).toEqual(forbidden);
    } finally {
      for (const s of [customer, amy, bob, cy]) s.close();
    }

    // each message stored once, nothing else
    const ds = await openDataSource();
    try {
      const rows = (await ds.query('SELECT seq, sender_role, sender_id, client_msg_id FROM messages WHERE chat_id = ? ORDER BY seq', [id])) as {
        seq: number;
        sender_role: string;
        sender_id: string;
        client_msg_id: string;
      }[];
      expect(rows.map((r) => [Number(r.seq), r.sender_role, r.sender_id, r.client_msg_id])).toEqual([
        [1, 'customer', 'cust-1', 'c1'],
        [2, 'agent', 'amy', 'a1'],
        [3, 'flow', 'flow-1', 'f1'],
        [4, 'agent', 'bob', 'b1'],
        [5, 'agent', 'cy', 'y1'],
      ]);
    } finally {
      await ds.destroy();
    }
  });

  it('migrates back to the former key keeping every message (the later of clashing ids lose their clientMsgId), and forward again', async () => {
    await app.stop();
    const ds = await openDataSource();
    try {
      const applied = async () => ((await ds.query('SELECT name FROM schema_migrations')) as { name: string }[]).map((r) => r.name);
      for (let i = 0; i < 10 && (await applied()).includes('ResendSenderRole1795320000000'); i++) await ds.undoLastMigration();
      expect(await applied()).not.toContain('ResendSenderRole1795320000000');
      const rows = (await ds.query('SELECT seq, client_msg_id FROM messages WHERE chat_id = ? ORDER BY seq', [chatId])) as {
        seq: number;
        client_msg_id: string | null;
      }[];
      expect(rows.map((r) => [Number(r.seq), r.client_msg_id])).toEqual([
        [1, '1'],
        [2, null],
        [3, null],
        [4, '2'],
        [5, null],
        [6, null],
      ]);
      await ds.runMigrations();
      expect(await applied()).toContain('ResendSenderRole1795320000000');
    } finally {
      await ds.destroy();
    }
  });
});
