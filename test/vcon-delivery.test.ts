import type { Socket } from 'socket.io-client';
import { connect, emit, http, next, token, waitFor } from './support/app';
import { sftpTargetBody } from './support/chat-driver';
import { vconProblems } from './support/vcon-schema';
import { deliveryStack } from './support/stack';

interface Vcon {
  uuid: string;
  parties: { name: string; type: string; uuid?: string }[];
  dialog: { body: string; originator: number; parties: number[]; start: string }[];
  attachments: { purpose: string; party: number; dialog: number; start: string; body: Record<string, unknown> }[];
}

// Contract section 11 on MariaDB and a real sshd: a flow recording in the vcon format, of a chat
// with consent asked and given before the recording started, a pause (the message sent while
// paused is not captured), and an agent transfer.
describe('a recording delivered as a vCon onto a real SFTP server', () => {
  const stack = deliveryStack();
  const company = 'vconco';
  const flow = token({ sub: 'flow-1', company, role: 'flow', name: 'Router' });
  const admin = token({ sub: 'admin-1', company, role: 'admin' });
  const sockets: Socket[] = [];
  type Err = { statusCode: number; code: string; message: string };

  afterAll(async () => {
    sockets.forEach((s) => s.close());
  });

  it('profiles accept the vcon format: preview, create, read back, update; an unknown format is refused', async () => {
    const preview = await http<{ example: string }>(stack.app, 'POST', '/v1/admin/profiles/preview', admin, {
      filenameTemplate: 'vcon/{{service}}_{{chatId}}',
      format: 'vcon',
    });
    expect(preview.status).toBe(200);
    expect(preview.body.example).toMatch(/^vcon\/[^/]+_[^/]+\.vcon\.json$/);
    const bad = await http<Err>(stack.app, 'POST', '/v1/admin/profiles/preview', admin, { filenameTemplate: '{{chatId}}', format: 'vcon2' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('format must be one of the following values: text, json, html, vcon');

    const created = await http(stack.app, 'POST', '/v1/admin/profiles', admin, {
      name: 'vcon',
      filenameTemplate: 'vcon/{{chatId}}_{{label}}',
      format: 'vcon',
      sidecar: true,
    });
    expect(created.status).toBe(201);
    expect((await http(stack.app, 'GET', '/v1/admin/profiles/vcon', admin)).body).toMatchObject({ name: 'vcon', format: 'vcon', sidecar: true });
    const updated = await http(stack.app, 'PUT', '/v1/admin/profiles/vcon', admin, {
      filenameTemplate: 'vcon/{{chatId}}_{{label}}',
      format: 'vcon',
      sidecar: true,
    });
    expect(updated.status).toBe(200);
  });

  it('delivers <name>.vcon.json (and its sidecar) that the schema accepts, with the parties, the dialog in order and the consent evidence', async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    await http(stack.app, 'PUT', '/v1/admin/agents/agent-1', admin, { name: 'Ann Admin-Name', login: 'ann' });

    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, {
      service: 'billing',
      customer: { id: 'cust-9', name: 'Alice' },
    });
    expect(created.status).toBe(201);
    const { chatId, customerToken } = created.body;
    const customer = await connect(stack.app, '/customer', customerToken);
    const agent1 = await connect(stack.app, '/agent', token({ sub: 'agent-1', company, role: 'agent', name: 'Ann' }));
    const agent2 = await connect(stack.app, '/agent', token({ sub: 'agent-2', company, role: 'agent', name: 'Bob' }));
    sockets.push(customer, agent1, agent2);

    // Consent is asked and given before the recording starts: the vCon still holds the evidence.
    const asked = next<{ prompt: string }>(customer, 'consent.request');
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/consent/request`, flow, { prompt: 'May we record this chat for quality?' })).status).toBe(
      200,
    );
    expect(await asked).toEqual({ prompt: 'May we record this chat for quality?' });
    expect((await emit(customer, 'consent.answer', { granted: true })).ok).toBe(true);

    const started = await http<{ recordingId: string }>(stack.app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: 'vcon', label: 'quality' });
    expect(started.status).toBe(201);
    const { recordingId } = started.body;

    const say = async (s: Socket, text: string, i: number, asAgent: boolean) => {
      const ack = await emit(s, 'message', asAgent ? { chatId, clientMsgId: `m${i}`, text } : { clientMsgId: `m${i}`, text });
      expect(ack.ok).toBe(true);
    };
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: 'Welcome to billing.' })).status).toBe(201);
    await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'agent-1' });
    expect((await emit(agent1, 'chat.join', { chatId })).ok).toBe(true);
    await say(customer, 'Hello, I was charged twice.', 1, false);
    await say(agent1, 'Let me look. Please pause while you read out your account.', 2, true);
    expect((await emit(agent1, 'recording.pause', { chatId })).ok).toBe(true);
    await say(customer, 'My account password is hunter2', 3, false);
    expect((await emit(agent1, 'recording.resume', { chatId })).ok).toBe(true);
    await say(customer, 'Done.', 4, false);
    const assigned = next(agent2, 'chat.assigned');
    expect((await emit(agent1, 'chat.transfer', { chatId, toAgentId: 'agent-2' })).ok).toBe(true);
    await assigned;
    expect((await emit(agent2, 'chat.join', { chatId })).ok).toBe(true);
    await say(agent2, 'Bob here, I will refund the second charge.', 5, true);
    await say(customer, 'Thank you!', 6, false);
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, flow)).status).toBe(200);

    const name = `vcon/${chatId}_quality.vcon.json`;
    const sidecar = `vcon/${chatId}_quality.meta.json`;
    await waitFor('the vCon on the SFTP server', () => stack.sshd.listFiles().includes(name) && stack.sshd.listFiles().includes(sidecar), 30_000);
    const doc = JSON.parse(stack.sshd.readFile(name)) as Vcon;
    expect(vconProblems(doc)).toEqual([]);
    expect(JSON.parse(stack.sshd.readFile(sidecar))).toMatchObject({ file: { name, format: 'vcon' }, recording: { id: recordingId } });

    const texts = [
      'Welcome to billing.',
      'Hello, I was charged twice.',
      'Let me look. Please pause while you read out your account.',
      'Done.',
      'Bob here, I will refund the second charge.',
      'Thank you!',
    ];
    expect(doc.dialog.map((d) => d.body)).toEqual(texts);
    expect(JSON.stringify(doc)).not.toContain('hunter2');
    const who = (i: number) => doc.parties[i];
    expect(doc.dialog.map((d) => who(d.originator).name)).toEqual(['Router', 'Alice', 'Ann Admin-Name', 'Alice', 'Bob', 'Alice']);
    expect(doc.dialog.map((d) => who(d.originator).type)).toEqual(['bot', 'person', 'person', 'person', 'person', 'person']);
    expect(who(doc.dialog[2].originator).uuid).toBe('agent-1');
    expect(who(doc.dialog[4].originator).uuid).toBe('agent-2');
    expect(who(doc.dialog[1].originator).uuid).toBe('cust-9');

    const consent = doc.attachments.filter((a) => a.purpose === 'consent');
    expect(consent).toHaveLength(1);
    expect(consent[0].body).toMatchObject({
      prompt: 'May we record this chat for quality?',
      answer: 'granted',
      requestedBy: { role: 'flow', id: 'flow-1' },
      answeredBy: { role: 'customer', name: 'Alice' },
    });
    expect(Date.parse(consent[0].body.answeredAt as string)).toBeLessThanOrEqual(Date.parse(doc.dialog[0].start));
    expect(who(consent[0].party).name).toBe('Alice');

    const kinds = doc.attachments.filter((a) => a.purpose === 'marker').map((a) => a.body.kind);
    for (const kind of ['join', 'pause', 'resume', 'transfer']) expect(kinds).toContain(kind);
    expect(kinds.indexOf('pause')).toBeLessThan(kinds.indexOf('resume'));
    expect(kinds.indexOf('resume')).toBeLessThan(kinds.indexOf('transfer'));
    const pause = doc.attachments.find((a) => a.body.kind === 'pause');
    expect(pause?.dialog).toBe(2); // after the agent's message asking for the pause
    expect(who(pause?.party ?? -1).uuid).toBe('agent-1');

    const outcome = doc.attachments.find((a) => a.purpose === 'outcome');
    const rec = await http<{ outcome: { reason: string } }>(stack.app, 'GET', `/v1/admin/recordings/${recordingId}`, admin);
    expect(outcome?.body).toMatchObject({ produced: true, reason: rec.body.outcome.reason });

    await waitFor('the recording to be delivered', async () => {
      const r = await http<{ status: string; fileName: string }>(stack.app, 'GET', `/v1/admin/recordings/${recordingId}`, admin);
      return r.body.status === 'delivered' && r.body.fileName === name;
    });
  });
});
