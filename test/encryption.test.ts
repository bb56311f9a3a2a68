import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emit, freePort, http, token, waitFor } from './support/app';
import { endChat, exchange, flowChatWithMessages, openChat } from './support/chat-driver';
import { filesUnder, settledFilesUnder } from './support/files';
import { appStack } from './support/stack';

interface RecordingView {
  id: string;
  status: string;
  lastError: string | null;
}

interface KeyStatus {
  enabled: boolean;
  erased: boolean;
  createdAt: string | null;
}

// With ENCRYPTION_MASTER_KEY set: bodies and export-target secrets are sealed in the database but
// read back as plain text by the service; erasing a company's key makes its bodies unreadable.
describe('encryption at rest', () => {
  const masterKey = randomBytes(32).toString('base64');
  // Two attempts: the unreachable target below fails fast, so the recording can be retried.
  // The largest text allowed (MESSAGE_MAX_LENGTH at its maximum), to show that it still fits its column sealed.
  const stack = appStack({ prefix: 'enc', env: { ENCRYPTION_MASTER_KEY: masterKey, DELIVERY_MAX_ATTEMPTS: '2', MESSAGE_MAX_LENGTH: '12000' } });

  const bodies = (chatId: string) => stack.db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq', [chatId]);
  const recordingsOf = async (company: string, chatId: string) =>
    (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, token({ sub: 'adm', company, role: 'admin' }))).body;

  it('stores message bodies sealed, yet history and the delivered transcript read as plain text', async () => {
    const company = 'encco';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const texts = ['the launch code is swordfish-42', 'noted, zebra-umbrella'];
    const chat = await openChat(stack.app, company);
    try {
      await exchange(chat, texts);
      const raw = await bodies(chat.chatId);
      expect(raw).toHaveLength(2);
      for (const r of raw) {
        expect(r.text).toMatch(/^enc:v1:[A-Za-z0-9+/]+=*$/);
        expect(r.text).not.toContain('swordfish');
        expect(r.text).not.toContain('zebra');
      }
      // Joining again answers with the history, opened.
      const joined = await emit(chat.agent, 'chat.join', { chatId: chat.chatId });
      expect(joined.ok).toBe(true);
      expect((joined.history as { text: string }[]).map((m) => m.text)).toEqual(texts);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    await waitFor('the transcript', () => settledFilesUnder(outbox).length === 1);
    const file = readFileSync(filesUnder(outbox)[0], 'utf8');
    for (const t of texts) expect(file).toContain(t);
    expect(file).not.toContain('enc:v1:');

    const status = await http<KeyStatus>(stack.app, 'GET', '/v1/admin/encryption-key', admin);
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ enabled: true, erased: false, createdAt: expect.any(String) as unknown });
    const key = await stack.db.query<{ wrapped_key: string }>('SELECT wrapped_key FROM company_keys WHERE company_id = ?', [company]);
    expect(key[0].wrapped_key).toMatch(/^enc:v1:/);
  });

  // The limit counts characters: 12,000 four-byte characters are 48,000 bytes of UTF-8, which sealed
  // (base64 of the IV, the tag and the ciphertext) still fit MySQL's TEXT column of 65,535 bytes.
  it('stores the longest text allowed, in four-byte characters, sealed and whole', async () => {
    const company = 'enc-longest';
    const longest = '\u{1F600}'.repeat(12_000);
    const chat = await openChat(stack.app, company);
    try {
      expect((await emit(chat.customer, 'message', { clientMsgId: 'longest', text: longest })).ok).toBe(true);
      const [raw] = await bodies(chat.chatId);
      expect(raw.text).toMatch(/^enc:v1:/);
      const joined = await emit(chat.agent, 'chat.join', { chatId: chat.chatId });
      expect((joined.history as { text: string }[]).map((m) => m.text)).toEqual([longest]);
    } finally {
      chat.close();
    }
  });

  it('delivers a large recording (over 500 messages, checked and rendered in one pass) with its sealed bodies as plain text', async () => {
    const company = 'encbig';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const flow = token({ sub: 'flow', company, role: 'flow' });
    expect((await http(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'big', filenameTemplate: '{{chatId}}', format: 'text' })).status).toBe(201);
    const COUNT = 520;
    const chatId = await flowChatWithMessages(stack.app, flow, { service: 'sealed', profile: 'big', count: COUNT, text: (i) => `secret-${i}-marlin` });
    expect((await bodies(chatId)).every((r) => r.text?.startsWith('enc:v1:'))).toBe(true);
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBeLessThan(300);
    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    await waitFor('the transcript', () => settledFilesUnder(outbox).length === 1);
    const lines = readFileSync(filesUnder(outbox)[0], 'utf8')
      .split('\n')
      .filter((l) => l.includes('-marlin'));
    expect(lines.map((l) => /secret-(\d+)-marlin/.exec(l)?.[1]).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: COUNT }, (_, i) => String(i)),
    );
    expect((await recordingsOf(company, chatId)).map((r) => r.status)).toEqual(['delivered']);
  });

  it('stores export-target secrets sealed, never returns or logs them, and still uses them', async () => {
    const company = 'secretco';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    const password = 'Pl41n-Text-Passw0rd-Never-Stored';
    const target = { type: 'sftp', host: '127.0.0.1', port: await freePort(), username: 'u', remoteDir: '/in', hostKeySha256: 'SHA256:' + 'A'.repeat(43) };
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, { ...target, password })).status).toBe(200);
    const rows = await stack.db.query<{ config: string }>('SELECT config FROM export_targets WHERE company_id = ?', [company]);
    expect(rows[0].config).not.toContain(password);
    expect((JSON.parse(rows[0].config) as { password: string }).password).toMatch(/^enc:v1:/);
    const got = await http(stack.app, 'GET', '/v1/admin/export-target', admin);
    expect(got.body).toMatchObject({ hasPassword: true, hasPrivateKey: false });
    expect(JSON.stringify(got.body)).not.toContain(password);
    // An update without a secret (same host, port and user) keeps the stored one, still sealed.
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, { ...target, remoteDir: '/other' })).status).toBe(200);
    const again = await stack.db.query<{ config: string }>('SELECT config FROM export_targets WHERE company_id = ?', [company]);
    expect(again[0].config).not.toContain(password);
    expect((await http<{ hasPassword: boolean }>(stack.app, 'GET', '/v1/admin/export-target', admin)).body.hasPassword).toBe(true);
    // The check opens the secret and tries it (the port is closed: it fails, without the secret).
    const check = await http<{ ok: boolean; error: { code: string; message: string } }>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body.ok).toBe(false);
    expect(JSON.stringify(check.body.error)).not.toContain(password);
    expect(stack.app.logs()).not.toContain(password);
    expect(stack.app.logs()).not.toContain(masterKey);
  });

  it('after the key is erased, earlier transcripts cannot be rendered and new bodies are refused', async () => {
    const company = 'shredco';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    // Hold the delivery back: the target is unreachable until the key is gone.
    const unreachable = {
      type: 'sftp',
      host: '127.0.0.1',
      port: await freePort(),
      username: 'u',
      password: 'pw',
      remoteDir: '/in',
      hostKeySha256: 'SHA256:' + 'A'.repeat(43),
    };
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, unreachable)).status).toBe(200);
    const ended = await openChat(stack.app, company, { agentId: 'ag-1' });
    const open = await openChat(stack.app, company, { agentId: 'ag-2' });
    let rec: RecordingView;
    try {
      await exchange(ended, ['top secret merger details', 'understood']);
      await exchange(open, ['first message']);
      await endChat(ended);
      rec = await waitFor('the delivery to fail', async () => {
        const r = (await recordingsOf(company, ended.chatId))[0];
        return r?.status === 'failed' ? r : null;
      });
      expect(rec.lastError).toMatch(/ECONNREFUSED|connect/i);

      const erased = await http(stack.app, 'DELETE', '/v1/admin/encryption-key', admin);
      expect(erased.status).toBe(200);
      expect(erased.body).toEqual({ erased: true });
      expect((await http<KeyStatus>(stack.app, 'GET', '/v1/admin/encryption-key', admin)).body).toMatchObject({ enabled: true, erased: true });

      // New bodies of this company are refused; joining still works, without the shredded history.
      const refused = await emit(open.customer, 'message', { clientMsgId: 'after', text: 'anyone there?' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'conflict', message: "the company's encryption key was erased" } });
      const rejoined = await emit(open.agent, 'chat.join', { chatId: open.chatId });
      expect(rejoined.ok).toBe(true);
      expect(rejoined.history).toEqual([]);
    } finally {
      ended.close();
      open.close();
    }

    // The bodies are still in the database, sealed, and the only copy of their key is gone.
    const raw = await bodies(ended.chatId);
    expect(raw.map((r) => r.text?.startsWith('enc:v1:'))).toEqual([true, true]);
    const key = await stack.db.query<{ wrapped_key: string; erased_at: Date | null }>('SELECT wrapped_key, erased_at FROM company_keys WHERE company_id = ?', [
      company,
    ]);
    expect(key).toHaveLength(1);
    expect(key[0].wrapped_key).toBe('');
    expect(key[0].erased_at).not.toBeNull();

    // With a working target, a retry meets bodies nobody can open: it fails for good, saying why.
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, { type: 'local' })).status).toBe(200);
    expect((await http(stack.app, 'POST', `/v1/admin/recordings/${rec.id}/retry`, admin)).status).toBe(200);
    const failed = await waitFor('the retry to fail', async () => {
      const r = (await recordingsOf(company, ended.chatId))[0];
      return r?.status === 'failed' && r.lastError?.includes('erased') ? r : null;
    });
    expect(failed.lastError).toContain("the company's encryption key was erased");
    expect(filesUnder(join(stack.app.workDir, 'data', 'outbox', company))).toEqual([]);

    const audit = await http<{ action: string }[]>(stack.app, 'GET', '/v1/admin/audit', admin);
    expect(audit.body.map((a) => a.action)).toContain('encryption_key.erased');
    // Erasing again is harmless; other companies are untouched.
    expect((await http(stack.app, 'DELETE', '/v1/admin/encryption-key', admin)).status).toBe(200);
    expect((await http<KeyStatus>(stack.app, 'GET', '/v1/admin/encryption-key', token({ sub: 'adm', company: 'encco', role: 'admin' }))).body.erased).toBe(
      false,
    );
  });

  it('is for admins only', async () => {
    const agent = token({ sub: 'ag', company: 'encco', role: 'agent' });
    expect((await http(stack.app, 'DELETE', '/v1/admin/encryption-key', agent)).status).toBe(403);
    expect((await http(stack.app, 'GET', '/v1/admin/encryption-key', agent)).status).toBe(403);
  });
});
