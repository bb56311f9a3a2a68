import type { Socket } from 'socket.io-client';
import { connect, emit, http, token, waitFor } from './support/app';
import { DrivenChat, endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { deliveryStack } from './support/stack';

interface RecordingView {
  id: string;
  kind: string;
  agentId: string | null;
  status: string;
  fileName: string | null;
}

// Contract section 4: an agent's recording runs from its join to its leave. Someone who leaves and
// comes back has one recording with a gap: its file never holds what was said while it was away.
describe('agent recordings capture only while the agent is in the chat', () => {
  const stack = deliveryStack({ prefix: 'segments' });
  const company = 'segments';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const sockets: Socket[] = [];

  beforeAll(async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/unsampled', admin, { samplingPercent: 0, login: 'unsampled' })).status).toBe(200);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
  });

  async function settle(chatId: string): Promise<RecordingView[]> {
    return waitFor('final outcomes', async () => {
      const r = (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;
      return r.length > 0 && r.every((x) => ['delivered', 'suppressed', 'failed'].includes(x.status)) ? r : null;
    });
  }
  const fileOf = (recs: RecordingView[], agentId: string) => stack.sshd.readFile(recs.find((r) => r.agentId === agentId)?.fileName as string);
  const agentSocket = async (sub: string, role = 'agent', name?: string) => {
    const s = await connect(stack.app, '/agent', token({ sub, company, role, ...(name ? { name } : {}) }));
    sockets.push(s);
    return s;
  };
  const say = async (s: Socket, chatId: string, id: string, text: string) =>
    expect((await emit(s, 'message', { chatId, clientMsgId: id, text })).ok).toBe(true);

  // A -> B -> A: B's conversation is B's alone.
  async function transferRoundTrip(toAgentId: string): Promise<DrivenChat> {
    const chat = await openChat(stack.app, company, { agentId: 'agent-a', agentName: 'Alice' });
    await exchange(chat, ['hello', 'Alice here']);
    const b = await agentSocket(toAgentId, 'agent', 'Bob');
    expect((await emit(chat.agent, 'chat.transfer', { chatId: chat.chatId, toAgentId })).ok).toBe(true);
    expect((await emit(b, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
    expect((await emit(chat.customer, 'message', { clientMsgId: 'to-b', text: 'told only to Bob' })).ok).toBe(true);
    await say(b, chat.chatId, 'b1', 'Bob answering');
    expect((await emit(b, 'chat.transfer', { chatId: chat.chatId, toAgentId: 'agent-a' })).ok).toBe(true);
    expect((await emit(chat.agent, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
    await say(chat.agent, chat.chatId, 'a-back', 'Alice again');
    await endChat(chat);
    chat.close();
    return chat;
  }

  it('after a transfer A -> B -> A, A has one file without B conversation, showing the leave and the rejoin', async () => {
    const chat = await transferRoundTrip('agent-b');
    const recs = await settle(chat.chatId);
    expect(recs.filter((r) => r.agentId === 'agent-a')).toHaveLength(1);
    expect(recs.every((r) => r.status === 'delivered')).toBe(true);
    const a = fileOf(recs, 'agent-a');
    expect(a).toContain('Alice here');
    expect(a).toContain('Alice again');
    expect(a).not.toContain('told only to Bob');
    expect(a).not.toContain('Bob answering');
    expect(a).toMatch(/agent Alice left \(transferred\)[\s\S]*agent Alice joined/);
    expect(a.match(/agent Alice joined/g)).toHaveLength(2);
    const b = fileOf(recs, 'agent-b');
    expect(b).toContain('told only to Bob');
    expect(b).toContain('Bob answering');
    expect(b).not.toContain('Alice here');
    expect(b).not.toContain('Alice again');
  });

  it('bodies no produced recording captured are purged at the end, also inside a returning agent span', async () => {
    const chat = await transferRoundTrip('unsampled');
    const recs = await settle(chat.chatId);
    expect(recs.find((r) => r.agentId === 'unsampled')?.status).toBe('suppressed');
    const rows = await stack.db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq', [chat.chatId]);
    expect(rows.map((r) => r.text)).toEqual(['hello', 'Alice here', null, null, 'Alice again']);
  });

  it('a supervisor who left and came back has nothing of what was said while away', async () => {
    const chat = await openChat(stack.app, company, { agentId: 'agent-c', agentName: 'Carl' });
    await exchange(chat, ['hi', 'Carl here']);
    const sup = await agentSocket('sup-s', 'supervisor', 'Sam');
    expect((await emit(sup, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
    await say(sup, chat.chatId, 's1', 'Sam listening');
    expect((await emit(sup, 'chat.leave', { chatId: chat.chatId })).ok).toBe(true);
    expect((await emit(chat.customer, 'message', { clientMsgId: 'away', text: 'said while Sam was away' })).ok).toBe(true);
    expect((await emit(sup, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
    await say(sup, chat.chatId, 's2', 'Sam is back');
    // leaving and coming back without anything said in between still shows both markers
    expect((await emit(sup, 'chat.leave', { chatId: chat.chatId })).ok).toBe(true);
    expect((await emit(sup, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
    await endChat(chat);
    chat.close();
    const recs = await settle(chat.chatId);
    expect(recs.filter((r) => r.agentId === 'sup-s')).toHaveLength(1);
    const s = fileOf(recs, 'sup-s');
    expect(s).toContain('Sam listening');
    expect(s).toContain('Sam is back');
    expect(s).not.toContain('said while Sam was away');
    expect(s.match(/supervisor Sam joined/g)).toHaveLength(3);
    expect(s.match(/supervisor Sam left/g)).toHaveLength(2);
    // the agent who stayed has it all
    expect(fileOf(recs, 'agent-c')).toContain('said while Sam was away');
  });

  // Messages sent without waiting from one tab while another tab of the same agent moves it out:
  // each is either refused, or acked and in the agent's own file (it was said while the agent was
  // in the chat). Before the check under the chat's lock, one of them was acked, stored after the
  // leave and in none of the agent's files.
  it.each(['chat.leave', 'chat.transfer'] as const)("never acks an agent's message that its file leaves out (%s racing the messages)", async (how) => {
    const chat = await openChat(stack.app, company, { agentId: 'agent-r', agentName: 'Rae' });
    const tab2 = await agentSocket('agent-r', 'agent', 'Rae');
    await agentSocket('agent-t', 'agent', 'Tom');
    const sends: Promise<{ ok: boolean }>[] = [];
    for (let i = 0; i < 40; i++) {
      sends.push(emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: `r${i}`, text: `rae says ${i}` }));
      if (i === 20) {
        const moved =
          how === 'chat.leave' ? emit(tab2, 'chat.leave', { chatId: chat.chatId }) : emit(tab2, 'chat.transfer', { chatId: chat.chatId, toAgentId: 'agent-t' });
        void moved;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const acks = await Promise.all(sends);
    const flow = token({ sub: 'flow', company, role: 'flow' });
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/end`, flow)).status).toBe(200);
    chat.close();
    const recs = await settle(chat.chatId);
    const file = fileOf(recs, 'agent-r');
    const acked = acks.flatMap((a, i) => (a.ok ? [i] : []));
    expect(acked.length).toBeGreaterThan(0);
    for (const i of acked) expect([i, file.includes(`rae says ${i}`)]).toEqual([i, true]);
    // What the file holds was acked, and nothing after the leave.
    for (let i = 0; i < 40; i++) if (!acks[i].ok) expect([i, file.includes(`rae says ${i}`)]).toEqual([i, false]);
  });
});
