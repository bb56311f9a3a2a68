import type { Socket } from 'socket.io-client';
import { connect, emit, http, next, token, waitFor } from './support/app';
import { DrivenChat, endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { deliveryStack } from './support/stack';

interface RecordingView {
  id: string;
  kind: string;
  profile: string;
  label: string | null;
  agentId: string | null;
  status: string;
  fileName: string | null;
  outcome: { produced: boolean; reason: string; explanation: string } | null;
}

// Contract section 4, sentence by sentence, through socket.io and REST: which files appear on the
// SFTP server and which never do.
describe('recording rules end to end', () => {
  const stack = deliveryStack({ prefix: 'rules' });
  const company = 'rules';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const extra: Socket[] = [];

  beforeAll(async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/nope', admin, { permitRecordings: false, login: 'nope' })).status).toBe(200);
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/never', admin, { samplingPercent: 0, login: 'never' })).status).toBe(200);
  });
  afterAll(async () => {
    extra.forEach((s) => s.close());
  });

  const recordings = async (chatId: string) => (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin)).body;

  // Waits until every recording of the chat is final, then returns them with the chat's files.
  async function settle(chatId: string): Promise<{ recs: RecordingView[]; files: string[] }> {
    const recs = await waitFor('final outcomes', async () => {
      const r = await recordings(chatId);
      return r.length > 0 && r.every((x) => x.status === 'delivered' || x.status === 'suppressed' || x.status === 'failed') ? r : null;
    });
    return { recs, files: stack.sshd.listFiles().filter((f) => f.includes(chatId)) };
  }

  async function run(agentId: string, during: (chat: DrivenChat) => Promise<void>): Promise<{ chat: DrivenChat; recs: RecordingView[]; files: string[] }> {
    const chat = await openChat(stack.app, company, { agentId });
    try {
      await exchange(chat, ['hello', 'hi, how can I help?']);
      await during(chat);
      await endChat(chat);
    } finally {
      chat.close();
    }
    return { chat, ...(await settle(chat.chatId)) };
  }

  const bodiesOf = async (chatId: string) =>
    (await stack.db.query<{ text: string | null }>('SELECT text FROM messages WHERE chat_id = ? ORDER BY seq', [chatId])).map((r) => r.text);

  it('each joining agent gets one recording, delivered under the agent profile', async () => {
    const { chat, recs, files } = await run('agent-a', async () => undefined);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'agent', agentId: 'agent-a', status: 'delivered', outcome: { produced: true, reason: 'recorded' } });
    expect(files).toEqual([recs[0].fileName]);
    expect(stack.sshd.readFile(files[0])).toContain('hi, how can I help?');
    expect(await bodiesOf(chat.chatId)).toEqual(['hello', 'hi, how can I help?']);
  });

  it('(a) an agent with permitRecordings=false: no recording of the chat at all, bodies purged', async () => {
    const { chat, recs, files } = await run('nope', async (c) => {
      const r = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'agent', label: 'flow-side' });
      expect(r.status).toBe(201);
    });
    expect(recs).toHaveLength(2);
    expect(recs.every((r) => r.status === 'suppressed' && r.outcome?.reason === 'agent_not_permitted')).toBe(true);
    expect(files).toEqual([]);
    expect(await bodiesOf(chat.chatId)).toEqual([null, null]);
    const explained = await http<{ recordings: RecordingView[] }>(stack.app, 'GET', `/v1/admin/chats/${chat.chatId}`, admin);
    expect(explained.body.recordings[0].outcome?.explanation).toContain('nope');
  });

  it('(a) also after a transfer: a non-permitting agent who took part vetoes every recording', async () => {
    const { recs, files } = await run('agent-b', async (c) => {
      const nope = await connect(stack.app, '/agent', token({ sub: 'nope', company, role: 'agent' }));
      extra.push(nope);
      const assigned = next<{ chatId: string }>(nope, 'chat.assigned');
      expect((await emit(c.agent, 'chat.transfer', { chatId: c.chatId, toAgentId: 'nope' })).ok).toBe(true);
      expect((await assigned).chatId).toBe(c.chatId);
      // the transferring agent has left: it can no longer send to the chat
      expect((await emit(c.agent, 'message', { chatId: c.chatId, clientMsgId: 'after', text: 'x' })).error?.code).toBe('forbidden');
      expect((await emit(nope, 'chat.join', { chatId: c.chatId })).ok).toBe(true);
      expect((await emit(nope, 'message', { chatId: c.chatId, clientMsgId: 'n1', text: 'I took over' })).ok).toBe(true);
      // and it transfers back; its veto stays
      expect((await emit(nope, 'chat.transfer', { chatId: c.chatId, toAgentId: 'agent-b' })).ok).toBe(true);
      expect((await emit(c.agent, 'chat.join', { chatId: c.chatId })).ok).toBe(true);
    });
    expect(recs.map((r) => r.agentId).sort()).toEqual(['agent-b', 'nope']);
    expect(recs.every((r) => r.outcome?.reason === 'agent_not_permitted')).toBe(true);
    expect(files).toEqual([]);
  });

  it('(a) a supervisor with permitRecordings=false who joins vetoes too; a supervisor may join any chat', async () => {
    await http(stack.app, 'PUT', '/v1/admin/agents/sup-x', admin, { permitRecordings: false });
    const { recs, files } = await run('agent-c', async (c) => {
      const sup = await connect(stack.app, '/agent', token({ sub: 'sup-x', company, role: 'supervisor', name: 'Sue' }));
      extra.push(sup);
      const j = await emit(sup, 'chat.join', { chatId: c.chatId });
      expect(j.ok).toBe(true);
      expect((j.history as unknown[]).length).toBe(2);
      // a supervisor of another company cannot
      const foreign = await connect(stack.app, '/agent', token({ sub: 'sup-y', company: 'elsewhere', role: 'supervisor' }));
      extra.push(foreign);
      expect((await emit(foreign, 'chat.join', { chatId: c.chatId })).error?.code).toBe('not_found');
    });
    expect(recs).toHaveLength(2);
    expect(recs.every((r) => r.status === 'suppressed' && r.outcome?.reason === 'agent_not_permitted')).toBe(true);
    expect(files).toEqual([]);
  });

  it('(b) the customer asks for deletion and the agent confirms: nothing is produced', async () => {
    const { recs, files } = await run('agent-d', async (c) => {
      // the agent cannot delete before the customer asked
      expect((await emit(c.agent, 'recording.delete', { chatId: c.chatId })).error?.code).toBe('conflict');
      const asked = next<{ chatId: string }>(c.agent, 'recording.deleteRequested');
      expect((await emit(c.customer, 'recording.deleteRequest', {})).ok).toBe(true);
      expect(await asked).toEqual({ chatId: c.chatId });
      expect((await emit(c.agent, 'recording.delete', { chatId: c.chatId })).ok).toBe(true);
    });
    expect(recs[0]).toMatchObject({ status: 'suppressed', outcome: { reason: 'deletion_confirmed' } });
    expect(files).toEqual([]);
  });

  it('(b) a deletion request the agent does not confirm changes nothing', async () => {
    const { recs, files } = await run('agent-e', async (c) => {
      expect((await emit(c.customer, 'recording.deleteRequest', {})).ok).toBe(true);
    });
    expect(recs[0].status).toBe('delivered');
    expect(files).toHaveLength(1);
    expect(stack.sshd.readFile(files[0])).toContain('asked for deletion');
  });

  it('(c) consent refused in the widget, refused by the flow, or the conversation discarded: nothing', async () => {
    const widget = await run('agent-f', async (c) => {
      const asked = next<{ prompt: string }>(c.customer, 'consent.request');
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/consent/request`, flow, { prompt: 'May we record this chat?' })).status).toBe(200);
      expect(await asked).toEqual({ prompt: 'May we record this chat?' });
      expect((await emit(c.customer, 'consent.answer', { granted: false })).ok).toBe(true);
    });
    expect(widget.recs[0].outcome?.reason).toBe('consent_refused');
    expect(widget.files).toEqual([]);

    const byFlow = await run('agent-f', async (c) => {
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/consent`, flow, { granted: false })).status).toBe(200);
    });
    expect(byFlow.recs[0].outcome?.reason).toBe('consent_refused');
    expect(byFlow.files).toEqual([]);

    const discarded = await run('agent-f', async (c) => {
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/discard`, flow)).status).toBe(200);
    });
    expect(discarded.recs[0].outcome?.reason).toBe('discarded');
    expect(discarded.files).toEqual([]);

    const granted = await run('agent-f', async (c) => {
      expect((await emit(c.customer, 'consent.answer', { granted: true })).ok).toBe(true);
    });
    expect(granted.recs[0].status).toBe('delivered');
    expect(stack.sshd.readFile(granted.files[0])).toContain('consent granted');
  });

  it('override: an abusive chat produces every recording, whatever (a)-(c) and sampling say', async () => {
    const byAgent = await run('nope', async (c) => {
      expect((await emit(c.customer, 'recording.deleteRequest', {})).ok).toBe(true);
      expect((await emit(c.agent, 'recording.delete', { chatId: c.chatId })).ok).toBe(true);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/consent`, flow, { granted: false })).status).toBe(200);
      expect((await emit(c.agent, 'chat.flagAbusive', { chatId: c.chatId, reason: 'threats' })).ok).toBe(true);
    });
    expect(byAgent.recs[0]).toMatchObject({ status: 'delivered', outcome: { reason: 'abusive_override' } });
    expect(byAgent.files).toHaveLength(1);
    expect(stack.sshd.readFile(byAgent.files[0])).toContain('threats');

    const byFlow = await run('never', async (c) => {
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/abusive`, flow, { reason: 'spam' })).status).toBe(200);
    });
    expect(byFlow.recs[0]).toMatchObject({ status: 'delivered', outcome: { reason: 'abusive_override' } });

    const bySupervisor = await run('nope', async (c) => {
      const sup = await connect(stack.app, '/agent', token({ sub: 'sup-ok', company, role: 'supervisor', name: 'Sam' }));
      extra.push(sup);
      expect((await emit(sup, 'chat.join', { chatId: c.chatId })).ok).toBe(true);
      expect((await emit(sup, 'chat.flagAbusive', { chatId: c.chatId, reason: 'abuse' })).ok).toBe(true);
    });
    expect(bySupervisor.recs).toHaveLength(2);
    expect(bySupervisor.recs.every((r) => r.status === 'delivered')).toBe(true);
    expect(bySupervisor.files).toHaveLength(2);
  });

  it('sampling: a 0% agent is not kept, while the flow recording beside it is', async () => {
    const { recs, files } = await run('never', async (c) => {
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'agent', label: 'qa' })).status).toBe(201);
    });
    const agentRec = recs.find((r) => r.kind === 'agent');
    const flowRec = recs.find((r) => r.kind === 'flow');
    expect(agentRec).toMatchObject({ status: 'suppressed', outcome: { reason: 'not_sampled' } });
    expect(flowRec).toMatchObject({ status: 'delivered', outcome: { reason: 'recorded' } });
    expect(files).toEqual([flowRec?.fileName]);
  });

  it('pause: bodies sent while paused are relayed, acknowledged, never stored; the file shows who paused and resumed', async () => {
    const { chat, files } = await run('agent-g', async (c) => {
      const state = next<{ state: string }>(c.customer, 'recording.state');
      expect(await emit(c.agent, 'recording.pause', { chatId: c.chatId })).toMatchObject({ ok: true, recordingState: 'paused' });
      expect((await state).state).toBe('paused');
      const relayed = next<{ text: string }>(c.agent, 'message');
      const ack = await emit(c.customer, 'message', { clientMsgId: 'p1', text: 'my secret answer' });
      expect(ack.ok).toBe(true);
      expect((await relayed).text).toBe('my secret answer');
      expect((await emit(c.agent, 'recording.resume', { chatId: c.chatId })).recordingState).toBe('recording');
      expect((await emit(c.customer, 'message', { clientMsgId: 'p2', text: 'back on the record' })).ok).toBe(true);
    });
    expect(files).toHaveLength(1);
    const text = stack.sshd.readFile(files[0]);
    expect(text).not.toContain('my secret answer');
    expect(text).toMatch(/recording paused by agent .*\n.*recording resumed by agent/);
    expect(text).toContain('back on the record');
    expect(await bodiesOf(chat.chatId)).toEqual(['hello', 'hi, how can I help?', null, 'back on the record']);
  });

  it('flow recordings run in parallel, each from its profile, each its own file', async () => {
    const json = await http(stack.app, 'POST', '/v1/admin/profiles', admin, {
      name: 'qa-json',
      filenameTemplate: 'qa/{{upper service}}-{{chatId}}-{{label}}',
      format: 'json',
      sidecar: true,
    });
    expect(json.status).toBe(201);
    const html = await http(stack.app, 'POST', '/v1/admin/profiles', admin, {
      name: 'legal-html',
      filenameTemplate: 'legal/{{date startedAt "YYYY/MM"}}/{{chatId}}',
      format: 'html',
    });
    expect(html.status).toBe(201);
    let ids: string[] = [];
    const { chat, recs, files } = await run('agent-h', async (c) => {
      const a = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'qa-json', label: 'first' });
      const b = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'legal-html' });
      const d = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'qa-json', label: 'second' });
      ids = [a.body.recordingId, b.body.recordingId, d.body.recordingId];
      expect((await emit(c.customer, 'message', { clientMsgId: 'mid', text: 'in all of them' })).ok).toBe(true);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings/${a.body.recordingId}/stop`, flow)).status).toBe(200);
      expect((await emit(c.customer, 'message', { clientMsgId: 'late', text: 'not in the first' })).ok).toBe(true);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings/nope/stop`, flow)).status).toBe(404);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'missing' })).status).toBe(404);
    });
    expect(recs).toHaveLength(4);
    expect(recs.every((r) => r.status === 'delivered')).toBe(true);
    const month = new Date().toISOString().slice(0, 7).replace('-', '/');
    expect(files.sort()).toEqual(
      [
        `legal/${month}/${chat.chatId}.html`,
        `qa/SALES-${chat.chatId}-first.json`,
        `qa/SALES-${chat.chatId}-first.meta.json`,
        `qa/SALES-${chat.chatId}-second.json`,
        `qa/SALES-${chat.chatId}-second.meta.json`,
        recs.find((r) => r.kind === 'agent')?.fileName,
      ].sort(),
    );
    const first = JSON.parse(stack.sshd.readFile(`qa/SALES-${chat.chatId}-first.json`)) as { entries: { text?: string }[] };
    const texts = first.entries.map((e) => e.text).filter(Boolean);
    expect(texts).toContain('in all of them');
    expect(texts).not.toContain('not in the first');
    const second = stack.sshd.readFile(`qa/SALES-${chat.chatId}-second.json`);
    expect(second).toContain('not in the first');
    const meta = JSON.parse(stack.sshd.readFile(`qa/SALES-${chat.chatId}-first.meta.json`)) as { file: { name: string; sha256: string } };
    expect(meta.file.name).toBe(`qa/SALES-${chat.chatId}-first.json`);
    expect(stack.sshd.readFile(`legal/${month}/${chat.chatId}.html`)).toContain('<!DOCTYPE html>');
    expect(ids).toHaveLength(3);
  });

  it('two recordings whose templates render the same name never overwrite each other', async () => {
    const same = await http(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'same', filenameTemplate: 'same/{{chatId}}', format: 'text' });
    expect(same.status).toBe(201);
    const { chat, recs, files } = await run('agent-i', async (c) => {
      await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'same', label: 'one' });
      await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/recordings`, flow, { profile: 'same', label: 'two' });
    });
    const flowRecs = recs.filter((r) => r.kind === 'flow');
    expect(flowRecs.map((r) => r.fileName).sort()).toEqual(files.filter((f) => f.startsWith('same/')).sort());
    expect(new Set(flowRecs.map((r) => r.fileName)).size).toBe(2);
    expect(files.filter((f) => f.startsWith('same/'))).toContain(`same/${chat.chatId}.txt`);
  });
});
