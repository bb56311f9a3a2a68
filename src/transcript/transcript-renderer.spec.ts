import fc from 'fast-check';
import {
  escapeHtml,
  MarkerKind,
  renderMetadataSidecar,
  renderMetadataSidecarOf,
  renderTranscript,
  renderTranscriptStream,
  SenderRole,
  TranscriptEntry,
  TranscriptInput,
} from './transcript-renderer';

const T0 = Date.parse('2026-03-01T23:30:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function msg(seq: number, seconds: number, role: SenderRole, name: string, text: string): TranscriptEntry {
  return { type: 'message', seq, at: at(seconds), role, name, text };
}

function marker(seconds: number, kind: MarkerKind, actorRole: SenderRole, actorName: string, detail: string | null = null): TranscriptEntry {
  return { type: 'marker', at: at(seconds), kind, actorRole, actorName, detail };
}

function input(over: Partial<TranscriptInput> = {}): TranscriptInput {
  return {
    chatId: 'chat-1',
    externalId: 'EXT-9',
    companyId: 'acme',
    service: 'sales',
    timeZone: 'Europe/London',
    recording: {
      id: 'rec-1',
      name: 'agent',
      label: 'quality',
      kind: 'agent',
      startedAt: at(2),
      endedAt: at(600),
    },
    agents: [
      { id: 'a-1', login: 'bob', name: 'Bob Smith' },
      { id: 'a-2', login: 'carol', name: 'Carol' },
    ],
    customer: { id: 'c-1', name: 'Alice' },
    chatStartedAt: at(0),
    chatEndedAt: at(600),
    entries: [
      marker(1, 'recording_start', 'flow', 'Bot', 'agent (quality)'),
      marker(2, 'join', 'agent', 'Bob Smith'),
      msg(1, 5, 'customer', 'Alice', 'hello'),
      msg(2, 6, 'agent', 'Bob Smith', 'Hi Alice,\nhow can I help?\r\nRegards'),
      marker(7, 'consent', 'customer', 'Alice', 'granted'),
      marker(8, 'pause', 'agent', 'Bob Smith'),
      marker(9, 'resume', 'agent', 'Bob Smith'),
      msg(3, 10, 'flow', 'Bot', 'a bot line'),
      marker(11, 'abuse_flag', 'agent', 'Bob Smith', 'insults'),
      marker(12, 'transfer', 'agent', 'Bob Smith', 'a-2'),
      marker(12, 'leave', 'agent', 'Bob Smith'),
      marker(13, 'assign', 'flow', 'Bot', 'a-2'),
      marker(14, 'join', 'agent', 'Carol'),
      msg(4, 15, 'agent', 'Carol', 'Carol here'),
      marker(16, 'deletion_request', 'customer', 'Alice'),
      marker(17, 'deletion_confirmed', 'agent', 'Carol'),
      marker(18, 'recording_stop', 'flow', 'Bot'),
      marker(600, 'chat_end', 'system', '', 'idle timeout'),
    ],
    ...over,
  };
}

