import { vconProblems, vconSchemaErrors } from '../../test/support/vcon-schema';
import { recordingFileName, renderRecording, RenderedFile } from './recording-renderer';
import { RecordingSnapshot } from './recording-snapshot';
import { MarkerEntry, renderTranscript, renderTranscriptStream, TranscriptEntry, TranscriptHeader } from './transcript-renderer';
import { VCON_SYNTAX_VERSION } from './vcon-transcript';
import { vconUuid } from './vcon-uuid';

const T0 = Date.parse('2026-11-30T09:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

const consent: MarkerEntry[] = [
  { type: 'marker', at: at(1), kind: 'consent', actorRole: 'flow', actorName: 'Bot', actorId: 'flow-1', detail: 'requested: May we record this chat?' },
  { type: 'marker', at: at(2), kind: 'consent', actorRole: 'customer', actorName: 'Alice', actorId: 'cust-1', detail: 'granted' },
];

function header(over: Partial<TranscriptHeader> = {}): TranscriptHeader {
  return {
    chatId: 'chat-1',
    externalId: 'EXT-1',
    companyId: 'acme',
    service: 'sales',
    timeZone: 'Europe/London',
    recording: { id: 'rec-1', name: 'compliance', label: 'q4', kind: 'flow', startedAt: at(3), endedAt: at(100) },
    agents: [{ id: 'agent-1', login: 'ann', name: 'Ann', role: 'agent' }],
    customer: { id: 'cust-1', name: 'Alice' },
    chatStartedAt: at(0),
    chatEndedAt: at(101),
    outcome: { reason: 'recorded', detail: 'Produced: nothing suppressed it.' },
    consent,
    ...over,
  };
}

// A chat with consent given before the recording started, a join, a pause (the message sent while
// paused is not captured, so it is not among the entries), a supervisor who was never assigned, a
// transfer, an abuse flag, a deletion request and a flow message.
const entries: TranscriptEntry[] = [
  { type: 'marker', at: at(4), kind: 'join', actorRole: 'agent', actorName: 'Ann', actorId: 'agent-1', detail: null },
  { type: 'message', seq: 3, at: at(5), role: 'customer', name: 'Alice', text: 'Hello, my card is 411111******1111', senderId: 'cust-1' },
  { type: 'message', seq: 4, at: at(6), role: 'agent', name: 'Ann', text: 'Hi Alice "quoted"\nsecond line', senderId: 'agent-1' },
  { type: 'marker', at: at(7), kind: 'pause', actorRole: 'agent', actorName: 'Ann', actorId: 'agent-1', detail: null },
  { type: 'marker', at: at(9), kind: 'resume', actorRole: 'agent', actorName: 'Ann', actorId: 'agent-1', detail: null },
  { type: 'message', seq: 6, at: at(10), role: 'supervisor', name: 'Sue', text: 'Supervisor here', senderId: 'sup-1' },
  { type: 'marker', at: at(11), kind: 'transfer', actorRole: 'agent', actorName: 'Ann', actorId: 'agent-1', detail: 'agent-2' },
  { type: 'marker', at: at(12), kind: 'abuse_flag', actorRole: 'agent', actorName: 'Ann', actorId: 'agent-1', detail: 'spam' },
  { type: 'marker', at: at(13), kind: 'deletion_request', actorRole: 'customer', actorName: 'Alice', actorId: 'cust-1', detail: null },
  { type: 'message', seq: 7, at: at(14), role: 'flow', name: 'Bot', text: 'Goodbye', senderId: 'flow-1' },
];

interface Vcon {
  vcon: string;
  uuid: string;
  created_at: string;
  subject: string;
  parties: { name: string; type: string; uuid?: string; org?: string }[];
  dialog: { type: string; start: string; parties: number[]; originator: number; mediatype: string; encoding: string; body: string; message_id: string }[];
  attachments: { purpose: string; start: string; party: number; dialog: number; mediatype: string; encoding: string; body: Record<string, unknown> }[];
}

function render(h: TranscriptHeader = header(), e: TranscriptEntry[] = entries): Vcon {
  const text = renderTranscript('vcon', { ...h, entries: e }).toString('utf8');
  const doc = JSON.parse(text) as Vcon;
  expect(vconProblems(doc)).toEqual([]);
  return doc;
}

describe('the vcon format', () => {
  const doc = render();

  it('is a vCon of draft-ietf-vcon-vcon-core-04 that the schema accepts', () => {
    expect(doc.vcon).toBe('0.4.0');
    expect(VCON_SYNTAX_VERSION).toBe('0.4.0');
    expect(doc.created_at).toBe(at(100).toISOString());
    expect(doc.subject).toBe('sales');
  });

  it('names the customer, each agent or supervisor, the flow and the company as parties', () => {
    const byName = Object.fromEntries(doc.parties.map((p, i) => [p.name, { ...p, index: i }]));
    expect(doc.parties[0]).toEqual({ name: 'Alice', type: 'person', uuid: 'cust-1' });
    expect(byName.Ann).toMatchObject({ type: 'person', uuid: 'agent-1', org: 'acme' });
    expect(byName.Sue).toMatchObject({ type: 'person', uuid: 'sup-1' });
    expect(byName.Bot).toMatchObject({ type: 'bot' });
    expect(byName.acme).toMatchObject({ type: 'organization' });
    const roles = doc.attachments.find((a) => a.purpose === 'recording')?.body.parties as { party: number; role: string; id: string | null }[];
    expect(roles.map((r) => [doc.parties[r.party].name, r.role, r.id])).toEqual([
      ['Alice', 'customer', 'cust-1'],
      ['Ann', 'agent', 'agent-1'],
      ['Bot', 'flow', null],
      ['acme', 'company', null],
      ['Sue', 'supervisor', 'sup-1'],
    ]);
  });

  it('holds one text dialog per captured message, in order, each with its originator', () => {
    expect(doc.dialog.map((d) => d.body)).toEqual(['Hello, my card is 411111******1111', 'Hi Alice "quoted"\nsecond line', 'Supervisor here', 'Goodbye']);
    expect(doc.dialog.map((d) => doc.parties[d.originator].name)).toEqual(['Alice', 'Ann', 'Sue', 'Bot']);
    for (const d of doc.dialog) {
      expect(d).toMatchObject({ type: 'text', mediatype: 'text/plain', encoding: 'none' });
      expect(d.parties).toEqual([d.originator]);
    }
    expect(doc.dialog.map((d) => d.start)).toEqual([at(5), at(6), at(10), at(14)].map((d) => d.toISOString()));
    expect(doc.dialog.map((d) => d.message_id)).toEqual(['chat-1/3', 'chat-1/4', 'chat-1/6', 'chat-1/7']);
  });

  it('keeps the consent evidence: the prompt, the answer, who asked and answered, and when', () => {
    const evidence = doc.attachments.filter((a) => a.purpose === 'consent');
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({ start: at(2).toISOString(), party: 0, dialog: 0, encoding: 'json', mediatype: 'application/json' });
    expect(evidence[0].body).toEqual({
      prompt: 'May we record this chat?',
      answer: 'granted',
      requestedAt: at(1).toISOString(),
      requestedBy: { role: 'flow', id: 'flow-1', name: 'Bot' },
      answeredAt: at(2).toISOString(),
      answeredBy: { role: 'customer', id: 'cust-1', name: 'Alice' },
    });
  });

  it('keeps every marker as an attachment after the message it follows, with who and when', () => {
    const markers = doc.attachments.filter((a) => a.purpose === 'marker');
    expect(markers.map((m) => m.body.kind)).toEqual(['join', 'pause', 'resume', 'transfer', 'abuse_flag', 'deletion_request']);
    expect(markers.map((m) => m.dialog)).toEqual([0, 1, 1, 2, 2, 2]);
    expect(markers.map((m) => doc.parties[m.party].name)).toEqual(['Ann', 'Ann', 'Ann', 'Ann', 'Ann', 'Alice']);
    expect(markers[3].body).toMatchObject({
      detail: 'agent-2',
      text: 'transferred by agent Ann to agent-2',
      actor: { role: 'agent', id: 'agent-1', name: 'Ann' },
    });
    expect(markers[4].start).toBe(at(12).toISOString());
  });

  it("states the recording's outcome and reason", () => {
    const outcome = doc.attachments.find((a) => a.purpose === 'outcome');
    expect(outcome?.body).toEqual({ produced: true, reason: 'recorded', detail: 'Produced: nothing suppressed it.' });
    expect(doc.parties[outcome?.party ?? -1].type).toBe('organization');
    const recording = doc.attachments.find((a) => a.purpose === 'recording');
    expect(recording?.body).toMatchObject({
      recording: { id: 'rec-1', name: 'compliance', label: 'q4', kind: 'flow' },
      chat: { id: 'chat-1', service: 'sales' },
    });
  });

  it('has a version 8 uuid that is the same for a recording every time, and differs between recordings', () => {
    expect(doc.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(render().uuid).toBe(doc.uuid);
    expect(doc.uuid.replace(/-/g, '').slice(0, 12)).toBe(at(3).getTime().toString(16).padStart(12, '0'));
    const other = render(header({ recording: { ...header().recording, id: 'rec-2' } }));
    expect(other.uuid).not.toBe(doc.uuid);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(vconUuid('acme', `rec-${i}`, at(3)));
    expect(seen.size).toBe(2000);
  });

  it('pairs each consent answer with its request; a refusal, a discard and an unanswered request are evidence too', () => {
    const m = (s: number, role: 'flow' | 'customer', detail: string): MarkerEntry => ({
      type: 'marker',
      at: at(s),
      kind: 'consent',
      actorRole: role,
      actorName: role,
      actorId: null,
      detail,
    });
    const d = render(
      header({
        consent: [
          m(1, 'flow', 'requested: First?'),
          m(2, 'customer', 'refused'),
          m(3, 'flow', 'conversation discarded by the flow'),
          m(20, 'flow', 'requested: Again?'),
        ],
      }),
    );
    const bodies = d.attachments.filter((a) => a.purpose === 'consent').map((a) => [a.body.prompt, a.body.answer, a.dialog]);
    expect(bodies).toEqual([
      ['First?', 'refused', 0],
      [null, 'discarded', 0],
      ['Again?', null, 3],
    ]);
  });

  it('is still valid with no message, no agent, an anonymous customer and no consent', () => {
    const d = render(header({ agents: [], customer: { id: null, name: null }, consent: [], outcome: undefined }), [entries[0]]);
    // one incomplete dialog: the attachments' required `dialog` index has something to point at;
    // its parties are the customer and the agent who joined (met in the marker)
    expect(d.dialog).toEqual([
      { type: 'incomplete', start: at(3).toISOString(), duration: 97, parties: [0, 3], disposition: 'no-answer', application: 'webchat' },
    ]);
    expect(d.parties[3]).toMatchObject({ name: 'Ann', uuid: 'agent-1' });
    expect(d.parties[0]).toEqual({ name: 'anonymous', type: 'person' });
    expect(d.attachments.map((a) => a.purpose)).toEqual(['recording', 'outcome', 'marker']);
    expect(d.attachments.every((a) => a.dialog === 0)).toBe(true);
  });

  it('renders a recording that captured nothing at all (no message, no marker) as a vCon the schema accepts', () => {
    const text = renderTranscript('vcon', { ...header(), entries: [] }).toString('utf8');
    const d = JSON.parse(text) as Vcon & { dialog: Record<string, unknown>[] };
    expect(vconSchemaErrors(d)).toEqual([]);
    expect(vconProblems(d)).toEqual([]);
    expect(d.dialog).toHaveLength(1);
    expect(d.dialog[0]).toMatchObject({ type: 'incomplete', disposition: 'no-answer', parties: [0, 1] });
    // the consent evidence (given before the recording) and the outcome point at that dialog
    expect(d.attachments.map((a) => [a.purpose, a.dialog])).toEqual([
      ['recording', 0],
      ['outcome', 0],
      ['consent', 0],
    ]);
    // the schema's own rule: an incomplete dialog carries no content and names its disposition
    const broken = (patch: (x: Record<string, unknown>) => void) => {
      const copy = JSON.parse(text) as { dialog: Record<string, unknown>[] };
      patch(copy.dialog[0]);
      return vconSchemaErrors(copy);
    };
    expect(broken((x) => delete x.disposition)).not.toEqual([]);
    expect(broken((x) => (x.body = 'x'))).not.toEqual([]);
    // and with no dialog at all the attachments would point at nothing
    expect(vconProblems({ ...d, dialog: [] })).toEqual(expect.arrayContaining(['attachments/0: dialog 0 does not exist']));
  });

  it('the schema refuses what the draft forbids', () => {
    const bad = (patch: (v: Record<string, unknown>) => void) => {
      const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
      patch(copy);
      return vconSchemaErrors(copy);
    };
    expect(bad((v) => delete v.uuid)).not.toEqual([]);
    expect(bad((v) => delete v.created_at)).not.toEqual([]);
    expect(bad((v) => (v.vcon = '0.3.0'))).not.toEqual([]);
    expect(bad((v) => ((v.dialog as Record<string, unknown>[])[0].encoding = 'utf8'))).not.toEqual([]);
    expect(bad((v) => delete (v.dialog as Record<string, unknown>[])[0].mediatype)).not.toEqual([]);
    expect(bad((v) => ((v.dialog as Record<string, unknown>[])[0].transferee = 1))).not.toEqual([]);
    expect(bad((v) => ((v.dialog as Record<string, unknown>[])[0].start = 'yesterday'))).not.toEqual([]);
    expect(bad((v) => delete (v.attachments as Record<string, unknown>[])[0].party)).not.toEqual([]);
    expect(bad((v) => ((v.parties as Record<string, unknown>[])[0].name = 7))).not.toEqual([]);
    expect(bad(() => undefined)).toEqual([]);
  });

  it('the schema covers the rest of the core object: recording, transfer and incomplete dialogs, analysis, references', () => {
    const start = at(0).toISOString();
    const hash = 'sha512-GLy9IvZ5TbrNoOQWiG1dbxoCsfIHnfUNUv0bNYvc_ToH4bFyVbzDLnX6rxlEo1VUcpu7Nss8TBfyRkjFfrqXQw';
    const base = {
      vcon: '0.4.0',
      uuid: '0190a1b2-c3d4-8e5f-9a0b-1c2d3e4f5a6b',
      created_at: start,
      parties: [
        { tel: '+12345678901', name: 'Alice' },
        { mailto: 'bob@example.com', name: 'Bob', validation: 'none', civicaddress: { country: 'US', a1: 'NJ' } },
        {},
      ],
      dialog: [
        { type: 'recording', start, duration: 12.5, parties: [0, 1], mediatype: 'audio/x-wav', url: 'https://example.com/a.wav', content_hash: hash },
        {
          type: 'recording',
          start,
          parties: [[0, 1], null],
          mediatype: 'audio/ogg',
          encoding: 'base64url',
          body: 'T2dnUw',
          party_history: [{ party: 0, time: start, event: 'keydown', button: '5' }],
        },
        { type: 'incomplete', start, disposition: 'no-answer' },
        { type: 'transfer', start, transferee: 0, transferor: 1, transfer_target: 2, original: 0, target_dialog: [1] },
        { type: 'recording-set', start, recordings: [0, 1], parties: [0, 1, 2] },
      ],
      analysis: [
        {
          type: 'summary',
          dialog: [0, 1],
          vendor: 'acme',
          product: 'summarizer',
          schema: 'v1',
          mediatype: 'application/json',
          encoding: 'json',
          body: { text: 'ok' },
        },
      ],
      attachments: [{ purpose: 'invoice', start, party: 1, dialog: 0, mediatype: 'application/pdf', url: 'https://example.com/x.pdf', content_hash: [hash] }],
      amended: { uuid: '0190a1b2-c3d4-8e5f-9a0b-1c2d3e4f5a6c' },
    };
    expect(vconSchemaErrors(base)).toEqual([]);
    const without = (patch: (v: typeof base & Record<string, unknown>) => void) => {
      const copy = JSON.parse(JSON.stringify(base)) as typeof base & Record<string, unknown>;
      patch(copy);
      return vconSchemaErrors(copy);
    };
    const dialog = (v: typeof base, i: number) => v.dialog[i] as Record<string, unknown>;
    expect(without((v) => delete dialog(v, 2).disposition)).not.toEqual([]);
    expect(without((v) => (dialog(v, 3).body = 'x'))).not.toEqual([]);
    expect(without((v) => (dialog(v, 3).parties = [0]))).not.toEqual([]);
    expect(without((v) => delete dialog(v, 4).recordings)).not.toEqual([]);
    expect(without((v) => delete dialog(v, 0).content_hash)).not.toEqual([]);
    expect(without((v) => (dialog(v, 0).url = 'http://example.com/a.wav'))).not.toEqual([]);
    expect(without((v) => (dialog(v, 1).body = { not: 'a string' }))).not.toEqual([]);
    expect(without((v) => delete (v.dialog[1].party_history as Record<string, unknown>[])[0].button)).not.toEqual([]);
    expect(without((v) => delete (v.analysis[0] as Record<string, unknown>).vendor)).not.toEqual([]);
    expect(without((v) => (v.redacted = { type: 'PII' }))).not.toEqual([]);
  });
});

describe('the vcon format, streamed', () => {
  it('gives the same bytes as the whole rendering, in chunks', async () => {
    const chunks: Buffer[] = [];
    for await (const c of renderTranscriptStream('vcon', header(), entries, 200)) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(renderTranscript('vcon', { ...header(), entries }))).toBe(true);
  });

  it('writes the messages as they are read: a chunk comes out long before the last message is read', async () => {
    const total = 20_000;
    let read = 0;
    async function* many(): AsyncGenerator<TranscriptEntry> {
      for (let seq = 1; seq <= total; seq++) {
        read++;
        yield {
          type: 'message',
          seq,
          at: at(seq),
          role: seq % 2 ? 'customer' : 'agent',
          name: 'x',
          text: `message ${seq} `.repeat(5),
          senderId: seq % 2 ? 'cust-1' : 'agent-1',
        };
      }
    }
    const stream = renderTranscriptStream('vcon', header(), many());
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(read).toBeLessThan(total / 4);
    const chunks: Buffer[] = [first.value as Buffer];
    for await (const c of stream) chunks.push(c);
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Vcon;
    expect(doc.dialog).toHaveLength(total);
    expect(doc.dialog[total - 1].body).toBe(`message ${total} `.repeat(5));
    expect(vconProblems(doc)).toEqual([]);
  });
});

describe('the vcon format through the recording renderer', () => {
  const snapshot = (over: Partial<RecordingSnapshot['profile']> = {}): RecordingSnapshot => ({
    recording: {
      id: 'rec-1',
      kind: 'agent',
      profileName: 'agent',
      label: null,
      agentId: 'agent-1',
      startedAt: at(3),
      endedAt: at(100),
      outcomeReason: 'abusive_override',
      outcomeDetail: 'Produced: abusive.',
    },
    chat: {
      id: 'chat-1',
      externalId: null,
      companyId: 'acme',
      service: 'sales',
      customerId: 'cust-1',
      customerName: 'Alice',
      startedAt: at(0),
      endedAt: at(101),
    },
    timeZone: 'UTC',
    agents: [{ id: 'agent-1', login: 'ann', name: 'Ann', role: 'agent' }],
    profile: { filenameTemplate: '{{service}}_{{agentLogin}}_{{chatId}}', format: 'vcon', sidecar: true, manifest: false, ...over },
    segments: [{ startSeq: 1, endSeq: null, startedAt: at(3), stoppedAt: null }],
    consent,
    chainHead: null,
    entries: async function* () {
      yield* entries;
    },
  });

  async function bodyOf(f: RenderedFile): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of f.content()) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  }

  it('delivers <name>.vcon.json with the sidecar <name>.meta.json; the outcome comes from the recording', async () => {
    const s = snapshot();
    const name = recordingFileName(s);
    expect(name).toBe('sales_ann_chat-1.vcon.json');
    const files = await renderRecording(s, name);
    expect(files.map((f) => f.name)).toEqual(['sales_ann_chat-1.meta.json', 'sales_ann_chat-1.vcon.json']);
    const doc = JSON.parse(await bodyOf(files[1])) as Vcon;
    expect(vconProblems(doc)).toEqual([]);
    expect(doc.attachments.find((a) => a.purpose === 'outcome')?.body).toMatchObject({ reason: 'abusive_override' });
    expect(JSON.parse(await bodyOf(files[0]))).toMatchObject({ file: { name: 'sales_ann_chat-1.vcon.json', format: 'vcon', bytes: files[1].bytes } });
  });

  it('cuts long values so that the name with .vcon.json (and the sidecar) stays within 255 bytes', () => {
    const long = 'é'.repeat(300);
    const s = snapshot({ filenameTemplate: '{{customerName}}' });
    const name = recordingFileName({ ...s, chat: { ...s.chat, customerName: long } });
    expect(name.endsWith('.vcon.json')).toBe(true);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(Buffer.byteLength(name.replace(/\.vcon\.json$/, '.meta.json'))).toBeLessThanOrEqual(255);
  });
});
