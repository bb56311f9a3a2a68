// Issue 14 item 3: a large body is rendered once into a private spool file and uploaded from there.
// The spool file goes with its delivery attempt, whether it delivered or failed mid-upload (here: the
// connection reset by a proxy in front of sshd), and a crash's file is removed at the next start.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, http, migrate, startApp, token, waitFor } from './support/app';
import { flowChatWithMessages, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
  attempts: number;
}

const COMPANY = 'spooled';
const MESSAGES = 300; // ~3 MB: well over the 1 MB kept in memory
const admin = token({ sub: 'adm', company: COMPANY, role: 'admin' });
const flow = token({ sub: 'flow', company: COMPANY, role: 'flow' });
// A pid no process can have (above the kernel's pid_max), as a crashed process's would be.
const STALE = '999999999.0123456789abcdef.spool';

describe('the delivery spool (issue 14 item 3)', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let proxy: TcpProxy;
  let app: AppHandle;
  let spoolDir: string;
  const spoolFiles = () => readdirSync(spoolDir).filter((n) => n.endsWith('.spool'));

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    sshd = await startSshd();
    proxy = await startTcpProxy(sshd.port);
    spoolDir = join(mkdtempSync(join(tmpdir(), 'wcr-spool-')), 'spool');
    mkdirSync(spoolDir);
    writeFileSync(join(spoolDir, STALE), 'left by a crash');
    writeFileSync(join(spoolDir, 'notes.txt'), 'not ours');
    app = await startApp({ databaseUrl: db.url, env: { DELIVERY_SPOOL_DIR: spoolDir, DELIVERY_LEASE_MS: '2000' } });
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, { ...sftpTargetBody(sshd), port: proxy.port })).status).toBe(200);
    expect((await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'big', filenameTemplate: 'big/{{chatId}}', format: 'text' })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await proxy?.close();
    await sshd?.destroy();
    await db?.drop();
    if (spoolDir) cleanupDir(join(spoolDir, '..'));
  });

  // A chat whose recording renders to ~3 MB, ended: its delivery starts.
  async function endLargeChat(): Promise<string> {
    const chatId = await flowChatWithMessages(app, flow, { service: 'spool', profile: 'big', count: MESSAGES, text: (i) => `${i} ${'z'.repeat(9_990)}` });
    expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBeLessThan(300);
    return chatId;
  }
  const recordingOf = async (chatId: string) => (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body[0];

  it("removes a crashed process's spool files at start, and leaves other files alone", () => {
    expect(existsSync(join(spoolDir, STALE))).toBe(false);
    expect(readdirSync(spoolDir)).toEqual(['notes.txt']);
  });

  it('uploads from a private spool file, removed after a failed attempt (reset mid-upload) and after the delivery', async () => {
    // Frozen first, so that the spool file can be seen; then cut once 1 MB has gone up.
    proxy.stall(true);
    const chatId = await endLargeChat();
    const [name] = await waitFor('the body in the spool', () => spoolFiles().length > 0 && spoolFiles());
    expect(name).toMatch(new RegExp(`^${app.pid()}\\.[0-9a-f]{16}\\.spool$`));
    expect(statSync(join(spoolDir, name)).mode & 0o777).toBe(0o600);
    proxy.resetAfterBytes(1024 * 1024);
    proxy.stall(false);

    const failed = await waitFor('the first attempt failed', async () => {
      const r = await recordingOf(chatId);
      return r.attempts >= 1 && r.lastError !== null && r;
    });
    expect(failed.status).toBe('pending');
    // It failed mid-upload: a partial temporary file is on the server, and no spool file is left.
    expect(sshd.listFiles().some((f) => f.endsWith('.part'))).toBe(true);
    expect(spoolFiles()).toEqual([]);

    proxy.resetAfterBytes(null);
    const done = await waitFor('delivered', async () => {
      const r = await recordingOf(chatId);
      return r.status === 'delivered' && r;
    });
    expect(spoolFiles()).toEqual([]);
    const file = readFileSync(join(sshd.localDir, `${done.fileName}`));
    expect(file.length).toBeGreaterThan(MESSAGES * 10_000);
    expect(
      file
        .toString('utf8')
        .split('\n')
        .filter((l) => l.includes('z'.repeat(9_990))),
    ).toHaveLength(MESSAGES);
    const row = await db.query<{ file_sha256: string }>('SELECT file_sha256 FROM recordings WHERE id = ?', [done.id]);
    expect(row).toEqual([{ file_sha256: createHash('sha256').update(file).digest('hex') }]);
    expect(sshd.listFiles().filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a recording of more than 500 messages, rendered into the spool: delivered whole when intact; when its chain is broken far in, nothing uploaded, no name, no spool file', async () => {
    // 520 messages of ~2,100 characters: a "large" recording (LARGE_RENDER_MESSAGES) spooled (> 1 MB).
    const chatOf = () => flowChatWithMessages(app, flow, { service: 'spool', profile: 'big', count: 520, text: (i) => `${i} ${'y'.repeat(2_100)}` });
    const intact = await chatOf();
    const broken = await chatOf();
    // Behind the service's back: a body changed far into the chat, past the render's first pages.
    await db.query("UPDATE messages SET text = 'forged' WHERE chat_id = ? AND seq = 400", [broken]);
    for (const chatId of [broken, intact]) expect((await http(app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBeLessThan(300);

    const failed = await waitFor('the broken one failed', async () => {
      const r = await recordingOf(broken);
      return r.status === 'failed' && r;
    });
    expect(failed.lastError).toContain('message chain broken at seq 400');
    expect(failed.fileName).toBeNull();
    const done = await waitFor('the intact one delivered', async () => {
      const r = await recordingOf(intact);
      return r.status === 'delivered' && r;
    });
    const lines = readFileSync(join(sshd.localDir, `${done.fileName}`), 'utf8')
      .split('\n')
      .filter((l) => l.includes('y'.repeat(2_100)));
    expect(lines).toHaveLength(520);
    expect(sshd.listFiles().filter((f) => f.includes(broken))).toEqual([]);
    expect(sshd.listFiles().filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });

  it('a crash mid-delivery leaves its spool file, which the restarted service removes before it delivers again', async () => {
    proxy.stall(true);
    const chatId = await endLargeChat();
    const [name] = await waitFor('the body in the spool', () => spoolFiles().length > 0 && spoolFiles());
    await app.kill();
    expect(spoolFiles()).toEqual([name]);
    // Horizon stays frozen through the restart, so the new process's own attempt can be seen too.
    await app.restart();
    // The crashed process's file is gone before the service is up.
    expect(spoolFiles()).not.toContain(name);
    // Once the crashed process's lease has run out, the job is claimed again and spooled afresh under
    // the new process's pid (on a slow machine, already before the restart above returned).
    const [again] = await waitFor('spooled again by the restarted service', () => spoolFiles().length > 0 && spoolFiles());
    expect(again).toMatch(new RegExp(`^${app.pid()}\\.[0-9a-f]{16}\\.spool$`));
    proxy.stall(false);
    await waitFor('delivered after the restart', async () => (await recordingOf(chatId)).status === 'delivered', 30_000);
    expect(spoolFiles()).toEqual([]);
  });
});