describe('renderTranscript: text', () => {
  const text = renderTranscript('text', input()).toString('utf8');
  const lines = text.split('\n');

  it('has a readable header', () => {
    expect(lines).toEqual(
      expect.arrayContaining([
        'Chat: chat-1',
        'External id: EXT-9',
        'Service: sales',
        'Company: acme',
        'Recording: agent (label: quality)',
        'Agents: Bob Smith (bob), Carol (carol)',
        'Customer: Alice (id c-1)',
        'Time zone: Europe/London',
        'Started: 2026-03-01T23:30:00Z (Europe/London: 2026-03-01 23:30:00)',
        'Ended: 2026-03-01T23:40:00Z (Europe/London: 2026-03-01 23:40:00)',
      ]),
    );
  });

  it('names the company time zone and shows local time', () => {
    const tokyo = renderTranscript('text', input({ timeZone: 'Asia/Tokyo' })).toString('utf8');
    expect(tokyo).toContain('Started: 2026-03-01T23:30:00Z (Asia/Tokyo: 2026-03-02 08:30:00)');
    const summer = renderTranscript('text', input({ chatStartedAt: new Date('2026-07-01T10:00:00Z') })).toString();
    expect(summer).toContain('Started: 2026-07-01T10:00:00Z (Europe/London: 2026-07-01 11:00:00)');
  });

  it('has every message in order, with time, role and name, and indented continuation lines', () => {
    const body = lines.slice(lines.findIndex((l) => /^=+$/.test(l)) + 1);
    const expected = [
      '[2026-03-01T23:30:01Z] -- recording started by flow Bot: agent (quality) --',
      '[2026-03-01T23:30:02Z] -- agent Bob Smith joined --',
      '[2026-03-01T23:30:05Z] customer Alice: hello',
      '[2026-03-01T23:30:06Z] agent Bob Smith: Hi Alice,',
      '    how can I help?',
      '    Regards',
      '[2026-03-01T23:30:07Z] -- consent granted by customer Alice --',
      '[2026-03-01T23:30:08Z] -- recording paused by agent Bob Smith --',
      '[2026-03-01T23:30:09Z] -- recording resumed by agent Bob Smith --',
      '[2026-03-01T23:30:10Z] flow Bot: a bot line',
      '[2026-03-01T23:30:11Z] -- flagged abusive by agent Bob Smith: insults --',
      '[2026-03-01T23:30:12Z] -- transferred by agent Bob Smith to a-2 --',
      '[2026-03-01T23:30:12Z] -- agent Bob Smith left --',
      '[2026-03-01T23:30:13Z] -- assigned to a-2 by flow Bot --',
      '[2026-03-01T23:30:14Z] -- agent Carol joined --',
      '[2026-03-01T23:30:15Z] agent Carol: Carol here',
      '[2026-03-01T23:30:16Z] -- customer Alice asked for deletion --',
      '[2026-03-01T23:30:17Z] -- deletion confirmed by agent Carol --',
      '[2026-03-01T23:30:18Z] -- recording stopped by flow Bot --',
      '[2026-03-01T23:40:00Z] -- chat ended by system (idle timeout) --',
      '',
    ];
    expect(body).toEqual(expected);
  });

  it('uses \\n line ends only and ends with a newline', () => {
    expect(text).not.toContain('\r');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  it('renders consent refusals, requests and other details, markers without detail, and prefixed targets', () => {
    const t = renderTranscript(
      'text',
      input({
        entries: [
          marker(1, 'consent', 'flow', 'Bot', 'requested: May we record?'),
          marker(2, 'consent', 'customer', 'Alice', 'refused'),
          marker(3, 'consent', 'flow', 'Bot', 'something else'),
          marker(4, 'transfer', 'supervisor', 'Sue'),
          marker(5, 'abuse_flag', 'flow', 'Bot'),
          marker(6, 'transfer', 'flow', 'Bot', 'to agent-7'),
          marker(7, 'assign', 'flow', 'Bot', 'assigned to agent-8'),
          marker(8, 'consent', 'flow', 'Bot', 'conversation discarded by the flow'),
          marker(9, 'recording_stop', 'flow', 'Bot', 'agent'),
        ],
      }),
    ).toString();
    expect(t).toContain('-- consent requested by flow Bot (May we record?) --');
    expect(t).toContain('-- consent refused by customer Alice --');
    expect(t).toContain('-- consent: something else (flow Bot) --');
    expect(t).toContain('-- transferred by flow Bot to agent-7 --');
    expect(t).toContain('-- assigned to agent-8 by flow Bot --');
    expect(t).toContain('-- consent: conversation discarded by the flow (flow Bot) --');
    expect(t).toContain('-- recording stopped by flow Bot: agent --');
    expect(t).toContain('-- transferred by supervisor Sue --');
    expect(t).toContain('-- flagged abusive by flow Bot --');
  });

  it('keeps a line break in a name or marker detail from starting a fake entry', () => {
    const t = renderTranscript(
      'text',
      input({
        entries: [msg(1, 1, 'customer', 'Eve\n[2026-01-01T00:00:00Z] agent Bob', 'hi'), marker(2, 'abuse_flag', 'agent', 'Bob', 'bad\n[x] -- fake --')],
      }),
    ).toString();
    const body = t.split('\n').filter((l) => l.startsWith('['));
    expect(body).toEqual([
      '[2026-03-01T23:30:01Z] customer Eve [2026-01-01T00:00:00Z] agent Bob: hi',
      '[2026-03-01T23:30:02Z] -- flagged abusive by agent Bob: bad [x] -- fake -- --',
    ]);
  });

  it('handles a single agent, no agent, an anonymous customer and no label', () => {
    const one = renderTranscript(
      'text',
      input({
        agents: [{ id: 'a-9', login: null, name: null }],
        customer: { id: null, name: null },
        externalId: null,
        recording: { ...input().recording, label: null },
      }),
    ).toString();
    expect(one).toContain('Agent: id a-9\n');
    expect(one).toContain('Customer: (anonymous)\n');
    expect(one).toContain('External id: -\n');
    expect(one).toContain('Recording: agent\n');
    const none = renderTranscript('text', input({ agents: [] })).toString();
    expect(none).toContain('Agents: (none)\n');
  });

  it('is UTF-8', () => {
    const buf = renderTranscript('text', input({ entries: [msg(1, 1, 'customer', 'Zoë', 'naïve ☕ 日本')] }));
    expect(buf.toString('utf8')).toContain('customer Zoë: naïve ☕ 日本');
    expect(buf.includes(Buffer.from('☕', 'utf8'))).toBe(true);
  });
});

describe('renderTranscript: json', () => {
  const data = input();
  const parsed = JSON.parse(renderTranscript('json', data).toString('utf8'));

  it('has the chat, recording, agents, customer and time zone', () => {
    expect(parsed.chat).toEqual({
      id: 'chat-1',
      externalId: 'EXT-9',
      companyId: 'acme',
      service: 'sales',
      startedAt: '2026-03-01T23:30:00.000Z',
      endedAt: '2026-03-01T23:40:00.000Z',
    });
    expect(parsed.recording).toEqual({
      id: 'rec-1',
      name: 'agent',
      label: 'quality',
      kind: 'agent',
      startedAt: '2026-03-01T23:30:02.000Z',
      endedAt: '2026-03-01T23:40:00.000Z',
    });
    expect(parsed.agents).toEqual(data.agents);
    expect(parsed.customer).toEqual(data.customer);
    expect(parsed.timeZone).toBe('Europe/London');
    expect(Object.keys(parsed)).toEqual(['chat', 'recording', 'agents', 'customer', 'timeZone', 'entries']);
  });

  it('round-trips the entries', () => {
    const entries = parsed.entries.map((e: { at: string }) => ({ ...e, at: new Date(e.at) }));
    expect(entries).toEqual(data.entries);
  });

  it('is pretty-printed exactly like JSON.stringify(…, null, 2)', () => {
    const text = renderTranscript('json', data).toString('utf8');
    expect(text).toBe(JSON.stringify(parsed, null, 2) + '\n');
    const empty = renderTranscript('json', input({ entries: [] })).toString('utf8');
    expect(JSON.parse(empty).entries).toEqual([]);
    expect(empty).toBe(JSON.stringify(JSON.parse(empty), null, 2) + '\n');
  });

  it('keeps awkward text exactly', () => {
    const text = 'line1\nline2 "quoted" \\ \u0000 </script> ☕';
    const out = JSON.parse(renderTranscript('json', input({ entries: [msg(1, 1, 'customer', 'A', text)] })).toString());
    expect(out.entries[0].text).toBe(text);
  });
});

describe('renderTranscript: html', () => {
  const evil = '<script>alert("x")</script>';
  const html = renderTranscript(
    'html',
    input({
      chatId: 'chat-<1>',
      customer: { id: 'c-1', name: `Mallory ${evil}` },
      agents: [{ id: 'a-1', login: 'bob', name: `Bob ${evil}` }],
      entries: [
        msg(1, 1, 'customer', `Mallory ${evil}`, `hi ${evil} & 'bye'`),
        marker(2, 'abuse_flag', 'agent', `Bob ${evil}`, evil),
        msg(2, 3, 'agent', 'Bob', 'two\nlines'),
      ],
    }),
  ).toString('utf8');

  it('is a standalone HTML5 document in UTF-8', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<style>');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('escapes every user-supplied string: messages, names, details, ids', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;bye&#39;');
    expect(html).toContain('customer Mallory &lt;script&gt;');
    expect(html).toContain('Bob &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; (bob)');
    expect(html).toContain('flagged abusive by agent Bob &lt;script&gt;');
    expect(html).toContain('chat-&lt;1&gt;');
    expect(html).not.toContain('chat-<1>');
  });

  it('has a header table and the entries in order', () => {
    expect(html).toContain('<table class="meta">');
    expect(html).toContain('<tr><th>Service</th><td>sales</td></tr>');
    expect(html).toContain('<tr><th>Started</th><td>2026-03-01T23:30:00Z (Europe/London: 2026-03-01 23:30:00)</td></tr>');
    const items = html.match(/<li [^]*?<\/li>/g) ?? [];
    expect(items).toHaveLength(3);
    expect(items[0]).toContain('<time datetime="2026-03-01T23:30:01.000Z">2026-03-01T23:30:01Z</time>');
    expect(items[1]).toContain('class="marker role-agent"');
    expect(items[2]).toContain('<span class="text">two\nlines</span>');
  });

  it('escapeHtml', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeHtml('plain')).toBe('plain');
  });
});

