import { createHash } from 'node:crypto';
import { BodySpool, KEPT_BODY_BYTES, recordingFileName, renderRecording, RenderedFile, SpooledBody, suffixedRecordingFileName } from './recording-renderer';
import { RecordingSnapshot } from './recording-snapshot';
import { renderTranscript, TranscriptEntry } from './transcript-renderer';

const T0 = Date.parse('2026-03-01T23:30:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function snapshot(entries: TranscriptEntry[], over: Partial<RecordingSnapshot> = {}): RecordingSnapshot & { reads: number } {
  const s = {
    reads: 0,
    recording: {
      id: 'rec-1',
      kind: 'agent' as const,
      profileName: 'agent',
      label: null,
      agentId: 'a-1',
      startedAt: at(2),
      endedAt: at(600),
      outcomeReason: 'recorded',
      outcomeDetail: 'Produced.',
    },
    chat: {
      id: 'chat-1',
      externalId: 'EXT-9',
      companyId: 'acme',
      service: 'sales',
      customerId: 'c-1',
      customerName: 'Ann',
      startedAt: at(0),
      endedAt: at(601),
    },
    timeZone: 'Europe/London',
    agents: [{ id: 'a-1', login: 'bob', name: 'Bob Smith' }],
    profile: {
      filenameTemplate: '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}',
      format: 'html' as const,
      sidecar: true,
      manifest: false,
    },
    chainHead: null,
    segments: [{ startSeq: 1, endSeq: null, startedAt: at(2), stoppedAt: null }],
    consent: [],
    entries: async function* () {
      s.reads++;
      yield* entries;
    },
    ...over,
  };
  return s;
}

async function bodyOf(f: RenderedFile): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of f.content()) parts.push(c);
  return Buffer.concat(parts);
}

const entries: TranscriptEntry[] = [
  { type: 'message', seq: 1, at: at(3), role: 'customer', name: 'Ann', text: 'Hello' },
  { type: 'marker', at: at(4), kind: 'pause', actorRole: 'agent', actorName: 'Bob Smith', detail: null },
  { type: 'message', seq: 2, at: at(5), role: 'agent', name: 'Bob Smith', text: 'Hi <there>' },
];

