import { AppHandle, cleanupDir, http, migrate, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';

// Delivered transcripts' bodies are purged after the company's retentionDays, once, by whichever
// instance gets there first; bodies still owed to a failed delivery stay.
describe('retention', () => {
  let db: TestDatabase;
  let a: AppHandle;
  let b: AppHandle;
  const company = 'keepco';
  const admin = token({ sub: 'adm', company, role: 'admin' });

  beforeAll(async () => {
    db = await createTestDatabase('retention');
    await migrate(db.url);
    const env = { RETENTION_SWEEP_MS: '300', DELIVERY_MAX_ATTEMPTS: '1' };
    a = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'ret-a' } });
    b = await startApp({ databaseUrl: db.url, env: { ...env, INSTANCE_ID: 'ret-b' } });
  });
  afterAll(async () => {
    for (const x of [a, b]) {
      await x?.stop();
      if (x) cleanupDir(x.workDir);
    }
    await db?.drop();
  });

  const recordings = async (chatId: string) => (await http<{ status: string }[]>(a, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;

  it('purges the bodies of delivered chats after retentionDays, audited once; keeps what a failed delivery still needs', async () => {
    expect((await http(a, 'PUT', '/v1/admin/settings', admin, { retentionDays: 2 })).status).toBe(200);
    const delivered = await openChat(a, company, { agentId: 'ag-1' });
    await exchange(delivered, ['please keep this', 'only for a while']);
    await endChat(delivered);
    delivered.close();
    await waitFor('delivery', async () => (await recordings(delivered.chatId))[0]?.status === 'delivered');

    // this one's delivery fails (an unreachable target, one attempt)
    await http(a, 'PUT', '/v1/admin/export-target', admin, {
      type: 'sftp',
      host: '127.0.0.1',
      port: 1,
      username: 'u',
      password: 'p',
      remoteDir: '/x',
      hostKeySha256: 'SHA256:' + 'C'.repeat(43),
    });
    const failed = await openChat(a, company, { agentId: 'ag-2' });
    await exchange(failed, ['owed to Horizon']);
    await endChat(failed);
    failed.close();
    await waitFor('the failure', async () => (await recordings(failed.chatId))[0]?.status === 'failed');

    // a recent chat, inside retention
    const recent = await openChat(a, company, { agentId: 'ag-3' });
    await exchange(recent, ['recent']);
    await endChat(recent);
    recent.close();

    // age the first two past retention (3 days ago); the sweepers on both instances see them
    await db.query('UPDATE chats SET ended_at = DATE_SUB(UTC_TIMESTAMP(3), INTERVAL 3 DAY) WHERE id IN (?, ?)', [delivered.chatId, failed.chatId]);
    await waitFor('the purge', async () => {
      const rows = await db.query<{ purged_at: Date | null }>('SELECT purged_at FROM chats WHERE id = ?', [delivered.chatId]);
      return rows[0].purged_at !== null;
    });
    await new Promise((r) => setTimeout(r, 1000)); // both sweepers have run again since

    const texts = async (chatId: string) =>
      (await db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq', [chatId])).map((r) => r.text);
    expect(await texts(delivered.chatId)).toEqual([null, null]);
    expect(await texts(failed.chatId)).toEqual(['owed to Horizon']);
    expect(await texts(recent.chatId)).toEqual(['recent']);
    const audit = await db.query<{ chat_id: string; actor_role: string }>("SELECT chat_id, actor_role FROM audit_log WHERE action = 'retention.purged'");
    expect(audit).toEqual([{ chat_id: delivered.chatId, actor_role: 'system' }]);
    const admins = await http<{ action: string; detail: { messageBodies: number } }[]>(a, 'GET', `/v1/admin/audit?chatId=${delivered.chatId}`, admin);
    expect(admins.body.find((e) => e.action === 'retention.purged')?.detail.messageBodies).toBe(2);
  });

  it('never purges a chat under legal hold; once released, it is purged like any other', async () => {
    const held = 'holdco';
    const holdAdmin = token({ sub: 'adm', company: held, role: 'admin' });
    expect((await http(a, 'PUT', '/v1/admin/settings', holdAdmin, { retentionDays: 1 })).status).toBe(200);
    const chat = await openChat(a, held, { agentId: 'ag-h' });
    await exchange(chat, ['evidence']);
    await endChat(chat);
    chat.close();
    await waitFor(
      'delivery',
      async () => (await http<{ status: string }[]>(a, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, holdAdmin)).body[0]?.status === 'delivered',
    );
    expect((await http(a, 'PUT', `/v1/admin/chats/${chat.chatId}/hold`, holdAdmin, { reason: 'court order 17' })).status).toBe(200);

    await db.query('UPDATE chats SET ended_at = DATE_SUB(UTC_TIMESTAMP(3), INTERVAL 3 DAY) WHERE id = ?', [chat.chatId]);
    await new Promise((r) => setTimeout(r, 1500)); // both sweepers have run several times
    const state = async () =>
      (
        await db.query<{ purged_at: Date | null; text: string | null }>(
          'SELECT c.purged_at, m.text FROM chats c JOIN messages m ON m.chat_id = c.id WHERE c.id = ?',
          [chat.chatId],
        )
      )[0];
    expect(await state()).toEqual({ purged_at: null, text: 'evidence' });

    expect((await http(a, 'DELETE', `/v1/admin/chats/${chat.chatId}/hold`, holdAdmin)).status).toBe(200);
    await waitFor('the purge after the release', async () => (await state()).purged_at !== null);
    expect((await state()).text).toBeNull();
  });
});
