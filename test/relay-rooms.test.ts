// Who hears a chat's message: every other socket in the chat, in both namespaces (a customer's
// second tab, the agent, a supervisor who joined), never the sender's own socket and never a socket
// of another chat. One instance (its rooms known locally: a namespace with nobody else in the room
// is skipped) and two over Redis (rooms shared: every namespace is told).
import type { Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, connect, emit, migrate, sleep, startApp, token } from './support/app';
import { openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';

describe.each([['one instance'], ['two instances over Redis']])('the relay reaches the chat, and only the chat (%s)', (setup) => {
  let db: TestDatabase;
  let a: AppHandle;
  let b: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase('rooms');
    await migrate(db.url);
    const env: Record<string, string> = setup === 'one instance' ? {} : { REDIS_URL: 'redis://127.0.0.1:6379' };
    a = await startApp({ databaseUrl: db.url, env });
    b = setup === 'one instance' ? a : await startApp({ databaseUrl: db.url, env });
  });
  afterAll(async () => {
    for (const x of new Set([a, b])) {
      await x?.stop();
      if (x) cleanupDir(x.workDir);
    }
    await db?.drop();
  });

  it("a customer's message reaches the second tab, the agent and a supervisor; the agent's reaches both tabs; nothing crosses to another chat", async () => {
    const company = setup === 'one instance' ? 'rooms-one' : 'rooms-two';
    const chat = await openChat(a, company);
    const other = await openChat(a, company, { agentId: 'agent-2' });
    const sockets: Socket[] = [];
    try {
      const secondTab = await connect(b, '/customer', chat.customerToken);
      const supervisor = await connect(b, '/agent', token({ sub: 'sup-1', company, role: 'supervisor', name: 'Sue' }));
      sockets.push(secondTab, supervisor);
      expect((await emit(supervisor, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
      const heard = new Map<string, string[]>();
      const listen = (name: string, s: Socket) => s.on('message', (m: { text: string }) => heard.set(name, [...(heard.get(name) ?? []), m.text]));
      listen('customer', chat.customer);
      listen('second tab', secondTab);
      listen('agent', chat.agent);
      listen('supervisor', supervisor);
      listen('other customer', other.customer);
      listen('other agent', other.agent);

      expect((await emit(chat.customer, 'message', { clientMsgId: 'c1', text: 'from the customer' })).ok).toBe(true);
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'a1', text: 'from the agent' })).ok).toBe(true);
      expect((await emit(other.customer, 'message', { clientMsgId: 'o1', text: 'from the other chat' })).ok).toBe(true);
      // Relayed after the commit; the last one sent is heard last.
      const deadline = Date.now() + 10_000;
      while ((heard.get('other agent') ?? []).length < 1 || (heard.get('supervisor') ?? []).length < 2) {
        if (Date.now() > deadline) break;
        await sleep(20);
      }
      await sleep(200);
      expect(Object.fromEntries([...heard.entries()].sort())).toEqual({
        agent: ['from the customer'],
        customer: ['from the agent'],
        'other agent': ['from the other chat'],
        'second tab': ['from the customer', 'from the agent'],
        supervisor: ['from the customer', 'from the agent'],
      });
    } finally {
      sockets.forEach((s) => s.close());
      chat.close();
      other.close();
    }
  });
});
