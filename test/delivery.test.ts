import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { http, token, waitFor } from './support/app';
import { endChat, endedChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { deliveryStack } from './support/stack';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
  attempts: number;
  outcome: { produced: boolean; reason: string } | null;
}

describe('delivery to the SFTP server', () => {
  const stack = deliveryStack({ env: { DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_RETRY_BASE_MS: '300', DELIVERY_RETRY_MAX_MS: '600' } });
  beforeEach(() => stack.sshd.clear());

  const recordingsOf = async (company: string, chatId: string) =>
    (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, token({ sub: 'adm', company, role: 'admin' }))).body;

  it('records nothing for a company whose recording switch is off', async () => {
    const company = 'switchoff';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    expect((await http(stack.app, 'PUT', '/v1/admin/settings', admin, { recordingEnabled: false })).body).toMatchObject({ recordingEnabled: false });
    const chat = await endedChat(stack.app, company, ['hello', 'hi there']);
    const recs = await recordingsOf(company, chat.chatId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ status: 'suppressed', outcome: { produced: false, reason: 'company_recording_off' } });
    const bodies = await stack.db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ?', [chat.chatId]);
    expect(bodies.map((b) => b.text)).toEqual([null, null]); // purged at the end
    const jobs = await stack.db.query('SELECT * FROM delivery_jobs WHERE recording_id = ?', [recs[0].id]);
    expect(jobs).toEqual([]);
    expect(stack.sshd.listFiles()).toEqual([]);
  });

  it('checks a target whose folder does not exist yet as deliveries find it: they create it, so does the check', async () => {
    const company = 'newfolder';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const body = { ...sftpTargetBody(stack.sshd), remoteDir: `${stack.sshd.remoteDir}/not-yet/deeper` };
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, body)).status).toBe(200);
    const check = await http<{ ok: boolean; error?: { message: string } }>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body).toEqual({ ok: true });
    // The folder is there and the probe is gone.
    expect(existsSync(join(stack.sshd.localDir, 'not-yet', 'deeper'))).toBe(true);
    expect(readdirSync(join(stack.sshd.localDir, 'not-yet', 'deeper'))).toEqual([]);
    // And a delivery to it lands there.
    const chat = await endedChat(stack.app, company, ['hello']);
    await waitFor('the delivery', async () => (await recordingsOf(company, chat.chatId))[0]?.status === 'delivered');
    expect(stack.sshd.listFiles().every((f) => f.startsWith('not-yet/deeper/'))).toBe(true);
  });

  it('delivers nothing to a server with the wrong host key, and says why', async () => {
    const company = 'wrongkey';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const wrong = { ...sftpTargetBody(stack.sshd), hostKeySha256: 'SHA256:' + 'A'.repeat(43) };
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, wrong)).status).toBe(200);
    const check = await http<{ ok: boolean; error: { code: string; message: string } }>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body.ok).toBe(false);
    expect(check.body.error.code).toBe('unavailable');
    expect(check.body.error.message).toContain('host key mismatch');
    const chat = await endedChat(stack.app, company, ['hello']);
    const failed = await waitFor('the recording to fail', async () => {
      const r = await recordingsOf(company, chat.chatId);
      return r[0]?.status === 'failed' ? r[0] : null;
    });
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toContain('host key mismatch');
    expect(failed.lastError).toContain(stack.sshd.hostKeySha256);
    expect(stack.sshd.listFiles()).toEqual([]);

    // Once the admin fixes the key, a retry delivers it.
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    const retried = await http<RecordingView>(stack.app, 'POST', `/v1/admin/recordings/${failed.id}/retry`, admin);
    expect(retried.body.status).toBe('pending');
    await waitFor('delivery after the retry', async () => (await recordingsOf(company, chat.chatId))[0]?.status === 'delivered');
    expect(stack.sshd.listFiles()).toHaveLength(1);
    const audit = await http<{ action: string }[]>(stack.app, 'GET', `/v1/admin/audit?chatId=${chat.chatId}`, admin);
    expect(audit.body.map((a) => a.action)).toEqual(expect.arrayContaining(['recording.failed', 'recording.retried', 'recording.delivered']));
  });

  it('retries while the server is down and delivers once it is back', async () => {
    const company = 'outage';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    await stack.sshd.stop();
    let chatId = '';
    try {
      const chat = await openChat(stack.app, company);
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
      await stack.sshd.start();
    }
    await waitFor('delivery after the outage', async () => (await recordingsOf(company, chatId))[0]?.status === 'delivered');
    const files = stack.sshd.listFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`/sales_agent-1_${chatId}\\.txt$`));
    expect(stack.sshd.readFile(files[0])).toContain('is anyone there?');
  });
});
