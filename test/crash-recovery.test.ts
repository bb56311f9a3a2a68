import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { connect, emit, http, sleep, token, waitFor } from './support/app';
import { openChat } from './support/chat-driver';
import { filesUnder } from './support/files';
import { appStack } from './support/stack';

interface Sender {
  chatId: string;
  role: 'customer' | 'agent';
  token: string;
  socket: Socket;
  n: number; // next message number
  acked: Map<string, number>; // clientMsgId -> seq
  unacked: string[]; // sent without an answer, in order
}

// kill -9 of the service at random points while chats are busy, repeated in a bounded loop.
describe('process death', () => {
  const stack = appStack({ prefix: 'crash', env: { DELIVERY_LEASE_MS: '2000', IDLE_SWEEP_MS: '300' } });
  const company = 'crashco';
  const admin = token({ sub: 'adm', company, role: 'admin' });

  const text = (s: Sender, id: string) => `${s.chatId.slice(0, 8)} ${s.role} ${id}`;

  async function sendUntil(s: Sender, stop: () => boolean): Promise<void> {
    while (!stop()) {
      const id = `${s.role}-${s.n++}`;
      const payload = s.role === 'customer' ? { clientMsgId: id, text: text(s, id) } : { chatId: s.chatId, clientMsgId: id, text: text(s, id) };
      try {
        const ack = await emit(s.socket, 'message', payload, 1500);
        if (ack.ok) s.acked.set(id, ack.seq as number);
        else s.unacked.push(id);
      } catch {
        s.unacked.push(id); // no answer: the client does not know whether it was stored
        return;
      }
    }
  }

  it('keeps every acknowledged message once and in order across repeated kill -9, and the chats go on', async () => {
    const chats = await Promise.all([0, 1, 2].map((i) => openChat(stack.app, company, { agentId: `agent-${i}` })));
    const senders: Sender[] = chats.flatMap((c): Sender[] => [
      { chatId: c.chatId, role: 'customer', token: c.customerToken, socket: c.customer, n: 0, acked: new Map(), unacked: [] },
      { chatId: c.chatId, role: 'agent', token: c.agentToken, socket: c.agent, n: 0, acked: new Map(), unacked: [] },
    ]);

    const ROUNDS = 4;
    for (let round = 0; round < ROUNDS; round++) {
      let stopped = false;
      const loops = senders.map((s) => sendUntil(s, () => stopped));
      await sleep(150 + Math.floor(Math.random() * 450));
      await stack.app.kill();
      stopped = true;
      await Promise.all(loops);
      await stack.app.restart();
      for (const s of senders) {
        s.socket.close();
        s.socket = await connect(stack.app, s.role === 'customer' ? '/customer' : '/agent', s.token);
        if (s.role === 'agent') expect((await emit(s.socket, 'chat.join', { chatId: s.chatId })).ok).toBe(true);
        // what had no answer is sent again with the same clientMsgId
        for (const id of s.unacked.splice(0)) {
          const payload = s.role === 'customer' ? { clientMsgId: id, text: text(s, id) } : { chatId: s.chatId, clientMsgId: id, text: text(s, id) };
          const ack = await emit(s.socket, 'message', payload);
          expect(ack.ok).toBe(true);
          s.acked.set(id, ack.seq as number);
        }
      }
    }

    for (const c of chats) {
      const rows = await stack.db.query<{ seq: number; client_msg_id: string; sender_role: string; text: string }>(
        'SELECT seq, client_msg_id, sender_role, text FROM messages WHERE chat_id = ? ORDER BY seq',
        [c.chatId],
      );
      // seq contiguous, nothing twice
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      const keys = rows.map((r) => `${r.sender_role}/${r.client_msg_id}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const s of senders.filter((x) => x.chatId === c.chatId)) {
        expect(s.acked.size).toBeGreaterThan(0);
        // every acknowledged message is there, under the seq it was acknowledged with
        for (const [id, seq] of s.acked) {
          const row = rows.find((r) => r.seq === seq);
          expect(row).toMatchObject({ client_msg_id: id, sender_role: s.role, text: text(s, id) });
        }
        // and each sender's messages are in the order it sent them
        const mine = rows.filter((r) => r.sender_role === s.role).map((r) => Number(r.client_msg_id.split('-')[1]));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
    }

    // the chats go on after the last restart, end, and are delivered with every acknowledged message
    for (const c of chats) {
      const s = senders.find((x) => x.chatId === c.chatId && x.role === 'agent') as Sender;
      expect((await emit(s.socket, 'chat.end', { chatId: c.chatId })).ok).toBe(true);
    }
    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    await waitFor('three transcripts', () => filesUnder(outbox).filter((f) => f.endsWith('.txt')).length === 3, 30_000);
    for (const s of senders) {
      const file = filesUnder(outbox).find((f) => f.includes(s.chatId)) as string;
      const content = readFileSync(file, 'utf8');
      for (const id of s.acked.keys()) {
        // the agent's file runs from its join, which precedes every message here
        expect(content.split(text(s, id) + '\n').length).toBe(2);
      }
    }
    senders.forEach((s) => s.socket.close());
  });

  it('ends chats whose clients never come back by the idle timeout, and delivers them', async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/settings', admin, { idleTimeoutSeconds: 5 })).status).toBe(200);
    const chat = await openChat(stack.app, company, { agentId: 'agent-idle' });
    expect((await emit(chat.customer, 'message', { clientMsgId: 'last', text: 'anyone?' })).ok).toBe(true);
    await stack.app.kill();
    chat.close();
    await stack.app.restart();
    const ended = await waitFor(
      'the idle chat to end',
      async () => {
        const r = await http<{ status: string; endReason: string; recordings: { status: string; fileName: string }[] }>(
          stack.app,
          'GET',
          `/v1/admin/chats/${chat.chatId}`,
          admin,
        );
        return r.body.status === 'ended' && r.body.recordings[0]?.status === 'delivered' ? r.body : null;
      },
      30_000,
    );
    expect(ended.endReason).toBe('idle_timeout');
    const file = join(stack.app.workDir, 'data', 'outbox', company, ended.recordings[0].fileName);
    expect(readFileSync(file, 'utf8')).toContain('anyone?');
  });
});
