import { io } from 'socket.io-client';
import { connect, connectError, emit, http, next, token, waitFor } from './support/app';
import { endChat, openChat } from './support/chat-driver';
import { appStack } from './support/stack';

interface AuditView {
  action: string;
  chatId: string | null;
  detail: Record<string, unknown> | null;
}

// Issue 9 items 7, 9 and 18: tokens are checked for as long as a socket lives, the default
// namespace is closed, and an abuse flag on an ended chat is a conflict, not an access violation.
describe('socket authentication over a socket lifetime', () => {
  const stack = appStack({ prefix: 'sockauth' });
  const company = 'sockauth';
  const admin = token({ sub: 'adm', company, role: 'admin' });

  it('disconnects a socket when its token expires, after auth.expired {reason}, and refuses the same token again', async () => {
    const chat = await openChat(stack.app, company, { agentId: 'short-lived' });
    const short = token({ sub: 'short-lived', company, role: 'agent', name: 'Shorty' }, { expiresIn: 3 });
    const s = await connect(stack.app, '/agent', short);
    try {
      const expired = next<{ reason: string }>(s, 'auth.expired', 15_000);
      const disconnected = next<string>(s, 'disconnect', 15_000);
      expect(await emit(s, 'chat.join', { chatId: chat.chatId })).toMatchObject({ ok: true });
      expect(await expired).toEqual({ reason: 'token expired' });
      expect(await disconnected).toBe('io server disconnect');
      const again = await connectError(stack.app, '/agent', short);
      expect(again.message).toBe('token expired');
      // The chat goes on for the others.
      expect(await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'still', text: 'still here' })).toMatchObject({ ok: true });
    } finally {
      s.close();
      chat.close();
    }
  });

  it('refuses connections to the default namespace, with and without a token', async () => {
    const valid = token({ sub: 'a1', company, role: 'agent' });
    for (const auth of [{}, { token: valid }]) {
      const s = io(`${stack.app.url}/`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const outcome = await new Promise<string>((res) => {
          const t = setTimeout(() => res('no answer'), 10_000);
          s.once('connect', () => (clearTimeout(t), res('connected')));
          s.once('connect_error', (e) => (clearTimeout(t), res(`refused: ${e.message}`)));
        });
        expect(outcome).toBe('refused: no such namespace: connect to /customer or /agent');
      } finally {
        s.close();
      }
    }
  });

  it('answers an abuse flag on an ended chat conflict, and audits no access.denied for it', async () => {
    const chat = await openChat(stack.app, company, { agentId: 'late-flagger' });
    try {
      await endChat(chat);
      const flagged = await emit(chat.agent, 'chat.flagAbusive', { chatId: chat.chatId, reason: 'too late' });
      expect(flagged).toMatchObject({ ok: false, error: { code: 'conflict' } });
      // A refusal that is audited, to know the audit trail has caught up.
      const sentinel = 'no-such-chat-sentinel';
      expect(await emit(chat.agent, 'chat.flagAbusive', { chatId: sentinel, reason: 'x' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
      await waitFor('the sentinel refusal in the audit', async () => {
        const r = await http<AuditView[]>(stack.app, 'GET', `/v1/admin/audit?chatId=${sentinel}`, admin);
        return r.body.some((a) => a.action === 'access.denied');
      });
      const audit = await http<AuditView[]>(stack.app, 'GET', `/v1/admin/audit?chatId=${chat.chatId}`, admin);
      expect(audit.status).toBe(200);
      expect(audit.body.filter((a) => a.action === 'access.denied')).toEqual([]);
    } finally {
      chat.close();
    }
  });
});