describe('renderMetadataSidecar', () => {
  it('is pretty JSON describing the file and the recording', () => {
    const buf = renderMetadataSidecar(input(), {
      fileName: '20260301/sales_bob_chat-1.txt',
      format: 'text',
      sha256: 'ab'.repeat(32),
      bytes: 1234,
    });
    const text = buf.toString('utf8');
    const meta = JSON.parse(text);
    expect(text).toBe(JSON.stringify(meta, null, 2) + '\n');
    expect(meta.file).toEqual({
      name: '20260301/sales_bob_chat-1.txt',
      format: 'text',
      sha256: 'ab'.repeat(32),
      bytes: 1234,
    });
    expect(meta.chat.id).toBe('chat-1');
    expect(meta.recording).toMatchObject({ id: 'rec-1', name: 'agent', label: 'quality', kind: 'agent' });
    expect(meta.agents).toHaveLength(2);
    expect(meta.customer).toEqual({ id: 'c-1', name: 'Alice' });
    expect(meta.timeZone).toBe('Europe/London');
    expect(meta.counts).toEqual({ messages: 4, markers: 14 });
    expect(meta.entries).toBeUndefined();
  });
});

describe('renderTranscript: size', () => {
  // Throughput is measured in bench/; here only that a large transcript renders whole and in order.
  it('renders 20k messages whole, in order, in every format', () => {
    const entries: TranscriptEntry[] = [];
    const line = 'x'.repeat(75);
    for (let i = 0; i < 20_000; i++) {
      entries.push(msg(i + 1, i, i % 2 ? 'agent' : 'customer', i % 2 ? 'Bob' : 'Alice', `${line} ${i}`));
    }
    const big = input({ entries });
    for (const format of ['text', 'json', 'html'] as const) {
      const buf = renderTranscript(format, big);
      expect(buf.length).toBeGreaterThan(20_000 * 80);
    }
    const text = renderTranscript('text', big).toString('utf8');
    expect(text.endsWith(`agent Bob: ${line} 19999\n`)).toBe(true);
  });
});

