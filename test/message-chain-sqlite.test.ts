import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppHandle, cleanupDir, emit, http, next, startApp, token, waitFor } from './support/app';
import { endChat, flowChatWithMessages, openChat } from './support/chat-driver';
import { relativeFilesUnder } from './support/files';
import { ChainRow, firstBreak } from './support/message-chain';

interface RecordingView {
  id: string;
  status: string;
  attempts: number;
  lastError: string | null;
  outcome: { reason: string } | null;
}

// Chained messages on the embedded default (SQLite, one writer; local folder delivery): concurrent
// sends keep one chain that a third party recomputes, bodies included (stored in plain text here);
// a changed body or a removed row fails the chat's recording and nothing reaches the folder.
describe('chained messages (SQLite, local folder)', () => {
  let app: AppHandle;
  let sqlite: Database.Database;

  beforeAll(async () => {
    app = await startApp({ env: { DATABASE_URL: '', EXPORT_LOCAL_DIR: '' } });
    sqlite = new Database(join(app.workDir, 'data', 'webchat.sqlite'));
    sqlite.pragma('busy_timeout = 10000');
  });
  afterAll(async () => {
    sqlite?.close();
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  const outbox = (company: string) => relativeFilesUnder(join(app.workDir, 'data', 'outbox', company));
  const rowsOf = (chatId: string): ChainRow[] =>
    (
      sqlite
        .prepare('SELECT seq, at, sender_role, sender_id, text, body_sha256, chain FROM messages WHERE chat_id = ? ORDER BY seq')
        .all(chatId) as (ChainRow & {
        at: string;
      })[]
    ).map((r) => ({ ...r, at: new Date(`${r.at.replace(' ', 'T')}Z`) }));
  const headOf = (chatId: string) => (sqlite.prepare('SELECT chain_head FROM chats WHERE id = ?').get(chatId) as { chain_head: string | null }).chain_head;

  async function run(company: string, tamper: (chatId: string) => void): Promise<{ chatId: string; rec: RecordingView }> {
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const chat = await openChat(app, company);
    try {
      const acks = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? emit(chat.customer, 'message', { clientMsgId: `c${i}`, text: `customer ${i} é😀` })
            : emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: `a${i}`, text: `agent ${i}` }),
        ),
      );
      expect(acks.every((x) => x.ok)).toBe(true);
      tamper(chat.chatId);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const rec = await waitFor('the recording final', async () => {
      const r = (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin)).body[0];
      return (r?.status === 'delivered' || r?.status === 'failed') && r;
    });
    return { chatId: chat.chatId, rec };
  }

  it('keeps one chain through concurrent sends and delivers the chat', async () => {
    const { chatId, rec } = await run('sq-ok', () => undefined);
    const rows = rowsOf(chatId);
    expect(rows).toHaveLength(20);
    expect(firstBreak(rows, headOf(chatId))).toBeNull();
    expect(rec.status).toBe('delivered');
    expect(outbox('sq-ok').filter((f) => f.includes(chatId))).toHaveLength(1);
  });

  it.each([
    ['a body changed', 4, (id: string) => sqlite.prepare("UPDATE messages SET text = 'forged' WHERE chat_id = ? AND seq = 4").run(id)],
    ['a row removed', 7, (id: string) => sqlite.prepare('DELETE FROM messages WHERE chat_id = ? AND seq = 7').run(id)],
  ])('fails the recording of a chat with %s and writes nothing', async (what, seq, tamper) => {
    const company = `sq-${what.replace(/[^a-z]+/g, '-')}`;
    const { chatId, rec } = await run(company, (id) => void tamper(id));
    expect(rec).toMatchObject({ status: 'failed', attempts: 1, outcome: { reason: 'integrity' } });
    expect(rec.lastError).toContain(`message chain broken at seq ${seq}`);
    const audit = await http<{ action: string }[]>(app, 'GET', `/v1/admin/audit?chatId=${chatId}`, token({ sub: 'adm', company, role: 'admin' }));
    expect(audit.body.filter((e) => e.action === 'recording.integrity_failed')).toHaveLength(1);
    expect(outbox(company)).toEqual([]);
  });

  // A lone surrogate cannot be stored as UTF-8: SQLite kept other bytes than those the body's digest
  // was taken from, so every recording of the chat failed for integrity (found by driving the service
  // from outside). Whatever comes in, what is acked, relayed, stored and delivered is one text.
  it('stores, relays and delivers a lone surrogate as U+FFFD, over the socket and the flow API', async () => {
    const company = 'sq-surrogate';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const flow = token({ sub: 'flow', company, role: 'flow' });
    const chat = await openChat(app, company);
    try {
      const relayed = next<{ text: string }>(chat.agent, 'message');
      expect(await emit(chat.customer, 'message', { clientMsgId: 'lone-high', text: 'high \ud800 here' })).toMatchObject({ ok: true, seq: 1 });
      expect((await relayed).text).toBe('high \ufffd here');
      const posted = await http(app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: 'low \udc00 and pair \ud83d\ude00' });
      expect(posted.status).toBeLessThan(300);
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'after', text: 'after' })).ok).toBe(true);
      await endChat(chat);
    } finally {
      chat.close();
    }
    expect(rowsOf(chat.chatId).map((r) => r.text)).toEqual(['high \ufffd here', 'low \ufffd and pair \ud83d\ude00', 'after']);
    const rec = await waitFor('the recording final', async () => {
      const r = (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin)).body[0];
      return (r?.status === 'delivered' || r?.status === 'failed') && r;
    });
    expect(rec).toMatchObject({ status: 'delivered' });
    const [file] = outbox(company);
    const text = readFileSync(join(app.workDir, 'data', 'outbox', company, file), 'utf8');
    expect(text).toContain('high \ufffd here');
    expect(text).toContain('low \ufffd and pair \ud83d\ude00');
  });

  // A large recording (over 500 messages): the chain is checked by the render's own pass over the
  // chat (pages of 200), on SQLite as on MariaDB.
  it('delivers a large recording whole when intact, and nothing when a body far in was changed', async () => {
    const company = 'sq-large';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const flow = token({ sub: 'flow', company, role: 'flow' });
    expect((await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'big', filenameTemplate: '{{chatId}}', format: 'text' })).status).toBe(201);
    const largeChat = () => flowChatWithMessages(app, flow, { service: 'big', profile: 'big', count: 520, text: (i) => `said ${i} é😀`, senders: 4 });
    const intact = await largeChat();
    const broken = await largeChat();
    sqlite.prepare("UPDATE messages SET text = 'forged' WHERE chat_id = ? AND seq = 450").run(broken);
    for (const chatId of [intact, broken]) expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBeLessThan(300);
    const settled = (chatId: string) =>
      waitFor(`the recording of ${chatId}`, async () => {
        const [r] = (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;
        return r && (r.status === 'delivered' || r.status === 'failed') ? r : null;
      });
    expect(await settled(intact)).toMatchObject({ status: 'delivered' });
    const failed = await settled(broken);
    expect(failed).toMatchObject({ status: 'failed', outcome: { reason: 'integrity' } });
    expect(failed.lastError).toContain('message chain broken at seq 450');
    expect(firstBreak(rowsOf(intact), headOf(intact))).toBeNull();
    const files = outbox(company);
    expect(files).toEqual([`${intact}.txt`]);
    const text = readFileSync(join(app.workDir, 'data', 'outbox', company, files[0]), 'utf8');
    expect(text.match(/said \d+ é😀/g)).toHaveLength(520);
  });
});
