import { AppHandle, cleanupDir, emit, http, migrate, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { SshdHandle, startSshd } from './support/sshd';

interface RecordingView {
  id: string;
  kind: string;
  status: string;
  fileName: string | null;
  attempts: number;
}

// Contract section 5: a recording keeps its profile (template, format, sidecar) as it was when the
// recording started; editing or deleting the profile afterwards changes nothing for it.
describe('a recording keeps its profile as it was at its start', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let app: AppHandle;
  const company = 'snapco';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });

  beforeAll(async () => {
    db = await createTestDatabase('snap');
    await migrate(db.url);
    sshd = await startSshd();
    app = await startApp({ databaseUrl: db.url });
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await sshd?.destroy();
    await db?.drop();
  });

  const recordings = async (chatId: string) => (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;

  it('a profile edited between a failed attempt and the retry: the file keeps its name and its format', async () => {
    const profile = { filenameTemplate: 'snap/{{chatId}}-{{label}}', format: 'json', sidecar: true };
    expect((await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'snap', ...profile })).status).toBe(201);
    const chat = await openChat(app, company, { agentId: 'ag-snap' });
    let flowId = '';
    try {
      const r = await http<{ recordingId: string }>(app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flow, { profile: 'snap', label: 'x' });
      flowId = r.body.recordingId;
      await exchange(chat, ['hello', 'hi']);
      // the agent profile is edited while the agent recording runs: it keeps the text format too
      expect((await http(app, 'PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate: 'edited/{{chatId}}', format: 'html' })).status).toBe(200);
      await sshd.stop();
      await endChat(chat);
    } finally {
      chat.close();
    }
    await waitFor('a failed first attempt', async () => {
      const recs = await recordings(chat.chatId);
      return recs.length === 2 && recs.every((x) => x.attempts >= 1 && x.fileName !== null);
    });
    expect((await http(app, 'PUT', '/v1/admin/profiles/snap', admin, { filenameTemplate: 'other/{{chatId}}', format: 'html', sidecar: false })).status).toBe(
      200,
    );
    await sshd.start();
    const recs = await waitFor(
      'delivery',
      async () => {
        const r = await recordings(chat.chatId);
        return r.every((x) => x.status === 'delivered') ? r : null;
      },
      30_000,
    );
    const flowRec = recs.find((r) => r.id === flowId) as RecordingView;
    expect(flowRec.fileName).toBe(`snap/${chat.chatId}-x.json`);
    const parsed = JSON.parse(sshd.readFile(flowRec.fileName as string)) as { entries: { text?: string }[] };
    expect(parsed.entries.map((e) => e.text).filter(Boolean)).toEqual(['hello', 'hi']);
    expect(sshd.listFiles()).toContain(`snap/${chat.chatId}-x.meta.json`);
    expect(sshd.listFiles().filter((f) => f.startsWith('other/'))).toEqual([]);
    const agentRec = recs.find((r) => r.kind === 'agent') as RecordingView;
    expect(agentRec.fileName).toMatch(/\.txt$/);
    expect(sshd.readFile(agentRec.fileName as string)).toContain('Chat transcript');
    // put the built-in profile back for the next test
    await http(app, 'PUT', '/v1/admin/profiles/agent', admin, {
      filenameTemplate: '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}',
      format: 'text',
    });
  });

  it('a profile deleted while a flow recording of it runs: the recording is still delivered', async () => {
    expect((await http(app, 'POST', '/v1/admin/profiles', admin, { name: 'gone', filenameTemplate: 'gone/{{chatId}}', format: 'html' })).status).toBe(201);
    const chat = await openChat(app, company, { agentId: 'ag-gone' });
    let flowId = '';
    try {
      const r = await http<{ recordingId: string }>(app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flow, { profile: 'gone' });
      expect(r.status).toBe(201);
      flowId = r.body.recordingId;
      expect((await http(app, 'DELETE', '/v1/admin/profiles/gone', admin)).status).toBe(204);
      expect((await emit(chat.customer, 'message', { clientMsgId: 'g', text: 'still kept' })).ok).toBe(true);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const recs = await waitFor('outcomes', async () => {
      const r = await recordings(chat.chatId);
      return r.length === 2 && r.every((x) => x.status === 'delivered' || x.status === 'failed') ? r : null;
    });
    const flowRec = recs.find((x) => x.id === flowId) as RecordingView;
    expect(flowRec).toMatchObject({ status: 'delivered', fileName: `gone/${chat.chatId}.html` });
    expect(sshd.readFile(flowRec.fileName as string)).toContain('still kept');
  });
});