describe('the recording renderer (snapshot in, files out, no database)', () => {
  it('names the file from the profile, in the company time zone', () => {
    expect(recordingFileName(snapshot(entries))).toBe('20260301/sales_bob_chat-1.html');
    expect(suffixedRecordingFileName(snapshot(entries), '20260301/sales_bob_chat-1.html', 'rec-1')).toBe('20260301/sales_bob_chat-1_rec-1.html');
  });

  it('returns the sidecar first and the body last, each measured; the sidecar describes the body', async () => {
    const s = snapshot(entries);
    const files = await renderRecording(s, 'x/y.html');
    expect(files.map((f) => f.name)).toEqual(['x/y.meta.json', 'x/y.html']);
    const body = await bodyOf(files[1]);
    expect(body.toString('utf8')).toContain('Hi &lt;there&gt;');
    expect(files[1].bytes).toBe(body.length);
    expect(files[1].sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const sidecar = JSON.parse((await bodyOf(files[0])).toString('utf8')) as { file: { name: string; sha256: string; bytes: number }; counts: unknown };
    expect(sidecar.file).toEqual({ name: 'x/y.html', format: 'html', sha256: files[1].sha256, bytes: body.length });
    expect(sidecar.counts).toEqual({ messages: 2, markers: 1 });
    expect(files[0].bytes).toBe((await bodyOf(files[0])).length);
  });

  it('renders the same bytes as the whole-transcript renderer, without a sidecar when the profile has none', async () => {
    const s = snapshot(entries, { profile: { filenameTemplate: '{{chatId}}', format: 'text', sidecar: false, manifest: false } });
    const files = await renderRecording(s, 'chat-1.txt');
    expect(files.map((f) => f.name)).toEqual(['chat-1.txt']);
    const whole = renderTranscript('text', {
      chatId: 'chat-1',
      externalId: 'EXT-9',
      companyId: 'acme',
      service: 'sales',
      timeZone: 'Europe/London',
      recording: { id: 'rec-1', name: 'agent', label: null, kind: 'agent', startedAt: at(2), endedAt: at(600) },
      agents: [{ id: 'a-1', login: 'bob', name: 'Bob Smith' }],
      customer: { id: 'c-1', name: 'Ann' },
      chatStartedAt: at(0),
      chatEndedAt: at(601),
      entries,
    });
    expect((await bodyOf(files[0])).equals(whole)).toBe(true);
  });

  it('keeps a small body from the measuring pass and renders a large one again for each read', async () => {
    const small = snapshot(entries);
    const [, smallBody] = await renderRecording(small, 'a.html');
    await bodyOf(smallBody);
    await bodyOf(smallBody);
    expect(small.reads).toBe(1);
    // Replayed from memory: the upload need not hash it again. A body rendered again is not.
    expect(smallBody.replayed).toBe(true);

    const text = 'x'.repeat(10_000);
    const many: TranscriptEntry[] = Array.from({ length: Math.ceil(KEPT_BODY_BYTES / 10_000) + 5 }, (_, i) => ({
      type: 'message' as const,
      seq: i + 1,
      at: at(10 + i),
      role: 'customer' as const,
      name: 'Ann',
      text,
    }));
    const large = snapshot(many);
    const [, largeBody] = await renderRecording(large, 'b.html');
    const first = await bodyOf(largeBody);
    const second = await bodyOf(largeBody);
    expect(large.reads).toBe(3);
    expect(largeBody.replayed).toBe(false);
    expect(first.equals(second)).toBe(true);
    expect(first.length).toBe(largeBody.bytes);
    expect(createHash('sha256').update(first).digest('hex')).toBe(largeBody.sha256);
  });

  function largeEntries(): TranscriptEntry[] {
    const text = 'x'.repeat(10_000);
    return Array.from({ length: Math.ceil(KEPT_BODY_BYTES / 10_000) + 5 }, (_, i) => ({
      type: 'message' as const,
      seq: i + 1,
      at: at(10 + i),
      role: 'customer' as const,
      name: 'Ann',
      text,
    }));
  }

  // An in-memory stand-in for the delivery spool; `failAfter` writes, a write fails.
  function memorySpool(failAfter = Infinity) {
    const files: { chunks: Buffer[]; closed: boolean; removed: boolean }[] = [];
    const spool: BodySpool = {
      create: async (): Promise<SpooledBody> => {
        const f = { chunks: [] as Buffer[], closed: false, removed: false };
        files.push(f);
        return {
          write: async (chunk) => {
            if (f.chunks.length >= failAfter) throw new Error('ENOSPC');
            f.chunks.push(chunk);
          },
          close: async () => {
            f.closed = true;
          },
          read: async function* () {
            if (f.removed) throw new Error('read after removal');
            yield* f.chunks;
          },
          remove: async () => {
            f.removed = true;
          },
        };
      },
    };
    return { spool, files };
  }

  it('with a spool, renders a large body once: written while measured, read back for each read, removed by discard', async () => {
    const large = snapshot(largeEntries());
    const { spool, files } = memorySpool();
    const [, body] = await renderRecording(large, 'b.html', spool);
    const first = await bodyOf(body);
    const second = await bodyOf(body);
    expect(large.reads).toBe(1);
    expect(body.replayed).toBe(true);
    expect(first.equals(second)).toBe(true);
    expect(first.length).toBe(body.bytes);
    expect(createHash('sha256').update(first).digest('hex')).toBe(body.sha256);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ closed: true, removed: false });
    await body.discard?.();
    expect(files[0].removed).toBe(true);

    // A small body never touches the spool.
    const none = memorySpool();
    await renderRecording(snapshot(entries), 'a.html', none.spool);
    expect(none.files).toHaveLength(0);
  });

  it('a spool that fails costs speed only (the body is rendered again), and a failed render leaves no spool file', async () => {
    const large = snapshot(largeEntries());
    const { spool, files } = memorySpool(1);
    const [, body] = await renderRecording(large, 'b.html', spool);
    expect(files[0].removed).toBe(true);
    const bytes = await bodyOf(body);
    expect(large.reads).toBe(2);
    expect(body.replayed).toBe(false);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(body.sha256);

    const broken = memorySpool();
    const failing = snapshot(largeEntries(), {
      entries: async function* () {
        yield* largeEntries();
        throw new Error('the database went away');
      },
    });
    await expect(renderRecording(failing, 'c.html', broken.spool)).rejects.toThrow('the database went away');
    expect(broken.files.map((f) => f.removed)).toEqual([true]);
  });
});
