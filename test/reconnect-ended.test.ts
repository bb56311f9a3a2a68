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
