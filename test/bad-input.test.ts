import { connect as netConnect } from 'node:net';
import type { Socket } from 'socket.io-client';
import { connect, connectError, emit, http, token } from './support/app';
import { appStack } from './support/stack';

// Every path of the foundation answers bad input with the contract's error shape and leaves the
// process and the stored chat intact.
describe('bad input and credentials', () => {
  const stack = appStack();
  const company = 'badco';
  const flow = token({ sub: 'flow-1', company, role: 'flow' });
  const admin = token({ sub: 'admin-1', company, role: 'admin' });
  let chatId: string;
  let customer: Socket;
  let agent: Socket;

  beforeAll(async () => {
    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'support' });
    chatId = created.body.chatId;
    customer = await connect(stack.app, '/customer', created.body.customerToken);
    agent = await connect(stack.app, '/agent', token({ sub: 'agent-1', company, role: 'agent' }));
    await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'agent-1' });
    expect((await emit(agent, 'chat.join', { chatId })).ok).toBe(true);
    expect((await emit(customer, 'message', { clientMsgId: 'ok-1', text: 'a good message' })).ok).toBe(true);
  });

  afterAll(async () => {
    customer?.close();
    agent?.close();
  });

  const storedCount = async () => (await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?', [chatId]))[0].n;

  describe('socket payloads', () => {
    const cases: [string, string, unknown, string][] = [
      ['customer', 'no.such.event', {}, 'unknown event'],
      ['customer', 'message', undefined, 'clientMsgId'],
      ['customer', 'message', { clientMsgId: 'x' }, 'text'],
      ['customer', 'message', { clientMsgId: 42, text: 'hi' }, 'clientMsgId'],
      ['customer', 'message', { clientMsgId: 'x', text: ['hi'] }, 'text'],
      ['customer', 'message', { clientMsgId: 'x', text: '' }, 'empty'],
      ['customer', 'message', 'just a string', 'object'],
      ['customer', 'message', [1, 2], 'object'],
      ['customer', 'message', { clientMsgId: 'x'.repeat(129), text: 'hi' }, 'clientMsgId'],
      ['customer', 'consent.answer', { granted: 'yes' }, 'granted'],
      ['agent', 'message', { clientMsgId: 'x', text: 'hi' }, 'chatId'],
      ['agent', 'chat.join', { chatId: 5 }, 'chatId'],
      ['agent', 'chat.flagAbusive', { chatId: 'c' }, 'reason'],
      ['agent', 'chat.transfer', { chatId: 'c', toAgentId: null }, 'toAgentId'],
      ['agent', 'whatever', { chatId: 'c' }, 'unknown event'],
    ];
    it.each(cases)('%s %s %j is a bad_request naming %s', async (who, event, payload, mentions) => {
      const s = who === 'customer' ? customer : agent;
      const ack = await emit(s, event, payload);
      expect(ack.ok).toBe(false);
      expect(ack.error?.code).toBe('bad_request');
      expect(ack.error?.message).toContain(mentions);
    });

    it('refuses a text over the limit with bad_request (the frame itself gets through)', async () => {
      const before = await storedCount();
      const ack = await emit(customer, 'message', { clientMsgId: 'big', text: 'x'.repeat(10_001) });
      expect(ack).toEqual({ ok: false, error: { code: 'bad_request', message: 'text is longer than 10000 characters' } });
      const atLimit = await emit(customer, 'message', { clientMsgId: 'at-limit', text: 'y'.repeat(10_000) });
      expect(atLimit.ok).toBe(true);
      // The limit is in characters: an emoji is one (two UTF-16 units), a lone surrogate one too.
      const emoji = await emit(customer, 'message', { clientMsgId: 'emoji-at-limit', text: '\u{1F600}'.repeat(9_999) + '\ud800' });
      expect(emoji.ok).toBe(true);
      expect(await emit(customer, 'message', { clientMsgId: 'emoji-over', text: '\u{1F600}'.repeat(10_001) })).toEqual({
        ok: false,
        error: { code: 'bad_request', message: 'text is longer than 10000 characters' },
      });
      expect(await storedCount()).toBe(before + 2);
    });

    it('answers not_found for an unknown chat and forbidden for a chat not joined', async () => {
      expect((await emit(agent, 'chat.join', { chatId: 'no-such-chat' })).error?.code).toBe('not_found');
      expect((await emit(agent, 'message', { chatId: 'no-such-chat', clientMsgId: 'z', text: 'hi' })).error?.code).toBe('not_found');
      const other = await http<{ chatId: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'support' });
      expect((await emit(agent, 'message', { chatId: other.body.chatId, clientMsgId: 'z', text: 'hi' })).error?.code).toBe('forbidden');
      expect((await emit(agent, 'chat.join', { chatId: other.body.chatId })).error?.code).toBe('forbidden'); // not assigned
    });

    it('keeps the process and the stored chat intact after all of it', async () => {
      const before = await storedCount();
      const ack = await emit(customer, 'message', { clientMsgId: 'after', text: 'still here' });
      expect(ack.ok).toBe(true);
      expect(await storedCount()).toBe(before + 1);
      const rows = await stack.db.query<{ text: string }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq LIMIT 1', [chatId]);
      expect(rows[0].text).toBe('a good message');
    });
  });

  describe('socket credentials, checked at connection', () => {
    it('refuses a missing, forged, expired or wrong-role token with a reason', async () => {
      expect((await connectError(stack.app, '/agent', undefined)).message).toBe('missing token');
      expect((await connectError(stack.app, '/agent', 'not-a-jwt')).message).toBe('invalid token');
      expect((await connectError(stack.app, '/agent', token({ sub: 'a', company, role: 'agent' }, { secret: 'another-secret-0123456789' }))).message).toBe(
        'invalid token',
      );
      expect((await connectError(stack.app, '/agent', token({ sub: 'a', company, role: 'agent' }, { expiresIn: -10 }))).message).toBe('token expired');
      expect((await connectError(stack.app, '/agent', token({ sub: 'a', company, role: 'flow' }))).message).toMatch(/role flow/);
      expect((await connectError(stack.app, '/customer', token({ sub: 'a', company, role: 'agent' }))).message).toMatch(/role agent/);
      expect((await connectError(stack.app, '/customer', token({ sub: 'c', company, role: 'customer' }))).message).toBe('customer token has no chat');
      // a customer token naming a chat of another company finds nothing
      expect((await connectError(stack.app, '/customer', token({ sub: 'c', company: 'otherco', role: 'customer', chat: chatId }))).message).toBe(
        'chat not found',
      );
      expect((await connectError(stack.app, '/agent', token({ sub: 'a', company: 'bad company!', role: 'agent' }))).message).toBe(
        'token company is missing or invalid',
      );
    });
  });

  describe('REST', () => {
    it('answers 401/403 for bad credentials', async () => {
      expect((await http(stack.app, 'POST', '/v1/flow/chats', null, { service: 's' })).status).toBe(401);
      expect((await http(stack.app, 'POST', '/v1/flow/chats', 'garbage', { service: 's' })).body).toMatchObject({ statusCode: 401, code: 'unauthorized' });
      expect((await http(stack.app, 'POST', '/v1/flow/chats', admin, { service: 's' })).body).toMatchObject({ statusCode: 403, code: 'forbidden' });
      expect((await http(stack.app, 'GET', '/v1/admin/settings', flow)).status).toBe(403);
    });

    it('answers 400 naming the field for invalid bodies', async () => {
      const r1 = await http(stack.app, 'POST', '/v1/flow/chats', flow, { service: 42 });
      expect(r1.body).toMatchObject({ statusCode: 400, code: 'bad_request' });
      expect((r1.body as { message: string }).message).toContain('service');
      const r2 = await http(stack.app, 'POST', '/v1/flow/chats', flow, '{"service": ');
      expect(r2.body).toEqual({ statusCode: 400, code: 'bad_request', message: 'body is not valid JSON' });
      const r3 = await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: 'x'.repeat(10_001) });
      expect(r3.body).toMatchObject({ statusCode: 400, code: 'bad_request' });
      const r4 = await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, {});
      expect((r4.body as { message: string }).message).toContain('agentId');
      const r5 = await http(stack.app, 'POST', '/v1/flow/chats', flow, { service: 's', customer: { name: 7 } });
      expect((r5.body as { message: string }).message).toContain('customer.name');
    });

    // Express's parsers leave a body of another type unread: a text/plain PUT of the settings
    // answered 200 having changed nothing, and a form-encoded erasure request was accepted.
    it('refuses a body that is not JSON, and needs no content type without a body', async () => {
      const send = (method: string, path: string, contentType: string | null, body: string | undefined) =>
        fetch(`${stack.app.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${admin}`, ...(contentType ? { 'content-type': contentType } : {}) },
          body,
        });
      const refusal = { statusCode: 400, code: 'bad_request', message: 'the request body must be JSON (content-type: application/json)' };
      for (const [method, path, type, body] of [
        ['PUT', '/v1/admin/settings', 'text/plain', 'recordingEnabled=false'],
        ['PUT', '/v1/admin/settings', 'application/x-www-form-urlencoded', 'recordingEnabled=false'],
        ['POST', '/v1/admin/erasures', 'application/x-www-form-urlencoded', 'customerId=cust-1'],
        ['PUT', '/v1/admin/settings', null, '{"recordingEnabled":false}'],
      ] as const) {
        const r = await send(method, path, type, body);
        expect([path, type, r.status]).toEqual([path, type, 400]);
        expect(await r.json()).toEqual(refusal);
      }
      const settings = await http<{ recordingEnabled: boolean }>(stack.app, 'GET', '/v1/admin/settings', admin);
      expect(settings.body.recordingEnabled).toBe(true);
      const charset = await send('PUT', '/v1/admin/settings', 'application/json; charset=utf-8', '{"retentionDays":30}');
      expect(charset.status).toBe(200);
      // A structured +json type is JSON too (docs/api.md), and is read, not let through empty.
      for (const [type, days] of [
        ['application/merge-patch+json', 31],
        ['application/vnd.api+json; charset=utf-8', 32],
      ] as const) {
        const plus = await send('PUT', '/v1/admin/settings', type, JSON.stringify({ retentionDays: days }));
        expect([type, plus.status]).toEqual([type, 200]);
        const now = await http<{ retentionDays: number }>(stack.app, 'GET', '/v1/admin/settings', admin);
        expect([type, now.body.retentionDays]).toEqual([type, days]);
      }
      // Without a body (an end, a retry) no content type is needed: this one reaches the route.
      const noBody = await fetch(`${stack.app.url}/v1/flow/chats/no-such-chat/end`, { method: 'POST', headers: { authorization: `Bearer ${flow}` } });
      expect(noBody.status).toBe(404);
    });

    // The customer id becomes the customer token's sub: every id accepted must give a token the
    // widget can connect with (a 129-255 character id, or one with a lone surrogate, gave a token
    // that the /customer handshake refused).
    it('accepts only customer ids that its customer token can carry', async () => {
      const create = (id: unknown) =>
        http<{ customerToken: string; message?: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 's', customer: { id } });
      // In characters: 255 emoji are 510 UTF-16 units.
      for (const id of ['c'.repeat(255), 'é'.repeat(200), '😀'.repeat(255), 'x'.repeat(254) + '😀']) {
        const created = await create(id);
        expect(created.status).toBe(201);
        const widget = await connect(stack.app, '/customer', created.body.customerToken);
        try {
          expect(await emit(widget, 'message', { clientMsgId: 'long-id', text: 'hello' })).toMatchObject({ ok: true, seq: 1 });
        } finally {
          widget.close();
        }
      }
      for (const id of ['c'.repeat(256), '😀'.repeat(256), '', 'a\ud800b']) {
        const refused = await create(id);
        expect([id.length, refused.status]).toEqual([id.length, 400]);
        expect(refused.body.message).toContain('customer.id');
      }
    });

    // Refused by Node's HTTP parser before any route: the same JSON error shape, not a bare status line.
    it('answers headers over the limit 431 and a request that is not HTTP 400, with a JSON body', async () => {
      const raw = (request: Buffer) =>
        new Promise<string>((resolve, reject) => {
          const s = netConnect(stack.app.port, '127.0.0.1', () => s.end(request));
          let got = '';
          s.on('data', (d: Buffer) => (got += d.toString()));
          s.on('close', () => resolve(got));
          s.on('error', reject);
        });
      const huge = await raw(Buffer.from(`GET /v1/admin/settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(100_000)}\r\n\r\n`));
      expect(huge.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toEqual({
        statusCode: 431,
        code: 'bad_request',
        message: 'the request headers are too large',
      });
      const garbage = await raw(Buffer.from('NOT HTTP AT ALL\r\n\r\n'));
      expect(garbage.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 400, code: 'bad_request' });
      // The service goes on.
      expect((await http(stack.app, 'GET', '/v1/admin/settings', admin)).status).toBe(200);
    });

    it("answers 404 for an unknown chat or another company's chat", async () => {
      expect((await http(stack.app, 'POST', '/v1/flow/chats/nope/end', flow)).body).toMatchObject({ statusCode: 404, code: 'not_found' });
      const otherFlow = token({ sub: 'flow-x', company: 'otherco', role: 'flow' });
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/messages`, otherFlow, { text: 'hi' })).status).toBe(404);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, otherFlow)).status).toBe(404);
    });
  });
});
