import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, freePort, http, sleep, startApp, token, waitFor } from './support/app';
import { DrivenChat, endChat, endedChat, exchange, flowChatWithMessages, openChat, sftpTargetBody } from './support/chat-driver';
import { ManifestJson, sha256, signingKeys, verifyCli, watchArrivals } from './support/manifests';
import { deliveryStack } from './support/stack';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
}

// Contract section 9: with `manifest: true` on a profile, each delivery ends with a signed
// `<name>.manifest.json` put in place after the other files; `npm run verify` checks a drop; the
// company's manifests are chained by previousManifestSha256. MariaDB, a real sshd, the local folder.
describe('signed manifests', () => {
  const stack = deliveryStack({ prefix: 'manifest', env: { DELIVERY_RETRY_BASE_MS: '200', DELIVERY_RETRY_MAX_MS: '400' } });
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'wcr-verify-'));
  });
  afterAll(async () => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const admin = (company: string) => token({ sub: 'adm', company, role: 'admin' });
  const recordingsOf = async (company: string, chatId: string) =>
    (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin(company))).body;
  const delivered = (company: string, chatId: string) =>
    waitFor(`delivery of ${chatId}`, async () => {
      const [r] = await recordingsOf(company, chatId);
      return r?.status === 'delivered' ? r : null;
    });
  const signedProfile = async (company: string, filenameTemplate: string, extra: Record<string, unknown> = {}) => {
    const r = await http<Record<string, unknown>>(stack.app, 'PUT', '/v1/admin/profiles/agent', admin(company), {
      filenameTemplate,
      format: 'json',
      sidecar: true,
      manifest: true,
      ...extra,
    });
    expect(r.status).toBe(200);
    expect(r.body.manifest).toBe(true);
  };
  const runChat = (company: string, texts: string[]): Promise<DrivenChat> => endedChat(stack.app, company, texts);
  const writePem = (name: string, pem: string) => {
    const path = join(scratch, name);
    writeFileSync(path, pem);
    return path;
  };

  it('is off by default, and a malformed flag is refused naming the field', async () => {
    const company = 'manifest-default';
    const list = await http<{ name: string; manifest: boolean }[]>(stack.app, 'GET', '/v1/admin/profiles', admin(company));
    expect(list.body).toEqual([expect.objectContaining({ name: 'agent', manifest: false })]);
    const bad = await http<{ code: string; message: string }>(stack.app, 'POST', '/v1/admin/profiles', admin(company), {
      name: 'x',
      filenameTemplate: '{{chatId}}',
      format: 'text',
      manifest: 'yes',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('manifest');
    const made = await http<{ manifest: boolean }>(stack.app, 'POST', '/v1/admin/profiles', admin(company), {
      name: 'signed',
      filenameTemplate: '{{chatId}}',
      format: 'text',
      manifest: true,
    });
    expect(made.status).toBe(201);
    expect(made.body.manifest).toBe(true);
    expect((await http<{ manifest: boolean }>(stack.app, 'GET', '/v1/admin/profiles/signed', admin(company))).body.manifest).toBe(true);
  });

  it('over SFTP: the manifest is renamed into place last, lists the files as delivered, and verifies', async () => {
    const company = 'manifest-sftp';
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin(company), sftpTargetBody(stack.sshd))).status).toBe(200);
    await signedProfile(company, '{{chatId}}');
    // Flat names, so the watch on the upload folder sees every rename.
    const arrivals = watchArrivals(stack.sshd.localDir);
    let chat: DrivenChat;
    try {
      chat = await runChat(company, ['hello', 'hi, how can I help?', 'my order']);
      const rec = await delivered(company, chat.chatId);
      expect(rec.fileName).toBe(`${chat.chatId}.json`);
      await sleep(300);
    } finally {
      arrivals.close();
    }
    const id = chat.chatId;
    expect(arrivals.order).toEqual([`${id}.meta.json`, `${id}.json`, `${id}.manifest.json`]);

    const bytes = readFileSync(join(stack.sshd.localDir, `${id}.manifest.json`));
    const m = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    const [key] = await signingKeys(stack.app);
    const [rec] = await recordingsOf(company, id);
    expect(Object.keys(m)).toEqual([
      'version',
      'recordingId',
      'chatId',
      'companyId',
      'files',
      'chainHead',
      'previousManifestSha256',
      'createdAt',
      'keyId',
      'signature',
    ]);
    expect(m).toMatchObject({
      version: 1,
      recordingId: rec.id,
      chatId: id,
      companyId: company,
      previousManifestSha256: null,
      keyId: key.keyId,
    });
    // The chain at the recording's last captured message: the agent stayed to the end, so the
    // chat's last link, and the link on the last message row.
    const [head] = await stack.db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', [id]);
    const [last] = await stack.db.query<{ chain: string }>('SELECT chain FROM messages WHERE chat_id = ? ORDER BY seq DESC LIMIT 1', [id]);
    expect(m.chainHead).toMatch(/^[0-9a-f]{64}$/);
    expect(m.chainHead).toBe(head.chain_head);
    expect(m.chainHead).toBe(last.chain);
    expect(m.files).toEqual(
      [`${id}.meta.json`, `${id}.json`].map((name) => {
        const data = readFileSync(join(stack.sshd.localDir, name));
        return { name, bytes: data.length, sha256: sha256(data) };
      }),
    );
    // Stored once with the recording: what was delivered is what was built.
    const [row] = await stack.db.query<{ manifest_json: string }>('SELECT manifest_json FROM recordings WHERE id = ?', [rec.id]);
    expect(Buffer.from(row.manifest_json, 'utf8').equals(bytes)).toBe(true);

    const manifestPath = join(stack.sshd.localDir, `${id}.manifest.json`);
    expect(await verifyCli([manifestPath, '--url', stack.app.url])).toEqual({ code: 0, out: 'ok\n' });
    const publicKey = writePem('service.pub.pem', key.publicKeyPem);
    expect(await verifyCli([manifestPath, '--key', publicKey])).toEqual({ code: 0, out: 'ok\n' });

    // The operator's copy of the drop, tampered with one way at a time.
    const drop = join(scratch, 'drop');
    const restore = () => {
      rmSync(drop, { recursive: true, force: true });
      mkdirSync(drop);
      for (const n of [`${id}.meta.json`, `${id}.json`, `${id}.manifest.json`]) copyFileSync(join(stack.sshd.localDir, n), join(drop, n));
    };
    const copy = join(drop, `${id}.manifest.json`);
    restore();
    expect(await verifyCli([copy, '--key', publicKey])).toEqual({ code: 0, out: 'ok\n' });

    const body = readFileSync(join(drop, `${id}.json`));
    body[10] ^= 0x20;
    writeFileSync(join(drop, `${id}.json`), body);
    const changed = await verifyCli([copy, '--key', publicKey]);
    expect(changed.code).toBe(1);
    expect(changed.out).toMatch(new RegExp(`^changed file: ${id}\\.json is ${body.length} bytes with sha256 [0-9a-f]{64}; the manifest says`));
    expect(changed.out).not.toContain('ok');

    restore();
    unlinkSync(join(drop, `${id}.meta.json`));
    expect(await verifyCli([copy, '--url', stack.app.url])).toEqual({ code: 1, out: `missing file: ${id}.meta.json\n` });

    restore();
    const other = generateKeyPairSync('ed25519');
    const otherPub = writePem('other.pub.pem', other.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const wrong = await verifyCli([copy, '--key', otherPub]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(new RegExp(`^wrong key: the manifest was signed with key ${key.keyId}, the key given is [0-9a-f]{16}\\n$`));

    // Forged: the signature of other content, and content changed under the real signature.
    const forgedSig = { ...m, signature: Buffer.from(readFileSync(join(stack.sshd.localDir, `${id}.json`)).subarray(0, 64)).toString('base64') };
    writeFileSync(copy, JSON.stringify(forgedSig, null, 2));
    const forged = await verifyCli([copy, '--url', stack.app.url]);
    expect(forged.code).toBe(1);
    expect(forged.out).toMatch(/^bad signature/);
    writeFileSync(copy, JSON.stringify({ ...m, chatId: 'someone-else' }, null, 2));
    expect((await verifyCli([copy, '--key', publicKey])).out).toMatch(/^bad signature/);

    // And through npm, as docs/integrity.md tells the operator to run it.
    restore();
    const viaNpm = await new Promise<string>((resolve, reject) => {
      execFile('npm', ['run', '-s', 'verify', '--', copy, '--url', stack.app.url], { cwd: join(__dirname, '..') }, (err, out) =>
        err ? reject(err) : resolve(out),
      );
    });
    expect(viaNpm).toBe('ok\n');
  });

  it("a large recording (over 500 messages, its chain checked in the render's pass) carries the chain head in its manifest, and verifies", async () => {
    const company = 'manifest-large';
    const flow = token({ sub: 'flow', company, role: 'flow' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin(company), sftpTargetBody(stack.sshd))).status).toBe(200);
    const profile = { name: 'signed-big', filenameTemplate: 'big/{{chatId}}', format: 'text', sidecar: true, manifest: true };
    expect((await http(stack.app, 'POST', '/v1/admin/profiles', admin(company), profile)).status).toBe(201);
    const chatId = await flowChatWithMessages(stack.app, flow, { service: 'signed', profile: 'signed-big', count: 510, text: (i) => `line ${i}` });
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBeLessThan(300);
    const rec = await delivered(company, chatId);
    expect(rec.fileName).toBe(`big/${chatId}.txt`);
    const manifestPath = join(stack.sshd.localDir, 'big', `${chatId}.manifest.json`);
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as ManifestJson;
    const [head] = await stack.db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', [chatId]);
    expect(m.chainHead).toMatch(/^[0-9a-f]{64}$/);
    expect(m.chainHead).toBe(head.chain_head);
    expect(m.files.map((f) => f.name)).toEqual([`big/${chatId}.meta.json`, `big/${chatId}.txt`]);
    expect(readFileSync(join(stack.sshd.localDir, 'big', `${chatId}.txt`), 'utf8').match(/line \d+/g)).toHaveLength(510);
    expect(await verifyCli([manifestPath, '--url', stack.app.url])).toEqual({ code: 0, out: 'ok\n' });
  });

  it('builds the manifest once: a delivery retried after an outage sends the same bytes', async () => {
    const company = 'manifest-retry';
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin(company), sftpTargetBody(stack.sshd))).status).toBe(200);
    await signedProfile(company, 'retry/{{chatId}}', { format: 'text', sidecar: false });
    await stack.sshd.stop();
    let chat: DrivenChat;
    let stored: string;
    try {
      chat = await runChat(company, ['are you there?']);
      const row = async () =>
        (
          await stack.db.query<{ attempts: number; manifest_json: string | null }>('SELECT attempts, manifest_json FROM recordings WHERE chat_id = ?', [
            chat.chatId,
          ])
        )[0];
      const first = await waitFor('a failed attempt', async () => {
        const r = await row();
        return r.attempts >= 1 ? r : null;
      });
      stored = first.manifest_json as string;
      expect(stored).toContain(chat.chatId);
      // Later attempts neither rebuild it (a new createdAt) nor advance the company chain again.
      await waitFor('two more failed attempts', async () => (await row()).attempts >= first.attempts + 2);
      expect((await row()).manifest_json).toBe(stored);
      const chain = await stack.db.query<{ last_sha256: string; last_recording_id: string }>(
        'SELECT last_sha256, last_recording_id FROM manifest_chain WHERE company_id = ?',
        [company],
      );
      expect(chain).toEqual([{ last_sha256: sha256(stored), last_recording_id: (await recordingsOf(company, chat.chatId))[0].id }]);
    } finally {
      await stack.sshd.start();
    }
    await delivered(company, chat.chatId);
    const got = readFileSync(join(stack.sshd.localDir, 'retry', `${chat.chatId}.manifest.json`), 'utf8');
    expect(got).toBe(stored);
    expect((JSON.parse(got) as ManifestJson).files.map((f) => f.name)).toEqual([`retry/${chat.chatId}.txt`]);
    expect(await verifyCli([join(stack.sshd.localDir, 'retry', `${chat.chatId}.manifest.json`), '--url', stack.app.url])).toEqual({ code: 0, out: 'ok\n' });
  });

  it('in the local folder: the manifest comes last, the company chain links every manifest, and a removed one shows as a gap', async () => {
    const company = 'manifest-chain';
    await signedProfile(company, 'drop/{{chatId}}');
    const companyDir = join(stack.app.workDir, 'data', 'outbox', company);
    const dropDir = join(companyDir, 'drop');
    mkdirSync(dropDir, { recursive: true });
    chmodSync(dropDir, 0o755);
    const arrivals = watchArrivals(dropDir);
    const chats: DrivenChat[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const chat = await runChat(company, [`chat ${i}`, `answer ${i}`]);
        await delivered(company, chat.chatId);
        chats.push(chat);
      }
      await sleep(300);
    } finally {
      arrivals.close();
    }
    expect(arrivals.order).toEqual(chats.flatMap((c) => [`${c.chatId}.meta.json`, `${c.chatId}.json`, `${c.chatId}.manifest.json`]));
    const paths = chats.map((c) => join(dropDir, `${c.chatId}.manifest.json`));
    const manifests = paths.map((p) => JSON.parse(readFileSync(p, 'utf8')) as ManifestJson);
    expect(manifests[0].previousManifestSha256).toBeNull();
    expect(manifests[1].previousManifestSha256).toBe(sha256(readFileSync(paths[0])));
    expect(manifests[2].previousManifestSha256).toBe(sha256(readFileSync(paths[1])));
    for (const p of paths) expect(await verifyCli([p, '--url', stack.app.url])).toEqual({ code: 0, out: 'ok\n' });

    // A manifest moved out of its files' folder needs --root; without a key there is no verdict.
    const moved = join(scratch, 'moved.manifest.json');
    copyFileSync(paths[0], moved);
    const noRoot = await verifyCli([moved, '--url', stack.app.url]);
    expect(noRoot.code).toBe(2);
    expect(noRoot.out).toContain('give the target folder with --root');
    expect(await verifyCli([moved, '--root', companyDir, '--url', stack.app.url])).toEqual({ code: 0, out: 'ok\n' });
    // Without --key or --url (the contract's brackets): the keys the local service lists, at PORT.
    expect(await verifyCli([paths[0]], { PORT: new URL(stack.app.url).port })).toEqual({ code: 0, out: 'ok\n' });
    const noService = await verifyCli([paths[0]], { PORT: String(await freePort()) });
    expect(noService.code).toBe(2);
    expect(noService.out).toContain('give --key PEM_FILE or --url BASE_URL');

    // Three more ending at once: built concurrently, still one chain (no fork).
    const more = await Promise.all([0, 1, 2].map((i) => runChat(company, [`parallel ${i}`])));
    for (const c of more) await delivered(company, c.chatId);
    const whole = await verifyCli(['--chain', companyDir, '--url', stack.app.url]);
    expect(whole.code).toBe(0);
    expect(whole.out).toContain(`company ${company}: 6 manifest(s)`);
    expect(whole.out.trim().endsWith('ok')).toBe(true);
    const listed = whole.out.split('\n').filter((l) => /^\s+\d+\. /.test(l));
    expect(listed.slice(0, 3)).toEqual(chats.map((c, i) => `  ${i + 1}. drop/${c.chatId}.manifest.json`));

    unlinkSync(paths[1]);
    const gap = await verifyCli(['--chain', companyDir]);
    expect(gap.code).toBe(1);
    expect(gap.out).toContain(`gap in company ${company}: the manifest before drop/${chats[2].chatId}.manifest.json`);
    expect(gap.out).toContain(`no manifest here has sha256 ${manifests[2].previousManifestSha256}`);
  });
});

