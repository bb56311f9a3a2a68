import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { AppHandle, cleanupDir, connect, emit, http, migrate, startApp, token, waitFor } from './support/app';
import { DrivenChat, endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { ChainRow, firstBreak } from './support/message-chain';
import { SshdHandle, startSshd } from './support/sshd';

interface RecordingView {
  id: string;
  status: string;
  attempts: number;
  lastError: string | null;
  outcome: { produced: boolean; reason: string; explanation: string | null } | null;
}

// Contract section 9, chained messages: a chat whose message rows were changed, removed or inserted
// behind the service's back delivers nothing (every recording failed, reason integrity, audited);
// an untouched one delivers as before. Bodies are sealed (ENCRYPTION_MASTER_KEY), so the check
// opens them as the renderer does. Two instances share the database.
describe('chained messages (MariaDB, two instances, real sshd)', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let a: AppHandle;
  let b: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase('chain');
    await migrate(db.url);
    sshd = await startSshd();
    const env = { ENCRYPTION_MASTER_KEY: randomBytes(32).toString('base64'), REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' };
    a = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'chain-a' } });
    b = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'chain-b' } });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    for (const x of [a, b]) if (x) cleanupDir(x.workDir);
    await sshd?.destroy();
    await db?.drop();
  });

  const admin = (company: string) => token({ sub: 'adm', company, role: 'admin' });
  const rowsOf = (chatId: string) =>
    db.query<ChainRow>('SELECT seq, at, sender_role, sender_id, text, body_sha256, chain FROM messages WHERE chat_id = ? ORDER BY seq', [chatId]);
  const headOf = async (chatId: string) => (await db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', [chatId]))[0].chain_head;
  const filesOf = (chatId: string) => sshd.listFiles().filter((f) => f.includes(chatId));

  // A chat with an agent recording and a flow recording: four messages, one sent while paused,
  // one after; `tamper` runs on the database before the end.
  async function chatWithRecordings(company: string, tamper: (chatId: string) => Promise<void>): Promise<{ chatId: string; recs: RecordingView[] }> {
    expect((await http(a, 'PUT', '/v1/admin/export-target', admin(company), sftpTargetBody(sshd))).status).toBe(200);
    const profile = { name: 'full', filenameTemplate: 'full/{{chatId}}', format: 'json', sidecar: true };
    expect((await http(a, 'POST', '/v1/admin/profiles', admin(company), profile)).status).toBe(201);
    const chat = await openChat(a, company);
    try {
      const flow = token({ sub: 'flow', company, role: 'flow' });
      expect((await http(a, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flow, { profile: 'full' })).status).toBe(201);
      await exchange(chat, ['hello', 'hi, how can I help?', 'my card is 4111 1111 1111 1111', 'thanks']);
      expect((await emit(chat.agent, 'recording.pause', { chatId: chat.chatId })).ok).toBe(true);
      expect((await emit(chat.customer, 'message', { clientMsgId: 'p1', text: 'said while paused' })).ok).toBe(true);
      expect((await emit(chat.agent, 'recording.resume', { chatId: chat.chatId })).ok).toBe(true);
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'r1', text: 'back on record' })).ok).toBe(true);
      await tamper(chat.chatId);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const recs = await waitFor('every recording final', async () => {
      const r = (await http<RecordingView[]>(a, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin(company))).body;
      return r.length === 2 && r.every((x) => x.status === 'delivered' || x.status === 'failed') && r;
    });
    return { chatId: chat.chatId, recs };
  }

  it('delivers an untouched chat, whose rows a third party can verify', async () => {
    const { chatId, recs } = await chatWithRecordings('chain-ok', async () => undefined);
    expect(recs.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(filesOf(chatId).length).toBeGreaterThanOrEqual(3);
    const rows = await rowsOf(chatId);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // The paused message: no body, no digest, still linked.
    expect(rows[4]).toMatchObject({ text: null, body_sha256: null });
    expect(rows[4].chain).toMatch(/^[0-9a-f]{64}$/);
    // Stored bodies are sealed: the third party here checks the links, the service the bodies too.
    expect(rows.filter((r) => r.text !== null).map((r) => r.text!.slice(0, 7))).toEqual(Array(5).fill('enc:v1:'));
    expect(firstBreak(rows, await headOf(chatId), () => null)).toBeNull();
  });

  const swapSeq = async (chatId: string) => {
    await db.query('UPDATE messages SET seq = 1000 WHERE chat_id = ? AND seq = 2', [chatId]);
    await db.query('UPDATE messages SET seq = 2 WHERE chat_id = ? AND seq = 3', [chatId]);
    await db.query('UPDATE messages SET seq = 3 WHERE chat_id = ? AND seq = 1000', [chatId]);
  };
  const tampers: [string, number, (chatId: string) => Promise<unknown>][] = [
    ['a body changed', 2, (id) => db.query("UPDATE messages SET text = 'I never said this' WHERE chat_id = ? AND seq = 2", [id])],
    [
      'a body changed with its digest',
      2,
      (id) => db.query("UPDATE messages SET text = 'forged', body_sha256 = SHA2('forged', 256) WHERE chat_id = ? AND seq = 2", [id]),
    ],
    ['a body put where the paused one was', 5, (id) => db.query("UPDATE messages SET text = 'invented' WHERE chat_id = ? AND seq = 5", [id])],
    ['two seqs swapped', 2, swapSeq],
    ['a time changed', 1, (id) => db.query('UPDATE messages SET at = at + INTERVAL 1 SECOND WHERE chat_id = ? AND seq = 1', [id])],
    ['a sender role changed', 2, (id) => db.query("UPDATE messages SET sender_role = 'supervisor' WHERE chat_id = ? AND seq = 2", [id])],
    ['a row deleted', 3, (id) => db.query('DELETE FROM messages WHERE chat_id = ? AND seq = 3', [id])],
    [
      'the last row deleted and the chat row moved back',
      5,
      async (id) => {
        await db.query('DELETE FROM messages WHERE chat_id = ? AND seq = 6', [id]);
        await db.query('UPDATE chats SET next_seq = 6 WHERE id = ?', [id]);
      },
    ],
    [
      'a row inserted (later rows moved up)',
      3,
      async (id) => {
        await db.query('UPDATE messages SET seq = seq + 1 WHERE chat_id = ? AND seq >= 3 ORDER BY seq DESC', [id]);
        await db.query(
          `INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, sender_name, text, paused, at, body_sha256, chain)
           SELECT chat_id, 3, 'forged', sender_role, sender_id, sender_name, NULL, 0, at, SHA2('forged', 256), chain FROM messages WHERE chat_id = ? AND seq = 2`,
          [id],
        );
        await db.query('UPDATE chats SET next_seq = next_seq + 1 WHERE id = ?', [id]);
      },
    ],
  ];

  it.each(tampers)('fails every recording of a chat with %s, audited, and delivers nothing', async (what, seq, tamper) => {
    const company = `chain-${what.replace(/[^a-z]+/g, '-')}`.slice(0, 60);
    const { chatId, recs } = await chatWithRecordings(company, (id) => tamper(id).then(() => undefined));
    for (const r of recs) {
      expect(r).toMatchObject({ status: 'failed', attempts: 1, outcome: { produced: true, reason: 'integrity' } });
      expect(r.lastError).toContain(`message chain broken at seq ${seq}`);
      expect(r.outcome?.explanation).toBe(r.lastError);
    }
    const audit = await http<{ action: string; detail: { recordingId: string; error: string } }[]>(
      a,
      'GET',
      `/v1/admin/audit?chatId=${chatId}`,
      admin(company),
    );
    const failed = audit.body.filter((e) => e.action === 'recording.integrity_failed');
    expect(failed.map((e) => e.detail.recordingId).sort()).toEqual(recs.map((r) => r.id).sort());
    expect(failed.every((e) => e.detail.error.includes(`seq ${seq}`))).toBe(true);
    // The chat view explains it too.
    const view = await http<{ recordings: { outcome: { reason: string } | null }[] }>(a, 'GET', `/v1/admin/chats/${chatId}`, admin(company));
    expect(view.body.recordings.map((r) => r.outcome?.reason)).toEqual(['integrity', 'integrity']);
    expect(filesOf(chatId)).toEqual([]);
    // Permanent: not tried again.
    await new Promise((r) => setTimeout(r, 1000));
    const again = (await http<RecordingView[]>(a, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin(company))).body;
    expect(again.map((r) => [r.status, r.attempts])).toEqual([
      ['failed', 1],
      ['failed', 1],
    ]);
    expect(filesOf(chatId)).toEqual([]);
  });

  it('keeps one chain through concurrent sends from two instances and resends', async () => {
    const company = 'chain-busy';
    expect((await http(a, 'PUT', '/v1/admin/export-target', admin(company), sftpTargetBody(sshd))).status).toBe(200);
    const chat: DrivenChat = await openChat(a, company);
    const sup: Socket = await connect(b, '/agent', token({ sub: 'sup-1', company, role: 'supervisor', name: 'Sue' }));
    const agentB: Socket = await connect(b, '/agent', chat.agentToken);
    try {
      expect((await emit(sup, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
      expect((await emit(agentB, 'chat.join', { chatId: chat.chatId })).ok).toBe(true);
      const sends: Promise<{ key: string; seq: number }>[] = [];
      const send = (s: Socket, key: string, payload: object) =>
        sends.push(
          emit(s, 'message', payload).then((ack) => {
            if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
            return { key, seq: ack.seq as number };
          }),
        );
      for (let i = 0; i < 30; i++) {
        send(chat.customer, `c${i}`, { clientMsgId: `c${i}`, text: `customer ${i}` });
        send(chat.agent, `a${i}`, { chatId: chat.chatId, clientMsgId: `a${i}`, text: `agent ${i}` });
        send(sup, `s${i}`, { chatId: chat.chatId, clientMsgId: `s${i}`, text: `supervisor ${i}` });
        // The agent's resend arrives through the other instance at the same time.
        if (i % 3 === 0) send(agentB, `a${i}`, { chatId: chat.chatId, clientMsgId: `a${i}`, text: `agent ${i}` });
      }
      const acks = await Promise.all(sends);
      const seqOf = new Map<string, number>();
      for (const x of acks) {
        if (seqOf.has(x.key)) expect(x.seq).toBe(seqOf.get(x.key));
        seqOf.set(x.key, x.seq);
      }
      expect([...seqOf.values()].sort((p, q) => p - q)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      const rows = await rowsOf(chat.chatId);
      expect(rows).toHaveLength(90);
      expect(firstBreak(rows, await headOf(chat.chatId), () => null)).toBeNull();
      await endChat(chat);
    } finally {
      chat.close();
      sup.close();
      agentB.close();
    }
    // The service's own check (every body opened against its digest) passes: both files go out.
    const recs = await waitFor('delivery', async () => {
      const r = (await http<RecordingView[]>(a, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin(company))).body;
      return r.length === 2 && r.every((x) => x.status === 'delivered' || x.status === 'failed') && r;
    });
    expect(recs.map((r) => [r.status, r.lastError])).toEqual([
      ['delivered', null],
      ['delivered', null],
    ]);
  });
});
