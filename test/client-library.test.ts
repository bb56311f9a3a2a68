import { AgentClient, connectAgent, connectCustomer, CustomerClient, type MessageView, type SentMessage } from '../client/src/index';
import jwt from 'jsonwebtoken';
import { Server } from 'socket.io';
import { ClientError } from '../client/src/index';
import { connectError, freePort, http, sleep, token, waitFor } from './support/app';
import { appStack } from './support/stack';

// The client library (client/) against the real service on MariaDB: acknowledged sends, resends
// across a dropped connection and a service restart, ordered and de-duplicated delivery, and the
// portal joining its chats again after a reconnect.
describe('client library', () => {
  const stack = appStack({ prefix: 'clientlib' });
  const company = 'libco';
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const open: (CustomerClient | AgentClient)[] = [];
  // Quick reconnects keep the test short; the transports are socket.io's default (polling, then websocket).
  const socket = { reconnectionDelay: 200, reconnectionDelayMax: 1000 };
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  async function newChat(agentId: string): Promise<{ chatId: string; customer: CustomerClient; agent: AgentClient; agentSeen: MessageView[] }> {
    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, {
      service: 'sales',
      customer: { name: 'Cy' },
    });
    expect(created.status).toBe(201);
    const { chatId, customerToken } = created.body;
    const customer = await connectCustomer({ url: stack.app.url, token: customerToken, socket });
    const agent = await connectAgent({ url: stack.app.url, token: token({ sub: agentId, company, role: 'agent', name: 'Ann' }), socket });
    open.push(customer, agent);
    const agentSeen: MessageView[] = [];
    agent.on('message', (m) => agentSeen.push(m));
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId })).status).toBe(200);
    await agent.join(chatId);
    return { chatId, customer, agent, agentSeen };
  }

  async function stored(chatId: string, role: string): Promise<{ client_msg_id: string; seq: number }[]> {
    return stack.db.query<{ client_msg_id: string; seq: number }>(
      'SELECT client_msg_id, seq FROM messages WHERE chat_id = ? AND sender_role = ? ORDER BY seq',
      [chatId, role],
    );
  }

  const increasing = (ms: { seq: number }[]) => ms.every((m, i) => i === 0 || m.seq > ms[i - 1].seq);

  it('send resolves after the acknowledgement with the stored seq; the other side gets the messages in order', async () => {
    const { chatId, customer, agent, agentSeen } = await newChat('ag-1');
    const customerSeen: MessageView[] = [];
    customer.on('message', (m) => customerSeen.push(m));
    const sent = await Promise.all(['one', 'two', 'three'].map((t) => customer.send(t)));
    expect(sent.map((s) => s.text)).toEqual(['one', 'two', 'three']);
    expect(sent.map((s) => s.seq)).toEqual([1, 2, 3]);
    expect((await stored(chatId, 'customer')).map((r) => [r.client_msg_id, Number(r.seq)])).toEqual(sent.map((s) => [s.clientMsgId, s.seq]));
    await waitFor('the agent to get three messages', () => agentSeen.length === 3);
    expect(agentSeen.map((m) => [m.seq, m.text])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    const reply = await agent.send(chatId, 'hello');
    expect(reply.seq).toBe(4);
    await waitFor('the customer to get the reply', () => customerSeen.length === 1);
    expect(customerSeen[0]).toMatchObject({ chatId, seq: 4, text: 'hello', from: { role: 'agent', name: 'Ann' } });
    // A refusal is final: the promise rejects with the contract's code and later sends go on.
    await expect(customer.send('x'.repeat(10_001))).rejects.toMatchObject({ code: 'bad_request' });
    expect((await customer.send('after')).seq).toBe(5);
  });

  it('a connection dropped with a message in flight: that message is sent again exactly once and stored once, in order', async () => {
    const { chatId, customer } = await newChat('ag-2');
    const resends: { clientMsgId: string; attempt: number }[] = [];
    customer.on('resend', (r) => resends.push(r));
    let dropped: string | null = null;
    let sixth: string | null = null;
    customer.socket.onAnyOutgoing((event: string, payload: { clientMsgId?: string }) => {
      if (event !== 'message' || dropped) return;
      if (sixth === null && payload.clientMsgId && customer.pendingSends === 15) sixth = payload.clientMsgId;
      if (payload.clientMsgId === sixth) {
        dropped = sixth;
        // After the packet left: the service may store it, but its answer is lost with the connection.
        setTimeout(() => customer.socket.io.engine.close(), 0);
      }
    });
    const texts = Array.from({ length: 20 }, (_, i) => `msg ${i}`);
    const sent = await Promise.all(texts.map((t) => customer.send(t)));
    expect(dropped).not.toBeNull();
    expect(resends).toEqual([{ chatId, clientMsgId: dropped, attempt: 2 }]);
    const rows = await stored(chatId, 'customer');
    expect(rows.map((r) => r.client_msg_id)).toEqual(sent.map((s) => s.clientMsgId));
    expect(rows.map((r) => Number(r.seq))).toEqual(sent.map((s) => s.seq));
    expect(sent.map((s) => s.text)).toEqual(texts);
  });

  it('a service restart in the middle of a stream of sends: every message reported as sent is stored exactly once, in order', async () => {
    const { chatId, customer, agent, agentSeen } = await newChat('ag-3');
    const customerSeen: MessageView[] = [];
    customer.on('message', (m) => customerSeen.push(m));
    const sentByCustomer: SentMessage[] = [];
    const sentByAgent: SentMessage[] = [];
    customer.on('sent', (s) => sentByCustomer.push(s));
    agent.on('sent', (s) => sentByAgent.push(s));
    const rejoined: string[] = [];
    agent.on('rejoined', (r) => rejoined.push(r.chatId));

    const N = 60;
    // kill -9 in the middle of the stream, as the third of it is acknowledged: from the library's
    // own event, not a poll, which a fast service outruns (each send waits for the one before).
    const killed = new Promise<void>((resolve) =>
      customer.on('sent', () => {
        if (sentByCustomer.length === N / 3) resolve(stack.app.kill());
      }),
    );
    const customerSends = Array.from({ length: N }, (_, i) => customer.send(`c${i}`));
    const agentSends = Array.from({ length: N / 3 }, (_, i) => agent.send(chatId, `a${i}`));
    await killed;
    const atKill = sentByCustomer.length;
    await stack.app.restart();
    const customerResults = await Promise.all(customerSends);
    const agentResults = await Promise.all(agentSends);
    expect(atKill).toBeLessThan(N);

    // What the library reported as sent is what is stored: each once, in the order sent.
    const customerRows = await stored(chatId, 'customer');
    expect(customerRows.map((r) => r.client_msg_id)).toEqual(customerResults.map((s) => s.clientMsgId));
    expect(customerRows.map((r) => Number(r.seq))).toEqual(customerResults.map((s) => s.seq));
    expect(customerResults.map((s) => s.text)).toEqual(Array.from({ length: N }, (_, i) => `c${i}`));
    expect(sentByCustomer).toEqual(customerResults);
    const agentRows = await stored(chatId, 'agent');
    expect(agentRows.map((r) => r.client_msg_id)).toEqual(agentResults.map((s) => s.clientMsgId));

    // The portal joined again after the restart and, from the history, has every customer message
    // once and in order; the widget has no history to ask, so it has what it heard, once and in order.
    await waitFor('the agent to join again', () => rejoined.includes(chatId));
    await waitFor('the agent to have every customer message', () => agentSeen.length === N).catch((e: Error) => {
      throw new Error(`${e.message}: ${agentSeen.map((m) => `${m.seq}:${m.text}`).join(' ')}`);
    });
    expect(agentSeen.map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => `c${i}`));
    expect(increasing(agentSeen)).toBe(true);
    expect(increasing(customerSeen)).toBe(true);
    expect(customerSeen.every((m) => m.from.role === 'agent')).toBe(true);
  });

  it('the portal joins its chats again after a reconnect, catches up from the history without duplicates, and hears new messages', async () => {
    const { chatId, customer, agent, agentSeen } = await newChat('ag-4');
    await customer.send('before');
    await waitFor('the first message', () => agentSeen.length === 1);
    const rejoined = new Promise<string>((res) => agent.once('rejoined', (r) => res(r.chatId)));
    agent.socket.io.engine.close();
    await customer.send('while away 1');
    await customer.send('while away 2');
    expect(await rejoined).toBe(chatId);
    expect(agent.chats).toEqual([chatId]);
    // Only a socket back in the chat's room hears this one: the service rebuilds no room on its own.
    await customer.send('after');
    await waitFor('four messages at the agent', () => agentSeen.length >= 4);
    await sleep(300);
    expect(agentSeen.map((m) => [m.seq, m.text])).toEqual([
      [1, 'before'],
      [2, 'while away 1'],
      [3, 'while away 2'],
      [4, 'after'],
    ]);
  });

  // The service's own refusal of a token on a namespace ({code, message} of connect_error).
  async function refusal(ns: '/customer' | '/agent', tokenValue: string): Promise<{ code: string; message: string }> {
    const err = (await connectError(stack.app, ns, tokenValue)) as Error & { data: { code: string } };
    return { code: err.data.code, message: err.message };
  }

  it('a refused token rejects connect with the reason, and the library does not retry', async () => {
    const customerToken = token({ sub: 'c', company, role: 'customer', chat: 'no-such-chat' });
    const asAgent = await refusal('/agent', customerToken);
    expect(asAgent.message).toMatch(/role/);
    await expect(connectAgent({ url: stack.app.url, token: customerToken, socket })).rejects.toMatchObject(asAgent);
    // The expected refusal first: a connect started before it could reject before anything awaits it.
    const asCustomer = { ...(await refusal('/customer', customerToken)), message: 'chat not found' };
    await expect(connectCustomer({ url: stack.app.url, token: customerToken, socket })).rejects.toMatchObject(asCustomer);
  });

  it('the widget takes a token function (sync or async): asked before connecting and at every reconnection, the chat read from its token', async () => {
    for (const kind of ['sync', 'async'] as const) {
      const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'sales' });
      const { chatId, customerToken } = created.body;
      let asked = 0;
      const fn = kind === 'sync' ? () => (asked++, customerToken) : async () => (await sleep(10), asked++, customerToken);
      const widget = await connectCustomer({ url: stack.app.url, token: fn, socket });
      open.push(widget);
      expect(widget.chatId).toBe(chatId);
      expect(asked).toBe(1);
      const first = await widget.send(`${kind} one`);
      expect(first).toMatchObject({ chatId, seq: 1 });
      const back = new Promise<void>((res) => widget.on('status', (st) => st.state === 'connected' && res()));
      widget.socket.io.engine.close();
      await back;
      expect(asked).toBe(2);
      expect(await widget.send(`${kind} two`)).toMatchObject({ chatId, seq: 2 });
      // Constructed directly, a send before the function answered waits for the chat.
      const direct = new CustomerClient({ url: stack.app.url, token: fn, socket });
      open.push(direct);
      expect(await direct.send(`${kind} three`)).toMatchObject({ chatId, seq: 3 });
      expect(direct.chatId).toBe(chatId);
      expect((await stored(chatId, 'customer')).map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    }
  });

  it('a token that is no customer token is refused on the widget by the service, with its reason, as a string or from a function', async () => {
    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'sales' });
    const forged = token({ sub: 'c', company, role: 'customer', chat: created.body.chatId }, { secret: 'not-the-secret-0123456789' });
    const agentToken = token({ sub: 'ag-9', company, role: 'agent' });
    for (const bad of [forged, agentToken]) {
      const expected = await refusal('/customer', bad);
      expect(expected.message).not.toMatch(/chatId/);
      await expect(connectCustomer({ url: stack.app.url, token: bad, socket })).rejects.toMatchObject(expected);
      await expect(connectCustomer({ url: stack.app.url, token: () => bad, socket })).rejects.toMatchObject(expected);
      await expect(connectCustomer({ url: stack.app.url, token: async () => bad, socket })).rejects.toMatchObject(expected);
    }
  });

  // A chat assigned to `agentId`, and the claims of the widget's or the portal's tokens for it (each
  // test mints them with the lifetime it needs).
  async function expiringSide(side: 'widget' | 'portal', agentId: string): Promise<{ chatId: string; claims: Parameters<typeof token>[0] }> {
    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'sales' });
    const { chatId, customerToken } = created.body;
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId })).status).toBe(200);
    const customerSub = (jwt.decode(customerToken) as { sub: string }).sub;
    const claims = side === 'widget' ? { sub: customerSub, company, role: 'customer', chat: chatId } : { sub: agentId, company, role: 'agent', name: 'Ann' };
    return { chatId, claims };
  }

  // Settles within `ms` or fails the test (a promise left pending for ever must not hang it).
  async function settledWithin<T>(what: string, ps: Promise<T>[], ms = 15_000): Promise<PromiseSettledResult<T>[]> {
    const out: PromiseSettledResult<T>[] = [];
    let n = 0;
    ps.forEach((p, i) => {
      p.then(
        (value) => ((out[i] = { status: 'fulfilled', value }), n++),
        (reason: unknown) => ((out[i] = { status: 'rejected', reason }), n++),
      );
    });
    await waitFor(`${what}: every send to settle`, () => n === ps.length, ms).catch(() => {
      throw new Error(`${what}: ${ps.length - n} of ${ps.length} sends still pending after ${ms} ms`);
    });
    return out;
  }

  it.each(['widget', 'portal'] as const)(
    'a token function: after auth.expired the %s connects again with a fresh token and sends what was not acknowledged, each stored once, in order',
    async (side) => {
      const { chatId, claims } = await expiringSide(side, `ag-exp-fn-${side}`);
      let asked = 0;
      const fresh = () => (asked++, token(claims, { expiresIn: 2 }));
      const client =
        side === 'widget'
          ? await connectCustomer({ url: stack.app.url, token: fresh, socket })
          : await connectAgent({ url: stack.app.url, token: fresh, socket });
      open.push(client);
      const send = (text: string) => (client instanceof CustomerClient ? client.send(text) : client.send(chatId, text));
      if (client instanceof AgentClient) await client.join(chatId);
      const statuses: { state: string; reason?: string }[] = [];
      client.on('status', (st) => statuses.push(st));
      let expiries = 0;
      client.on('auth.expired', () => expiries++);
      const errors: ClientError[] = [];
      client.on('error', (e) => errors.push(e));
      const rejoined: string[] = [];
      client.on('rejoined', (r) => rejoined.push(r.chatId));
      const resends: string[] = [];
      client.on('resend', (r) => resends.push(r.clientMsgId));

      // A steady stream of sends across at least one expiry (tokens last 1 to 2 s), and sends made
      // as an expiry is announced, waiting when the disconnect comes.
      const texts: string[] = [];
      const sends: Promise<SentMessage>[] = [];
      const sendText = (text: string) => (texts.push(text), sends.push(send(text)));
      client.on('auth.expired', () => [1, 2, 3].forEach((k) => sendText(`${side} at expiry ${expiries}.${k}`)));
      const until = Date.now() + 4_000;
      for (let i = 0; Date.now() < until; i++) {
        sendText(`${side} ${i}`);
        await sleep(20);
      }
      const results = await settledWithin('sends across the expiry', sends);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const sent = results.map((r) => (r as PromiseFulfilledResult<SentMessage>).value);
      expect(expiries).toBeGreaterThanOrEqual(1);
      expect(asked).toBeGreaterThanOrEqual(2);
      expect(statuses).toContainEqual({ state: 'disconnected', reason: 'token expired' });
      expect(errors).toEqual([]);
      expect(client.connectionState).toBe('connected');
      expect(client.pendingSends).toBe(0);
      if (side === 'portal') expect(rejoined).toContain(chatId);
      const rows = await stored(chatId, side === 'widget' ? 'customer' : 'agent');
      expect(rows.map((r) => r.client_msg_id)).toEqual(sent.map((m) => m.clientMsgId));
      expect(rows.map((r) => Number(r.seq))).toEqual(sent.map((m) => m.seq));
      expect(sent.map((m) => m.text)).toEqual(texts);
      expect(texts.filter((t) => t.includes('at expiry')).length).toBeGreaterThanOrEqual(3);
      expect(resends.length).toBeGreaterThanOrEqual(1);
    },
  );

  it.each(['widget', 'portal'] as const)(
    'a token string: after auth.expired the %s closes and refuses every waiting and later send as unauthorized; none is left pending',
    async (side) => {
      const { chatId, claims } = await expiringSide(side, `ag-exp-str-${side}`);
      const short = token(claims, { expiresIn: 2 });
      const client =
        side === 'widget'
          ? await connectCustomer({ url: stack.app.url, token: short, socket })
          : await connectAgent({ url: stack.app.url, token: short, socket });
      open.push(client);
      const send = (text: string) => (client instanceof CustomerClient ? client.send(text) : client.send(chatId, text));
      if (client instanceof AgentClient) await client.join(chatId);
      const errors: ClientError[] = [];
      client.on('error', (e) => errors.push(e));
      const sends: Promise<SentMessage>[] = [send('before')];
      // Sends made as the expiry is announced are waiting when the disconnect comes.
      const expired = new Promise<void>((res) =>
        client.on('auth.expired', () => {
          for (let i = 0; i < 5; i++) sends.push(send(`at expiry ${i}`));
          res();
        }),
      );
      await expired;
      const results = await settledWithin('sends at the expiry', sends);
      await waitFor('the client to close', () => client.connectionState === 'closed', 5_000);
      expect(results[0]).toMatchObject({ status: 'fulfilled' });
      const refused = results.slice(1);
      expect(refused.every((r) => r.status === 'rejected' && r.reason instanceof ClientError && r.reason.code === 'unauthorized')).toBe(true);
      expect(client.pendingSends).toBe(0);
      const later = send('later');
      await expect(settledWithin('a later send', [later], 5_000)).resolves.toMatchObject([{ status: 'rejected' }]);
      await expect(later).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/token expired/) });
      if (client instanceof AgentClient) await expect(client.pause(chatId)).rejects.toMatchObject({ code: 'unauthorized' });
      expect(errors.map((e) => e.code)).toEqual(['unauthorized']);
      expect((await stored(chatId, side === 'widget' ? 'customer' : 'agent')).length).toBe(1);
    },
  );

  it('a disconnect by the service for another reason, or of the socket by hand, refuses every waiting and later send', async () => {
    // A stand-in service that disconnects a socket when it sends a message (the real one only
    // disconnects at a token's expiry).
    const port = await freePort();
    const server = new Server(port);
    server.of('/agent').on('connection', (s) => s.on('message', () => s.disconnect(true)));
    try {
      const portal = await connectAgent({ url: `http://127.0.0.1:${port}`, token: () => 'any', socket });
      open.push(portal);
      const sends = [portal.send('c', 'one'), portal.send('c', 'two')];
      const results = await settledWithin('sends at the disconnect', sends, 5_000);
      expect(results.map((r) => r.status === 'rejected' && (r.reason as ClientError).code)).toEqual(['unavailable', 'unavailable']);
      await expect(portal.send('c', 'later')).rejects.toMatchObject({ code: 'unavailable' });
      expect(portal.connectionState).toBe('closed');

      const byHand = await connectAgent({ url: `http://127.0.0.1:${port}`, token: 'any', socket });
      open.push(byHand);
      byHand.socket.disconnect();
      const late = byHand.send('c', 'after');
      expect(await settledWithin('a send after the socket was disconnected by hand', [late], 5_000)).toMatchObject([{ status: 'rejected' }]);
      expect(byHand.pendingSends).toBe(0);
    } finally {
      await new Promise<void>((res) => void server.close(() => res()));
    }
  });

  it('recording state and the chat end are events', async () => {
    const { chatId, customer, agent } = await newChat('ag-5');
    const states: string[] = [];
    customer.on('recording.state', (s) => states.push(s.state));
    expect(await agent.pause(chatId)).toBe('paused');
    await waitFor('paused at the customer', () => states.includes('paused'));
    expect(await agent.resume(chatId)).toBe('recording');
    await waitFor('recording again at the customer', () => states[states.length - 1] === 'recording');
    const ended = new Promise<string>((res) => customer.once('chat.ended', (e) => res(e.chatId)));
    await agent.end(chatId);
    expect(await ended).toBe(chatId);
    expect(agent.chats).toEqual([]);
  });
});