// The embedded default: SQLite and the local folder, with the generated key.
describe('signed manifests on SQLite', () => {
  let app: AppHandle;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  it('delivers two chained, verifiable manifests to the local folder', async () => {
    const company = 'manifest-sqlite';
    const adm = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(app, 'PUT', '/v1/admin/profiles/agent', adm, { filenameTemplate: 'd/{{chatId}}', format: 'html', manifest: true })).status).toBe(200);
    const paths: string[] = [];
    for (const text of ['first', 'second']) {
      const chat = await openChat(app, company);
      try {
        await exchange(chat, [text]);
        await endChat(chat);
      } finally {
        chat.close();
      }
      await waitFor('delivery', async () => {
        const r = await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, adm);
        return r.body[0]?.status === 'delivered';
      });
      paths.push(join(app.workDir, 'data', 'outbox', company, 'd', `${chat.chatId}.manifest.json`));
    }
    const second = JSON.parse(readFileSync(paths[1], 'utf8')) as ManifestJson;
    expect(second.previousManifestSha256).toBe(sha256(readFileSync(paths[0])));
    expect(second.files.map((f) => f.name)).toEqual([`d/${second.chatId}.html`]);
    for (const p of paths) expect(await verifyCli([p, '--url', app.url])).toEqual({ code: 0, out: 'ok\n' });
    expect((await verifyCli(['--chain', join(app.workDir, 'data', 'outbox', company)])).code).toBe(0);
    // No ENCRYPTION_MASTER_KEY here: the generated key is kept unsealed, and the start says so.
    expect(app.logs()).toContain('the generated manifest signing key is stored unsealed');
  });
});
