import { emit, http, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { deliveryStack } from './support/stack';

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
  const stack = deliveryStack({ prefix: 'snap' });
  const company = 'snapco';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });

  beforeAll(async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
  });

  const recordings = async (chatId: string) => (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;

  it('a profile edited between a failed attempt and the retry: the file keeps its name and its format', async () => {
    const profile = { filenameTemplate: 'snap/{{chatId}}-{{label}}', format: 'json', sidecar: true };
    expect((await http(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'snap', ...profile })).status).toBe(201);
    const chat = await openChat(stack.app, company, { agentId: 'ag-snap' });
    let flowId = '';
    try {
      const r = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flow, { profile: 'snap', label: 'x' });
      flowId = r.body.recordingId;
      await exchange(chat, ['hello', 'hi']);
      // the agent profile is edited while the agent recording runs: it keeps the text format too
      expect((await http(stack.app, 'PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate: 'edited/{{chatId}}', format: 'html' })).status).toBe(200);
      await stack.sshd.stop();
      await endChat(chat);
    } finally {
      chat.close();
    }
    await waitFor('a failed first attempt', async () => {
      const recs = await recordings(chat.chatId);
      return recs.length === 2 && recs.every((x) => x.attempts >= 1 && x.fileName !== null);
    });
    expect(
      (await http(stack.app, 'PUT', '/v1/admin/profiles/snap', admin, { filenameTemplate: 'other/{{chatId}}', format: 'html', sidecar: false })).status,
    ).toBe(200);
    await stack.sshd.start();
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
    const parsed = JSON.parse(stack.sshd.readFile(flowRec.fileName as string)) as { entries: { text?: string }[] };
    expect(parsed.entries.map((e) => e.text).filter(Boolean)).toEqual(['hello', 'hi']);
    expect(stack.sshd.listFiles()).toContain(`snap/${chat.chatId}-x.meta.json`);
    expect(stack.sshd.listFiles().filter((f) => f.startsWith('other/'))).toEqual([]);
    const agentRec = recs.find((r) => r.kind === 'agent') as RecordingView;
    expect(agentRec.fileName).toMatch(/\.txt$/);
    expect(stack.sshd.readFile(agentRec.fileName as string)).toContain('Chat transcript');
    // put the built-in profile back for the next test
    await http(stack.app, 'PUT', '/v1/admin/profiles/agent', admin, {
      filenameTemplate: '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}',
      format: 'text',
    });
  });

  it('a profile deleted while a flow recording of it runs: the recording is still delivered', async () => {
    expect((await http(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'gone', filenameTemplate: 'gone/{{chatId}}', format: 'html' })).status).toBe(
      201,
    );
    const chat = await openChat(stack.app, company, { agentId: 'ag-gone' });
    let flowId = '';
    try {
      const r = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flow, { profile: 'gone' });
      expect(r.status).toBe(201);
      flowId = r.body.recordingId;
      expect((await http(stack.app, 'DELETE', '/v1/admin/profiles/gone', admin)).status).toBe(204);
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
    expect(stack.sshd.readFile(flowRec.fileName as string)).toContain('still kept');
  });
});
