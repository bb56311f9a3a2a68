import { AppHandle, cleanupDir, http, migrate, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
  attempts: number;
  outcome: { produced: boolean; reason: string } | null;
}

describe('delivery to the SFTP server', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let app: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    sshd = await startSshd();
    app = await startApp({ databaseUrl: db.url, env: { DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_RETRY_BASE_MS: '300', DELIVERY_RETRY_MAX_MS: '600' } });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await sshd?.destroy();
    await db?.drop();
  });
  beforeEach(() => sshd.clear());

  const recordingsOf = async (company: string, chatId: string) =>
    (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, token({ sub: 'adm', company, role: 'admin' }))).body;

  it('records nothing for a company whose recording switch is off', async () => {
    const company = 'switchoff';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    expect((await http(app, 'PUT', '/v1/admin/settings', admin, { recordingEnabled: false })).body).toMatchObject({ recordingEnabled: false });
    const chat = await openChat(app, company);
    try {
      await exchange(chat, ['hello', 'hi there']);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const recs = await recordingsOf(company, chat.chatId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ status: 'suppressed', outcome: { produced: false, reason: 'company_recording_off' } });
    const bodies = await db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ?', [chat.chatId]);
    expect(bodies.map((b) => b.text)).toEqual([null, null]); // purged at the end
    const jobs = await db.query('SELECT * FROM delivery_jobs WHERE recording_id = ?', [recs[0].id]);
    expect(jobs).toEqual([]);
    expect(sshd.listFiles()).toEqual([]);
  });

  it('delivers nothing to a server with the wrong host key, and says why', async () => {
    const company = 'wrongkey';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const wrong = { ...sftpTargetBody(sshd), hostKeySha256: 'SHA256:' + 'A'.repeat(43) };
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, wrong)).status).toBe(200);
    const check = await http<{ ok: boolean; error: { code: string; message: string } }>(app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body.ok).toBe(false);
    expect(check.body.error.code).toBe('unavailable');
    expect(check.body.error.message).toContain('host key mismatch');
    const chat = await openChat(app, company);
    try {
      await exchange(chat, ['hello']);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const failed = await waitFor('the recording to fail', async () => {
      const r = await recordingsOf(company, chat.chatId);
      return r[0]?.status === 'failed' ? r[0] : null;
    });
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toContain('host key mismatch');
    expect(failed.lastError).toContain(sshd.hostKeySha256);
    expect(sshd.listFiles()).toEqual([]);

    // Once the admin fixes the key, a retry delivers it.
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    const retried = await http<RecordingView>(app, 'POST', `/v1/admin/recordings/${failed.id}/retry`, admin);
    expect(retried.body.status).toBe('pending');
    await waitFor('delivery after the retry', async () => (await recordingsOf(company, chat.chatId))[0]?.status === 'delivered');
    expect(sshd.listFiles()).toHaveLength(1);
    const audit = await http<{ action: string }[]>(app, 'GET', `/v1/admin/audit?chatId=${chat.chatId}`, admin);
    expect(audit.body.map((a) => a.action)).toEqual(expect.arrayContaining(['recording.failed', 'recording.retried', 'recording.delivered']));
  });

  it('retries while the server is down and delivers once it is back', async () => {
    const company = 'outage';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    await sshd.stop();
    let chatId = '';
    try {
      const chat = await openChat(app, company);
      chatId = chat.chatId;
      try {
        await exchange(chat, ['is anyone there?', 'yes, hello']);
        await endChat(chat);
      } finally {
        chat.close();
      }
      await waitFor('a failed attempt', async () => (await recordingsOf(company, chatId))[0]?.lastError);
      expect((await recordingsOf(company, chatId))[0].status).toBe('pending');
    } finally {
      await sshd.start();
    }
    await waitFor('delivery after the outage', async () => (await recordingsOf(company, chatId))[0]?.status === 'delivered');
    const files = sshd.listFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`/sales_agent-1_${chatId}\\.txt$`));
    expect(sshd.readFile(files[0])).toContain('is anyone there?');
  });
});