describe('renderTranscript: the company switch markers', () => {
  const entries = [
    msg(1, 5, 'customer', 'Alice', 'hello'),
    marker(6, 'recording_off', 'system', 'admin adm', 'company switch'),
    marker(9, 'recording_on', 'system', 'admin adm', 'company switch'),
    msg(3, 10, 'customer', 'Alice', 'back'),
  ];

  it('says in every format when the switch went off and on, and by whom', () => {
    const text = renderTranscript('text', input({ entries })).toString('utf8');
    expect(text).toMatch(
      /-- recording switched off for the company by admin adm \(company switch\) --\n.*-- recording switched on for the company by admin adm/,
    );
    const json = JSON.parse(renderTranscript('json', input({ entries })).toString('utf8')) as { entries: { kind?: string }[] };
    expect(json.entries.map((e) => e.kind).filter(Boolean)).toEqual(['recording_off', 'recording_on']);
    const html = renderTranscript('html', input({ entries })).toString('utf8');
    expect(html).toContain('recording switched off for the company by admin adm (company switch)');
    expect(html).toContain('recording switched on for the company by admin adm (company switch)');
  });
});

// Issue 9 item 17: delivery renders a transcript as a stream of chunks.
describe('renderTranscriptStream', () => {
  const FORMATS = ['text', 'json', 'html'] as const;

  async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c);
    return chunks;
  }

  async function* slowly<T>(items: T[]): AsyncGenerator<T> {
    for (const item of items) {
      await Promise.resolve();
      yield item;
    }
  }

  function bigEntries(n: number): TranscriptEntry[] {
    const out: TranscriptEntry[] = [];
    for (let i = 0; i < n; i++) {
      out.push(msg(i + 1, i, i % 2 ? 'agent' : 'customer', i % 2 ? 'Bob' : 'Zoë', `line ${i} <é&"'> ☕ 日本\nsecond line ${'x'.repeat(i % 500)}`));
      if (i % 97 === 0) out.push(marker(i, 'pause', 'agent', 'Bob', `detail ${i}`));
    }
    return out;
  }

  it.each(FORMATS)('gives the same bytes as the whole-buffer renderer (%s)', async (format) => {
    for (const data of [
      input(),
      input({ entries: [] }),
      input({ entries: bigEntries(3000), agents: [] }),
      input({ externalId: null, timeZone: 'Nowhere/Land' }),
    ]) {
      const { entries, ...header } = data;
      const whole = renderTranscript(format, data);
      // Buffer#equals: jest's toEqual walks a multi-megabyte buffer byte by byte.
      expect(Buffer.concat(await collect(renderTranscriptStream(format, header, slowly(entries)))).equals(whole)).toBe(true);
      expect(Buffer.concat(await collect(renderTranscriptStream(format, header, entries, 1))).equals(whole)).toBe(true);
    }
  });

  // Each chunk's parts are encoded one by one into it, not joined first: the bytes must still be
  // the whole render's, whatever the text holds (lone surrogates, pairs, line separators) and
  // wherever a chunk ends.
  it('gives the same bytes as the whole render for any text, in every format and chunk size', async () => {
    const unit = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom('\uD800', '\uDC00', '\uD83D\uDE00', '\u2028', '\u2029', '\r\n', '\n', 'é', '日本', '<&>"\''),
    );
    const text = fc.array(unit, { maxLength: 6 }).map((p) => p.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ text, name: text, agent: fc.boolean() }), { maxLength: 12 }),
        text,
        fc.constantFrom<'text' | 'json' | 'html' | 'vcon'>('text', 'json', 'html', 'vcon'),
        fc.integer({ min: 1, max: 200 }),
        async (messages, service, format, chunkChars) => {
          const data = input({
            service,
            entries: messages.map((m, i) => msg(i + 1, i, m.agent ? 'agent' : 'customer', m.name, m.text)),
          });
          const { entries, ...header } = data;
          const streamed = Buffer.concat(await collect(renderTranscriptStream(format, header, entries, chunkChars)));
          expect(streamed.equals(renderTranscript(format, data))).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it.each(FORMATS)('produces chunks incrementally, reading entries as it goes (%s)', async (format) => {
    const { entries, ...header } = input({ entries: bigEntries(5000) });
    let pulled = 0;
    async function* counted(): AsyncGenerator<TranscriptEntry> {
      for (const e of entries) {
        pulled++;
        yield e;
      }
    }
    const it = renderTranscriptStream(format, header, counted(), 16 * 1024)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect((first.value as Buffer).length).toBeLessThan(64 * 1024);
    // Only what the first chunk needed was read.
    expect(pulled).toBeLessThan(entries.length / 10);
    let chunks = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) chunks++;
    expect(chunks).toBeGreaterThan(20);
    expect(pulled).toBe(entries.length);
  });

  it('gives the event loop a turn once per slice of rendering time, between chunks', async () => {
    const { entries, ...header } = input({ entries: bigEntries(3000) });
    const render = async (sliceMs: number) => {
      let turns = 0;
      let stop = false;
      const tick = () => {
        turns++;
        if (!stop) setImmediate(tick);
      };
      setImmediate(tick);
      let chunks = 0;
      for await (const _ of renderTranscriptStream('html', header, entries, 16 * 1024, sliceMs)) chunks++;
      stop = true;
      return { chunks, turns };
    };
    // A slice of 0 ms: a turn after every chunk. Rendered from an in-memory array (no I/O at all),
    // other callbacks still ran throughout.
    const every = await render(0);
    expect(every.chunks).toBeGreaterThan(20);
    expect(every.turns).toBeGreaterThanOrEqual(every.chunks - 1);
    // A slice longer than the render: no turn at all until it is done.
    const none = await render(60_000);
    expect(none.chunks).toBe(every.chunks);
    expect(none.turns).toBeLessThanOrEqual(1);
  });

  it('the sidecar from counts equals the sidecar from the entries', () => {
    const data = input();
    const { entries: _entries, ...header } = data;
    const facts = { fileName: 'a.txt', format: 'text' as const, sha256: 'ab'.repeat(32), bytes: 12 };
    expect(renderMetadataSidecarOf(header, { messages: 4, markers: 14 }, facts)).toEqual(renderMetadataSidecar(data, facts));
  });
});
