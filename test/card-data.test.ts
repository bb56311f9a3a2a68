import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppHandle, cleanupDir, emit, http, migrate, next, startApp, token, waitFor } from './support/app';
import { endChat, openChat } from './support/chat-driver';
import { filesUnder } from './support/files';
import { createTestDatabase, TestDatabase } from './support/database';

const PAN = '4111 1111 1111 1111';
const PAN_DIGITS = '4111111111111111';
const AMEX = '3782-822463-10005';

// Card data is masked before the first write anywhere: the database (every table), the logs and
// the delivered file are searched for it.
describe('card data', () => {
  let db: TestDatabase;
  let app: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase('cards');
    await migrate(db.url);
    app = await startApp({ databaseUrl: db.url, env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  async function dump(): Promise<string> {
    const tables = await db.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
    let all = '';
    for (const { t } of tables) all += JSON.stringify(await db.query(`SELECT * FROM \`${t}\``)) + '\n';
    return all;
  }

  it('masks card numbers and security codes before storing, relaying, logging or delivering them', async () => {
    const company = 'cardco';
    const chat = await openChat(app, company, { agentId: 'ag-card' });
    try {
      const relayed = next<{ text: string }>(chat.agent, 'message');
      expect((await emit(chat.customer, 'message', { clientMsgId: '1', text: `my card is ${PAN}, expiry 12/27, CVV: 123` })).ok).toBe(true);
      expect((await relayed).text).toBe('my card is 411111******1111, expiry 12/27, CVV: [redacted]');
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: '2', text: `and the amex ${AMEX} security code 4321?` })).ok).toBe(true);
      const flow = token({ sub: 'flow', company, role: 'flow' });
      expect((await http(app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: `bot saw ${PAN_DIGITS}` })).status).toBe(201);
      expect((await emit(chat.agent, 'chat.flagAbusive', { chatId: chat.chatId, reason: `posted ${PAN}` })).ok).toBe(true);
      const other = await http(app, 'POST', '/v1/flow/chats', flow, {
        service: 's',
        customer: { name: `Pat ${PAN}` },
        metadata: { note: `card ${PAN}`, raw: Number(PAN_DIGITS), nested: [{ x: AMEX }] },
      });
      expect(other.status).toBe(201);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const outbox = join(app.workDir, 'data', 'outbox', company);
    await waitFor('the transcript', () => filesUnder(outbox).length === 1);
    const file = readFileSync(filesUnder(outbox)[0], 'utf8');
    expect(file).toContain('411111******1111');
    expect(file).toContain('378282*****0005');

    for (const [where, text] of [
      ['database', await dump()],
      ['logs', app.logs()],
      ['file', file],
    ] as const) {
      expect([where, text.includes(PAN_DIGITS)]).toEqual([where, false]);
      expect([where, text.includes(PAN)]).toEqual([where, false]);
      expect([where, text.includes('378282246310005')]).toEqual([where, false]);
      expect([where, text.includes(AMEX)]).toEqual([where, false]);
      expect([where, /CVV: 123|code 4321/.test(text)]).toEqual([where, false]);
    }
  });

  it('can be turned off per company', async () => {
    const company = 'plainco';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(app, 'PUT', '/v1/admin/settings', admin, { redactCardData: false })).body).toMatchObject({ redactCardData: false });
    const chat = await openChat(app, company, { agentId: 'ag-plain' });
    try {
      expect((await emit(chat.customer, 'message', { clientMsgId: '1', text: `test card ${PAN}` })).ok).toBe(true);
    } finally {
      chat.close();
    }
    const rows = await db.query<{ text: string }>('SELECT text FROM messages WHERE chat_id = ?', [chat.chatId]);
    expect(rows[0].text).toBe(`test card ${PAN}`);
  });
});
