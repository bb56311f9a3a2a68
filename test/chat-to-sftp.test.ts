import type { Socket } from 'socket.io-client';
import { connect, emit, http, next, token, waitFor } from './support/app';
import { sftpTargetBody } from './support/chat-driver';
import { deliveryStack } from './support/stack';

// The whole path of the foundation issue: the service on MariaDB, a real sshd playing Horizon,
// a customer and an agent chatting over socket.io, the chat ended, the transcript on the server.
describe('a chat recorded end to end onto a real SFTP server', () => {
  // The worker polls once in ten minutes: the delivery below comes from chat.ended waking it
  // (src/wiring/chat-ended.listener.ts), which this test thereby covers.
  const stack = deliveryStack({ env: { DELIVERY_POLL_MS: '600000' } });
  const company = 'acme';
  const flow = token({ sub: 'flow-1', company, role: 'flow' });
  const admin = token({ sub: 'admin-1', company, role: 'admin' });
  const agentToken = token({ sub: 'agent-7', company, role: 'agent', name: 'Jane from token' });
  const sockets: Socket[] = [];

  afterAll(async () => {
    sockets.forEach((s) => s.close());
  });

  it('relays, stores once, ends, and delivers the transcript under the agent profile name', async () => {
    const target = await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd));
    expect(target.status).toBe(200);
    expect(target.body).not.toHaveProperty('privateKey');
    expect(target.body).toMatchObject({ type: 'sftp', hasPrivateKey: true });
    const check = await http(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body).toEqual({ ok: true });
    expect(stack.sshd.listFiles()).toEqual([]);

    const agentCfg = await http(stack.app, 'PUT', '/v1/admin/agents/agent-7', admin, { login: 'jdoe', name: 'Jane Doe' });
    expect(agentCfg.status).toBe(200);

    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, {
      externalId: 'ext-1',
      service: 'sales',
      customer: { id: 'cust-1', name: 'Alice' },
    });
    expect(created.status).toBe(201);
    const { chatId, customerToken } = created.body;
    const again = await http<{ chatId: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { externalId: 'ext-1', service: 'sales' });
    expect(again.status).toBe(201);
    expect(again.body.chatId).toBe(chatId);

    const customer = await connect(stack.app, '/customer', customerToken);
    const agent = await connect(stack.app, '/agent', agentToken);
    sockets.push(customer, agent);

    const bot = await http<{ seq: number }>(stack.app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, {
      text: 'Welcome! An agent will be with you shortly.',
    });
    expect(bot.status).toBe(201);
    expect(bot.body.seq).toBe(1);

    const assigned = next<{ chatId: string; service: string; customer: { name: string } }>(agent, 'chat.assigned');
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'agent-7' })).status).toBe(200);
    expect(await assigned).toEqual({ chatId, service: 'sales', customer: { id: 'cust-1', name: 'Alice' } });

    const stateOnCustomer = next<{ chatId: string; state: string }>(customer, 'recording.state');
    const joined = await emit(agent, 'chat.join', { chatId });
    expect(joined.ok).toBe(true);
    expect(joined.recordingState).toBe('recording');
    expect((joined.history as { seq: number; text: string }[]).map((m) => [m.seq, m.text])).toEqual([[1, 'Welcome! An agent will be with you shortly.']]);
    expect(await stateOnCustomer).toEqual({ chatId, state: 'recording' });
    expect((await emit(agent, 'chat.join', { chatId })).ok).toBe(true); // joining again is harmless

    // customer -> agent
    const atAgent = next<{ chatId: string; seq: number; from: { role: string; name: string }; text: string }>(agent, 'message');
    const m1 = await emit(customer, 'message', { clientMsgId: 'c-1', text: 'Hello, I need help with my order' });
    expect(m1).toMatchObject({ ok: true, seq: 2 });
    expect(typeof m1.at).toBe('string');
    expect(await atAgent).toMatchObject({ chatId, seq: 2, from: { role: 'customer', name: 'Alice' }, text: 'Hello, I need help with my order' });

    // a resend after a lost ack is stored once and answered with the same seq
    const resend = await emit(customer, 'message', { clientMsgId: 'c-1', text: 'Hello, I need help with my order' });
    expect(resend).toMatchObject({ ok: true, seq: 2, at: m1.at });

    // agent -> customer
    const atCustomer = next<{ seq: number; from: { role: string }; text: string }>(customer, 'message');
    const m2 = await emit(agent, 'message', { chatId, clientMsgId: 'a-1', text: 'Sure, what is the order number?' });
    expect(m2).toMatchObject({ ok: true, seq: 3 });
    expect(await atCustomer).toMatchObject({ seq: 3, from: { role: 'agent' }, text: 'Sure, what is the order number?' });

    const texts = ['It is 12345', 'Thanks, one moment', 'Line one\nline two'];
    for (const [i, text] of texts.entries()) {
      const who = i % 2 === 0 ? customer : agent;
      const payload = i % 2 === 0 ? { clientMsgId: `c-${i + 2}`, text } : { chatId, clientMsgId: `a-${i + 2}`, text };
      expect((await emit(who, 'message', payload)).ok).toBe(true);
    }

    const endedAtCustomer = next<{ chatId: string }>(customer, 'chat.ended');
    expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true);
    expect(await endedAtCustomer).toEqual({ chatId });
    expect((await emit(agent, 'chat.end', { chatId })).ok).toBe(true); // ending twice is harmless
    const late = await emit(customer, 'message', { clientMsgId: 'c-late', text: 'too late' });
    expect(late).toMatchObject({ ok: false, error: { code: 'conflict' } });

    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const expected = `${day}/sales_jdoe_${chatId}.txt`;
    await waitFor('the transcript on the SFTP server', () => stack.sshd.listFiles().includes(expected), 30_000);
    // nothing partial or temporary is left behind, and nothing else was written
    expect(stack.sshd.listFiles()).toEqual([expected]);

    const file = stack.sshd.readFile(expected);
    // The agent's recording runs from its join: the bot's greeting before it is not in this file.
    expect(file).not.toContain('Welcome! An agent');
    const order = ['Hello, I need help with my order', 'Sure, what is the order number?', 'It is 12345', 'Thanks, one moment', 'Line one'];
    let last = -1;
    for (const text of order) {
      const at = file.indexOf(text);
      expect(at).toBeGreaterThan(last);
      last = at;
    }
    expect(file.split('Hello, I need help with my order').length).toBe(2); // stored once
    expect(file).toContain(chatId);
    expect(file).toContain('sales');
    expect(file).toContain('Jane Doe');

    const recs = await waitFor('the recording to be delivered', async () => {
      const r = await http<{ status: string; fileName: string }[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin);
      return r.body.length === 1 && r.body[0].status === 'delivered' ? r.body : null;
    });
    expect(recs[0].fileName).toBe(expected);

    const rows = await stack.db.query<{ seq: number; text: string | null }>('SELECT seq, text FROM messages WHERE chat_id = ? ORDER BY seq', [chatId]);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // The greeting is in no produced recording, so its body was purged at the end.
    expect(rows[0].text).toBeNull();
    expect(rows[1].text).toBe('Hello, I need help with my order');
  });
});
