import { AppHandle, cleanupDir, http, migrate, sleep, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

interface ErasureView {
  status: string;
  chats: { chatId: string; action: string }[];
  files: { name: string; action: string }[];
}

// An erasure survives kill -9 (resumed after the restart by the lease sweep), and a recording
// whose delivery is under way when the erasure comes is never delivered after it.
describe('erasure faults', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let proxy: TcpProxy;
  let app: AppHandle;
  const company = 'erase-crash';
  const admin = token({ sub: 'adm', company, role: 'admin' });

  beforeAll(async () => {
    db = await createTestDatabase('erasecrash');
    await migrate(db.url);
    sshd = await startSshd();
    proxy = await startTcpProxy(sshd.port);
    app = await startApp({
      databaseUrl: db.url,
      env: {
        ERASURE_SWEEP_MS: '300',
        ERASURE_LEASE_MS: '2000',
        ERASURE_ATTEMPTS: '5',
        ERASURE_RETRY_BASE_MS: '500',
        SFTP_OPERATION_TIMEOUT_MS: '4000',
        DELIVERY_LEASE_MS: '3000',
        DELIVERY_RETRY_BASE_MS: '1000',
      },
    });
    // through the proxy, which can freeze the connection
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody({ ...sshd, port: proxy.port }))).status).toBe(200);
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await proxy?.close();
    await sshd?.destroy();
    await db?.drop();
  });

  const erasure = async (id: string) => (await http<ErasureView>(app, 'GET', `/v1/admin/erasures/${id}`, admin)).body;
  const recordings = async (chatId: string) =>
    (await http<{ id: string; status: string; fileName: string; outcome: { reason: string } }[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin))
      .body;

  it('resumes an erasure after kill -9 in the middle, to done, once', async () => {
    const chat = await openChat(app, company, { agentId: 'ag-1', customer: { id: 'cust-k', name: 'Kim' } });
    await exchange(chat, ['first', 'second']);
    await endChat(chat);
    chat.close();
    const [rec] = await waitFor('delivery', async () => {
      const rs = await recordings(chat.chatId);
      return rs[0]?.status === 'delivered' ? rs : null;
    });
    expect(sshd.listFiles()).toContain(rec.fileName);

    // step 2 cannot reach the target: the database part is done, the removal hangs
    proxy.stall(true);
    const seen = proxy.connections();
    const r = await http<{ erasureId: string }>(app, 'POST', '/v1/admin/erasures', admin, { customerId: 'cust-k' });
    expect(r.status).toBe(202);
    const id = r.body.erasureId;
    await waitFor('step 1 done and step 2 under way', async () => {
      const rows = await db.query<{ action: string | null }>('SELECT action FROM erasure_chats WHERE erasure_id = ?', [id]);
      return rows[0]?.action === 'erased' && proxy.connections() > seen;
    });
    await app.kill();
    const [row] = await db.query<{ status: string; step: string }>('SELECT status, step FROM erasures WHERE id = ?', [id]);
    expect(row).toEqual({ status: 'running', step: 'files' });
    expect(sshd.listFiles()).toContain(rec.fileName);

    proxy.stall(false);
    await app.restart();
    const done = await waitFor('the resumed erasure', async () => {
      const e = await erasure(id);
      return e.status !== 'running' ? e : null;
    });
    expect(done).toMatchObject({ status: 'done', chats: [{ chatId: chat.chatId, action: 'erased' }], files: [{ name: rec.fileName, action: 'removed' }] });
    expect(sshd.listFiles()).not.toContain(rec.fileName);
    expect(JSON.parse(sshd.readFile(`erasures/${id}.json`))).toMatchObject({ erasureId: id, files: [{ name: rec.fileName, removed: true }] });
    const completed = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'erasure.completed' AND detail LIKE ?", [`%${id}%`]);
    expect(Number(completed[0].n)).toBe(1);
  });

  it('waits for a delivery under way, then suppresses the recording: nothing is delivered after the erasure', async () => {
    proxy.stall(true);
    const chat = await openChat(app, company, { agentId: 'ag-2', customer: { id: 'cust-race', name: 'Ray' } });
    await exchange(chat, ['in flight']);
    await endChat(chat);
    chat.close();
    const [rec] = await recordings(chat.chatId);
    // a worker holds the job (its connection hangs in the frozen proxy)
    await waitFor('the worker to hold the job', async () => {
      const rows = await db.query<{ lease_owner: string | null }>('SELECT lease_owner FROM delivery_jobs WHERE recording_id = ?', [rec.id]);
      return rows[0]?.lease_owner !== null && rows[0]?.lease_owner !== undefined;
    });
    const r = await http<{ erasureId: string }>(app, 'POST', '/v1/admin/erasures', admin, { chatId: chat.chatId });
    const id = r.body.erasureId;
    await sleep(500);
    // not settled while the worker holds the job
    expect((await erasure(id)).chats).toEqual([]);
    const done = await waitFor('the erasure', async () => {
      const e = await erasure(id);
      return e.status !== 'running' ? e : null;
    });
    proxy.stall(false);
    expect(done).toMatchObject({ status: 'done', chats: [{ chatId: chat.chatId, action: 'erased' }], files: [] });
    expect((await recordings(chat.chatId))[0]).toMatchObject({ status: 'suppressed', outcome: { reason: 'erased' } });
    const [job] = await db.query<{ state: string }>('SELECT state FROM delivery_jobs WHERE recording_id = ?', [rec.id]);
    expect(job.state).toBe('canceled');
    await sleep(1500); // the worker polls on: it never delivers the canceled job
    expect(sshd.listFiles().filter((f) => f.includes(chat.chatId))).toEqual([]);
  });

  it('is run by one instance at a time; another takes it over when the first dies', async () => {
    const other = await startApp({
      databaseUrl: db.url,
      env: {
        INSTANCE_ID: 'erase-b',
        ERASURE_SWEEP_MS: '300',
        ERASURE_LEASE_MS: '2000',
        ERASURE_ATTEMPTS: '5',
        ERASURE_RETRY_BASE_MS: '500',
        SFTP_OPERATION_TIMEOUT_MS: '4000',
      },
    });
    try {
      const chat = await openChat(app, company, { agentId: 'ag-3', customer: { id: 'cust-two', name: 'Tess' } });
      await exchange(chat, ['two instances']);
      await endChat(chat);
      chat.close();
      const [rec] = await waitFor('delivery', async () => {
        const rs = await recordings(chat.chatId);
        return rs[0]?.status === 'delivered' ? rs : null;
      });
      proxy.stall(true);
      const r = await http<{ erasureId: string }>(app, 'POST', '/v1/admin/erasures', admin, { customerId: 'cust-two' });
      const id = r.body.erasureId;
      const owners = new Set<string>();
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        const [row] = await db.query<{ lease_owner: string | null }>('SELECT lease_owner FROM erasures WHERE id = ?', [id]);
        if (row.lease_owner) owners.add(row.lease_owner);
        await sleep(100);
      }
      // the instance that took it keeps it (renewed) while it runs; the other one leaves it alone
      expect(owners.size).toBe(1);
      const first = [...owners][0];
      const dies = first === 'erase-b' ? other : app;
      const survivor = first === 'erase-b' ? app : other;
      await dies.kill();
      proxy.stall(false);
      const done = await waitFor('the erasure, taken over', async () => {
        const e = (await http<ErasureView>(survivor, 'GET', `/v1/admin/erasures/${id}`, admin)).body;
        return e.status !== 'running' ? e : null;
      });
      expect(done).toMatchObject({ status: 'done', files: [{ name: rec.fileName, action: 'removed' }] });
      expect(sshd.listFiles()).not.toContain(rec.fileName);
      const completed = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'erasure.completed' AND detail LIKE ?", [`%${id}%`]);
      expect(Number(completed[0].n)).toBe(1);
      if (dies === app) await app.restart();
    } finally {
      await other.stop();
      cleanupDir(other.workDir);
    }
  });
});
