import { io, Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, http, sleep, startApp, token } from './support/app';

// Contract section 3: the customer receives `chat.ended {chatId}`. A widget that was away when its
// chat ended (a dropped connection, a tab asleep) and connects again is told at once, over either
// transport, instead of learning it from a refused message.
describe('a widget that connects to a chat that has ended', () => {
  let app: AppHandle;
  const company = 'reconnect-ended';
  const flow = token({ sub: 'flow', company, role: 'flow' });

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  // Connects with the listeners in place before the connection opens; collects what arrives.
  const connectCollecting = async (customerToken: string, transport: 'websocket' | 'polling') => {
    const received: { event: string; payload: unknown }[] = [];
    const s: Socket = io(`${app.url}/customer`, { auth: { token: customerToken }, transports: [transport], reconnection: false, forceNew: true });
    s.onAny((event: string, payload: unknown) => received.push({ event, payload }));
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('connect_error', (e) => rej(e));
    });
    return { s, received };
  };

  // docs/api.md: creating again with the chat's externalId gives the same chat and a new token,
  // which connects even after the end (and is told so).
  it('gives a fresh customer token for a chat created again with its externalId, ended or not', async () => {
    const body = { service: 'sales', externalId: 'ext-refresh-1', customer: { id: 'cust-9', name: 'Nina' } };
    const first = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, body);
    expect(first.status).toBe(201);
    await sleep(1100); // a token's iat is in seconds
    const again = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
      ...body,
      service: 'other',
      customer: { id: 'x' },
    });
    expect(again.status).toBe(201);
    expect(again.body.chatId).toBe(first.body.chatId);
    expect(again.body.customerToken).not.toBe(first.body.customerToken);
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()) as { sub: string; iat: number; exp: number };
    expect(claims(again.body.customerToken).sub).toBe('cust-9');
    expect(claims(again.body.customerToken).exp).toBeGreaterThan(claims(first.body.customerToken).exp);
    expect((await http(app, 'POST', `/v1/flow/chats/${first.body.chatId}/end`, flow)).status).toBe(200);
    const afterEnd = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, body);
    expect(afterEnd.body.chatId).toBe(first.body.chatId);
    const widget = await connectCollecting(afterEnd.body.customerToken, 'websocket');
    try {
      for (let i = 0; i < 50 && !widget.received.some((r) => r.event === 'chat.ended'); i++) await sleep(50);
      expect(widget.received.map((r) => r.event)).toContain('chat.ended');
    } finally {
      widget.s.close();
    }
  });

  it.each(['websocket', 'polling'] as const)('receives chat.ended on connecting (%s)', async (transport) => {
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, { service: 'sales' });
    const { chatId, customerToken } = created.body;

    // Connected while the chat is open: no chat.ended.
    const before = await connectCollecting(customerToken, transport);
    await sleep(300);
    expect(before.received.filter((r) => r.event === 'chat.ended')).toEqual([]);
    before.s.close();

    // Away while it ends, then back.
    expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBe(200);
    const after = await connectCollecting(customerToken, transport);
    try {
      for (let i = 0; i < 50 && !after.received.some((r) => r.event === 'chat.ended'); i++) await sleep(50);
      expect(after.received.filter((r) => r.event === 'chat.ended')).toEqual([{ event: 'chat.ended', payload: { chatId } }]);
      // And its messages are still refused as after any end.
      const ack = await after.s.timeout(5000).emitWithAck('message', { clientMsgId: 'late', text: 'anyone?' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'conflict' } });
    } finally {
      after.s.close();
    }
  });
});
