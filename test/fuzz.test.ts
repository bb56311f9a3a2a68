import fc from 'fast-check';
import { io, Socket } from 'socket.io-client';
import { Ack, emit, http, sleep, token } from './support/app';
import { AGENT_EVENTS, CUSTOMER_EVENTS } from './support/contract';
import { appStack } from './support/stack';

// Hostile input: fast-check sends thousands of malformed socket.io payloads (both namespaces,
// unknown events included) and REST bodies (flow and admin) — wrong types, huge strings, deep
// objects, prototype keys, NaN/Infinity as strings, lone surrogates, invalid UTF-8, null payloads,
// missing acknowledgements — and finds no crash, no 500 or internals in an answer, and no change to
// a control chat; the only messages stored are well-formed ones (acknowledged, or sent without an
// acknowledgement), each with the text that was sent.
//
// The tests marked `FIXED (was a bug)` are bugs this suite found, kept as regression tests.

const CO = 'fuzzco'; // chats and sockets
const ADMIN_CO = 'fuzzadm'; // admin routes fuzz here, away from the chats
const OTHER_CO = 'fuzzother';
const CODES = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'unavailable'];
const flow = token({ sub: 'fz-flow', company: CO, role: 'flow' });
const admin = token({ sub: 'fz-admin', company: ADMIN_CO, role: 'admin' });
const otherFlow = token({ sub: 'fz-flow', company: OTHER_CO, role: 'flow' });

// Events that end or hand over the chat go to sacrificial chats, so that the others stay open and
// well-formed messages keep being stored.
const DESTRUCTIVE = new Set(['chat.end', 'chat.transfer', 'chat.leave']);
// socket.io-client refuses to emit these names.
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

// ---- the arbitraries ------------------------------------------------------------------------

// An object whose keys are own properties even when they are "__proto__" (built by JSON.parse).
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  return JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`) as Record<string, unknown>;
}
// A value nested `depth` levels deep, as JSON text: built as text because neither JSON.stringify
// nor socket.io-client's encoder can walk 5,000 levels on the test's stack.
function deepJson(depth: number, kind: 'obj' | 'arr' | 'mixed'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const arr = kind === 'arr' || (kind === 'mixed' && i % 2 === 1);
    open += arr ? '[' : '{"a":';
    close = (arr ? ']' : '}') + close;
  }
  return `${open}"bottom"${close}`;
}
const weirdString = fc.constantFrom(
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x1F',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  '\uD800',
  '\uDFFF',
  'a\uD800b',
  '\uDC00\uD800',
  '\uFFFF',
  '\u0000',
  '\u202Etxt',
  '🙂',
  '%s%n%x',
  "'; DROP TABLE messages; --",
  '<script>alert(1)</script>',
  '{{constructor.constructor "return process"}}',
  '../../etc/passwd',
  'chat:',
  'x'.repeat(10_001),
  'y'.repeat(10_000),
);
// Up to ~200 KB of text, in characters of 1 to 6 JSON bytes.
const hugeString = fc
  .tuple(fc.constantFrom<[string, number]>(['x', 200_000], ['é', 200_000], ['🙂', 200_000], ['\uD800', 120_000]), fc.integer({ min: 10_001, max: 200_000 }))
  .map(([[c, max], n]) => c.repeat(Math.ceil(Math.min(n, max) / c.length)).slice(0, Math.min(n, max)));
const anyString = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: weirdString },
  { weight: 1, arbitrary: hugeString },
);
const leaf = fc.oneof(
  { weight: 4, arbitrary: anyString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() }, // NaN and ±Infinity travel as null
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '__defineGetter__',
    'chatId',
    'text',
    'clientMsgId',
    'granted',
    'reason',
    'toAgentId',
    'service',
    'metadata',
    'customer',
    'externalId',
    'ok',
    'error',
  ),
  fc.string({ maxLength: 12 }),
);
const { value: hostileValue } = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthSize: 'small' }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 4 }),
  obj: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 5 }).map(objectOf),
}));
const deepText = fc
  .tuple(fc.integer({ min: 1_000, max: 5_000 }), fc.constantFrom<'obj' | 'arr' | 'mixed'>('obj', 'arr', 'mixed'))
  .map(([d, k]) => deepJson(d, k));
const pollution = fc.constantFrom(
  objectOf([['__proto__', { polluted: 'yes', text: 'polluted', clientMsgId: 'polluted', chatId: 'polluted', granted: true, reason: 'p', toAgentId: 'p' }]]),
  objectOf([['constructor', { prototype: { polluted: 'yes', text: 'polluted', granted: true } }]]),
  objectOf([['prototype', { polluted: 'yes' }]]),
  objectOf([
    ['__proto__', { polluted: 'yes' }],
    ['constructor', { prototype: { polluted: 'yes' } }],
  ]),
);

// A payload for `event`: mostly a valid shape with one thing wrong, else anything at all.
// `raw`: JSON text sent in a hand-made socket.io frame (deep values).
type Payload = { kind: 'none' } | { kind: 'value'; value: unknown; extra: unknown[] } | { kind: 'raw'; json: string };
function validShape(event: string, chatId: string): Record<string, unknown> {
  switch (event) {
    case 'message':
      return { chatId, clientMsgId: 'm', text: 'hello' };
    case 'consent.answer':
      return { granted: true };
    case 'chat.flagAbusive':
      return { chatId, reason: 'fuzz' };
    case 'chat.transfer':
      return { chatId, toAgentId: 'fz-elsewhere' };
    default:
      return { chatId };
  }
}
function payloadFor(event: string, chatIds: fc.Arbitrary<string>): fc.Arbitrary<Payload> {
  const mutated = fc
    .tuple(
      chatIds,
      fc.constantFrom('keep', 'set', 'delete', 'addKey', 'array', 'stringify'),
      fc.constantFrom('chatId', 'clientMsgId', 'text', 'granted', 'reason', 'toAgentId'),
      hostileValue,
      hostileKey,
    )
    .map(([chatId, how, field, v, key]): unknown => {
      const o = validShape(event, chatId);
      switch (how) {
        case 'keep':
          return o;
        case 'set':
          return objectOf(Object.entries({ ...o, [field]: v }));
        case 'delete':
          delete o[field];
          return o;
        case 'addKey':
          return objectOf([...Object.entries(o), [key, v]]);
        case 'array':
          return [o];
        case 'stringify':
          return JSON.stringify(o);
      }
    });
  const value = fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 3, arbitrary: hostileValue },
    { weight: 1, arbitrary: fc.tuple(chatIds, pollution).map(([c, p]) => objectOf([...Object.entries(validShape(event, c)), ...Object.entries(p)])) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 0, '', [], 'NaN', 'Infinity', true) },
  );
  const deepPayload = fc.oneof(
    fc
      .tuple(chatIds, fc.constantFrom('chatId', 'text', 'reason', 'extra'), deepText)
      .map(([c, f, d]) => JSON.stringify({ ...validShape(event, c), [f]: '\u0000DEEP' }).replace('"\\u0000DEEP"', d)),
    deepText,
  );
  return fc.oneof(
    { weight: 12, arbitrary: fc.tuple(value, fc.array(leaf, { maxLength: 2 })).map(([v, extra]): Payload => ({ kind: 'value', value: v, extra })) },
    { weight: 1, arbitrary: deepPayload.map((json): Payload => ({ kind: 'raw', json })) },
    { weight: 1, arbitrary: fc.constant<Payload>({ kind: 'none' }) },
  );
}
const unknownEvent = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Message', 'message ', 'chat.join\u0000', 'x'.repeat(5_000)),
  )
  .filter((e) => !RESERVED.has(e));

// Nothing over the 1 MB frame limit: such a frame is a transport error (the server closes the
// connection), not a payload.
const fitsInAFrame =
  (event: string) =>
  (p: Payload): boolean =>
    p.kind !== 'value' || Buffer.byteLength(JSON.stringify([event, p.value, ...p.extra]) ?? '') < 900_000;

// ---- checks -----------------------------------------------------------------------------------

// What a string becomes once stored as UTF-8: lone surrogates turn into U+FFFD.
function wellFormedUtf16(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// A message that shows internals. Quoted parts echo the caller's own input and are left out.
function showsInternals(message: string): boolean {
  const own = message.replace(/"[\s\S]*"/, '""');
  return /(^|\s)at\s|Error:|SELECT|INSERT|UPDATE |node_modules|QueryFailed|ER_[A-Z_]+|\.ts:\d|\.js:\d/.test(own);
}
function ackProblem(ack: unknown): string | null {
  if (!ack || typeof ack !== 'object' || Array.isArray(ack)) return `ack is not an object: ${JSON.stringify(ack)}`;
  const a = ack as Ack;
  if (a.ok === true) return a.error === undefined ? null : `ok ack with an error: ${JSON.stringify(a)}`;
  if (a.ok !== false) return `ack without ok: ${JSON.stringify(a).slice(0, 300)}`;
  const keys = Object.keys(a).sort().join(',');
  if (keys !== 'error,ok') return `refusal with extra keys ${keys}`;
  const e = a.error as { code?: unknown; message?: unknown };
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return `malformed error: ${JSON.stringify(a)}`;
  if (!CODES.includes(e.code)) return `code ${e.code} is not a contract code`;
  if (showsInternals(e.message)) return `internals in message: ${e.message}`;
  return null;
}

interface RestAnswer {
  status: number;
  contentType: string;
  text: string;
}
function restProblem(r: RestAnswer): string | null {
  if (r.status >= 500 || r.status < 200 || (r.status >= 300 && r.status < 400)) return `status ${r.status}: ${r.text.slice(0, 300)}`;
  if (r.status === 204) return r.text === '' ? null : `204 with a body`;
  if (!/^application\/json/.test(r.contentType)) return `status ${r.status} with content-type ${r.contentType}: ${r.text.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(r.text);
  } catch {
    return `status ${r.status} with a body that is not JSON: ${r.text.slice(0, 200)}`;
  }
  if (r.status < 300) return null;
  const b = body as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (
    Object.keys(b ?? {})
      .sort()
      .join(',') !== 'code,message,statusCode'
  )
    return `error body ${r.text.slice(0, 300)}`;
  if (b.statusCode !== r.status || typeof b.code !== 'string' || !CODES.includes(b.code) || typeof b.message !== 'string')
    return `error body ${r.text.slice(0, 300)}`;
  if (showsInternals(b.message)) return `internals in message: ${b.message}`;
  return null;
}

describe('hostile input (fuzz)', () => {
  // Rate limits low enough to be in play, high enough that a paced fuzz is mostly validated.
  const stack = appStack({ prefix: 'fuzz', env: { RATE_LIMIT_SOCKET_PER_SECOND: '200', RATE_LIMIT_TOKEN_PER_SECOND: '400' } });
  const sockets: Socket[] = [];
  let control: { chatId: string; customer: Socket; agent: Socket };
  let otherChatId = '';
  // Keep-open chats (customer sockets and the assigned agent's socket) and sacrificial ones.
  const open: { chatId: string; customers: Socket[]; agent: Socket }[] = [];
  const doomed: { chatId: string; customers: Socket[]; agent: Socket }[] = [];
  let freeAgents: Socket[] = [];
  // Well-formed messages the service acknowledged as stored: "chatId#seq".
  const stored = new Set<string>();
  const stats = {
    sent: 0,
    acked: 0,
    noAck: 0,
    rateLimited: 0,
    codes: new Map<string, number>(),
    rest: 0,
    restStatus: new Map<number, number>(),
    skippedKnownBug: 0,
  };
  const namespaceOf = new WeakMap<Socket, string>();
  let rawAckId = 1_000_000;
  // Rows of messages before the fuzz ("chatId#seq"), and every message payload sent, by its
  // (unique) clientMsgId: where it went, its text, whether it was sent with an acknowledgement.
  let baseline = new Set<string>();
  const sentMessages = new Map<string, { chatId: string | null; text: unknown; acked: boolean; wellFormed: boolean }>();
  let controlRows: unknown[] = [];
  let controlHistory: unknown;
  let controlChat: unknown[] = [];
  let unique = 0;

  async function socketFor(ns: '/customer' | '/agent', tok: string): Promise<Socket> {
    const s = io(`${stack.app.url}${ns}`, { auth: { token: tok }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('connect_error', rej);
    });
    sockets.push(s);
    namespaceOf.set(s, ns);
    return s;
  }

  // Emits through a hand-made socket.io frame (`2/ns,ID[event,payload]`) and catches the ACK
  // frame (`3/ns,ID[...]`) at the engine: for payloads given as JSON text.
  function rawEmit(s: Socket, event: string, json: string, withAck: boolean, timeoutMs = 8_000): Promise<unknown> {
    const ns = namespaceOf.get(s) as string;
    const id = ++rawAckId;
    const engine = s.io.engine;
    const frame = `2${ns},${withAck ? id : ''}[${JSON.stringify(event)},${json}]`;
    if (!withAck) {
      engine.write(frame);
      return Promise.resolve(null);
    }
    return new Promise((res, rej) => {
      const prefix = `3${ns},${id}`;
      const onPacket = (p: { type: string; data?: unknown }) => {
        if (p.type !== 'message' || typeof p.data !== 'string' || !p.data.startsWith(`${prefix}[`)) return;
        done();
        res((JSON.parse(p.data.slice(prefix.length)) as unknown[])[0]);
      };
      const t = setTimeout(() => {
        done();
        rej(new Error('no acknowledgement'));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        engine.off('packet', onPacket);
      };
      engine.on('packet', onPacket);
      engine.write(frame);
    });
  }
  async function newChat(agentId: string, customers: number): Promise<{ chatId: string; customers: Socket[]; agent: Socket }> {
    const r = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'fuzz', customer: { name: 'Fuzz' } });
    const cs: Socket[] = [];
    for (let i = 0; i < customers; i++) cs.push(await socketFor('/customer', r.body.customerToken));
    const agent = await socketFor('/agent', token({ sub: agentId, company: CO, role: 'agent', name: agentId }));
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${r.body.chatId}/assign`, flow, { agentId })).status).toBe(200);
    expect((await emit(agent, 'chat.join', { chatId: r.body.chatId })).ok).toBe(true);
    return { chatId: r.body.chatId, customers: cs, agent };
  }
  const readControl = async () => ({
    rows: await stack.db.query('SELECT seq, client_msg_id, sender_role, sender_id, sender_name, text, paused FROM messages WHERE chat_id = ? ORDER BY seq', [
      control.chatId,
    ]),
    chat: JSON.parse(
      JSON.stringify(
        await stack.db.query(
          `SELECT status, assigned_agent_id, next_seq, paused, consent, discarded, abusive, deletion_requested, deletion_confirmed, ended_at, last_activity_at
           FROM chats WHERE id = ?`,
          [control.chatId],
        ),
      ),
    ) as unknown[],
  });
  const totalMessages = async () => Number((await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM messages'))[0].n);

  // Makes a payload's clientMsgId unique (short prefix), so that no two fuzz messages are resends
  // of each other (and the case-insensitive collation bug below stays out of the random runs).
  function uniquify(v: unknown): unknown {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Record<string, unknown>).clientMsgId === 'string') {
      const o = v as Record<string, unknown>;
      return objectOf(Object.entries({ ...o, clientMsgId: `u${++unique}~${o.clientMsgId as string}` }));
    }
    return v;
  }

  // Sends one event; answers the ack (or null when sent without one) and checks its shape.
  async function send(s: Socket, event: string, p: Payload, withAck: boolean, chatOf: (payload: unknown) => string | null): Promise<string | null> {
    stats.sent++;
    const value = p.kind === 'value' ? uniquify(p.value) : undefined;
    const args = p.kind === 'value' ? [value, ...p.extra] : [];
    if (event === 'message' && value && typeof value === 'object' && typeof (value as { clientMsgId?: unknown }).clientMsgId === 'string') {
      const v = value as { clientMsgId: string; text?: unknown; chatId?: unknown };
      const chatId = chatOf(value);
      const agentSide = namespaceOf.get(s) === '/agent';
      const wellFormed =
        v.clientMsgId.length <= 128 &&
        typeof v.text === 'string' &&
        v.text.length >= 1 &&
        v.text.length <= 10_000 &&
        (!agentSide || (typeof v.chatId === 'string' && v.chatId.length <= 64));
      sentMessages.set(v.clientMsgId, { chatId, text: v.text, acked: withAck, wellFormed });
    }
    if (!withAck) {
      if (p.kind === 'raw') await rawEmit(s, event, p.json, false);
      else s.emit(event, ...args);
      return null;
    }
    let ack: unknown;
    try {
      ack = p.kind === 'raw' ? await rawEmit(s, event, p.json, true) : await s.timeout(8_000).emitWithAck(event, ...args);
    } catch {
      stats.noAck++;
      return `no acknowledgement for ${event} within 8 s (connected: ${s.connected})`;
    }
    stats.acked++;
    const problem = ackProblem(ack);
    if (problem) return `${event}: ${problem}`;
    const a = ack as Ack;
    const code = a.ok ? 'ok' : (a.error?.code ?? '?');
    const name = `${namespaceOf.get(s)} ${(CUSTOMER_EVENTS as readonly string[]).includes(event) || (AGENT_EVENTS as readonly string[]).includes(event) ? event : '(unknown event)'} ${code}`;
    stats.codes.set(name, (stats.codes.get(name) ?? 0) + 1);
    if (code === 'rate_limited') stats.rateLimited++;
    if (code === 'unavailable') return `${event}: unavailable (an internal error): ${JSON.stringify(a)}`;
    if (a.ok && event === 'message') {
      const chatId = chatOf(value);
      if (typeof a.seq !== 'number' || !chatId) return `message ok without seq or chat: ${JSON.stringify(a)}`;
      stored.add(`${chatId}#${a.seq}`);
    }
    return null;
  }

  // Every message stored since the fuzz began is one the service acknowledged, or a well-formed one
  // sent without an acknowledgement; every acknowledged one is stored, with the text that was sent.
  async function storedMessageProblems(): Promise<string[]> {
    const rows = await stack.db.query<{ chat_id: string; seq: number; client_msg_id: string | null; text: string | null }>(
      'SELECT chat_id, seq, client_msg_id, text FROM messages',
    );
    const problems: string[] = [];
    const present = new Set<string>();
    for (const r of rows) {
      const key = `${r.chat_id}#${r.seq}`;
      present.add(key);
      if (baseline.has(key)) continue;
      const sent = r.client_msg_id === null ? undefined : sentMessages.get(r.client_msg_id);
      if (sent && sent.chatId !== r.chat_id) problems.push(`${key} (${r.client_msg_id}) was sent to ${sent.chatId}`);
      if (sent && typeof sent.text === 'string' && r.text !== null && !/\d[\d -]{11,}\d/.test(sent.text) && r.text !== wellFormedUtf16(sent.text)) {
        problems.push(`${key} holds another text than was sent`);
      }
      if (stored.has(key)) continue;
      if (!sent || sent.acked || !sent.wellFormed)
        problems.push(`${key} (${r.client_msg_id}) is stored but was neither acknowledged nor a well-formed message sent without an ack`);
    }
    for (const key of stored) if (!present.has(key)) problems.push(`${key} was acknowledged but is not stored`);
    return problems;
  }

  async function invariantsHold(): Promise<void> {
    const h = await http(stack.app, 'GET', '/health', null);
    expect(h.status).toBe(200);
    expect(stack.app.logs()).not.toMatch(/unhandled|uncaught/i);
    expect(await readControl()).toEqual({ rows: controlRows, chat: controlChat });
    for (const s of sockets) expect(s.connected).toBe(true);
  }

  beforeAll(async () => {
    const c = await newChat('ctl-agent', 1);
    control = { chatId: c.chatId, customer: c.customers[0], agent: c.agent };
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${c.chatId}/messages`, flow, { text: 'Welcome, this is the bot' })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      expect((await emit(control.customer, 'message', { clientMsgId: `ctl-c${i}`, text: `customer line ${i}: card 4111 1111 1111 1111` })).ok).toBe(true);
      expect((await emit(control.agent, 'message', { chatId: c.chatId, clientMsgId: `ctl-a${i}`, text: `agent line ${i}` })).ok).toBe(true);
    }
    otherChatId = (await http<{ chatId: string }>(stack.app, 'POST', '/v1/flow/chats', otherFlow, { service: 'other' })).body.chatId;
    for (let i = 0; i < 4; i++) open.push(await newChat(`fz-agent-${i}`, 2));
    for (let i = 0; i < 2; i++) doomed.push(await newChat(`fz-doomed-${i}`, 1));
    freeAgents = [
      await socketFor('/agent', token({ sub: 'fz-free-0', company: CO, role: 'agent' })),
      await socketFor('/agent', token({ sub: 'fz-free-1', company: CO, role: 'supervisor' })),
    ];
    const ctl = await readControl();
    controlRows = ctl.rows;
    controlHistory = (await emit(control.agent, 'chat.join', { chatId: c.chatId })).history;
    controlChat = ctl.chat;
    expect(controlRows).toHaveLength(7);
    baseline = new Set((await stack.db.query<{ chat_id: string; seq: number }>('SELECT chat_id, seq FROM messages')).map((r) => `${r.chat_id}#${r.seq}`));
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    console.log(
      `fuzz: ${stats.sent} socket payloads (${stats.acked} acknowledged, ${stats.rateLimited} rate_limited), ${stats.rest} REST requests, ` +
        `${stored.size} well-formed messages stored, ${stats.skippedKnownBug} generated inputs skipped as known bugs\n` +
        `  REST statuses: ${[...stats.restStatus.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([k, n]) => `${k}: ${n}`)
          .join(', ')}\n` +
        [...stats.codes.entries()]
          .sort()
          .map(([k, n]) => `  ${k}: ${n}`)
          .join('\n'),
    );
  });

  // Chat ids a payload may name: its own, another's, the control chat, another company's, junk.
  const chatIdsFor = (own: () => string) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(null).map(() => own()) },
      { weight: 1, arbitrary: fc.constant(null).map(() => control.chatId) },
      { weight: 1, arbitrary: fc.constant(null).map(() => otherChatId) },
      { weight: 1, arbitrary: fc.constant(null).map(() => open[0].chatId) },
      { weight: 2, arbitrary: anyString },
    );

  describe('socket.io payloads', () => {
    const run = async (items: { ns: 'customer' | 'agent'; event: string; payload: Payload; withAck: boolean; lane: number; sock: number }[]) => {
      const problems = await Promise.all(
        items.map(async (it) => {
          if (it.ns === 'customer') {
            const chat = DESTRUCTIVE.has(it.event) ? doomed[it.lane % doomed.length] : open[it.lane % open.length];
            const s = chat.customers[it.sock % chat.customers.length];
            return send(s, it.event, it.payload, it.withAck, () => chat.chatId);
          }
          const pool = DESTRUCTIVE.has(it.event) ? [...doomed.map((d) => d.agent), ...freeAgents] : [...open.map((o) => o.agent), freeAgents[0]];
          const s = pool[it.lane % pool.length];
          return send(s, it.event, it.payload, it.withAck, (v) => (v && typeof v === 'object' ? ((v as { chatId?: string }).chatId ?? null) : null));
        }),
      );
      const real = problems.filter((p): p is string => p !== null);
      expect(real).toEqual([]);
      // A socket that was sent something without an acknowledgement still answers.
      for (const o of open) expect((await emit(o.customers[0], 'consent.answer', { granted: true })).ok).toBe(true);
      await invariantsHold();
    };
    const item = (ns: 'customer' | 'agent', events: readonly string[]) =>
      fc
        .tuple(
          fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...events) }, { weight: 1, arbitrary: unknownEvent }),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: 0, max: 1 }),
          fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        )
        .chain(([event, lane, sock, withAck]) =>
          payloadFor(
            event,
            chatIdsFor(() =>
              ns === 'agent' ? (DESTRUCTIVE.has(event) ? doomed[lane % doomed.length].chatId : open[lane % open.length].chatId) : open[0].chatId,
            ),
          ).map((payload) => ({ ns, event, payload, withAck, lane, sock })),
        )
        .filter((x) => fitsInAFrame(x.event)(x.payload));

    it('customer namespace: ~1,500 hostile payloads, every answer in the contract, nothing broken', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(item('customer', CUSTOMER_EVENTS), { minLength: 10, maxLength: 20 }), async (items) => {
          await run(items);
        }),
        { numRuns: 100, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
      );
      await invariantsHold();
    }, 150_000);

    it('agent namespace: ~1,500 hostile payloads, every answer in the contract, nothing broken', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(item('agent', AGENT_EVENTS), { minLength: 10, maxLength: 20 }), async (items) => {
          await run(items);
        }),
        { numRuns: 100, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
      );
      await invariantsHold();
    }, 150_000);

    it('most payloads were validated rather than rate limited, and only acknowledged messages were stored', async () => {
      expect(stats.sent).toBeGreaterThanOrEqual(2_000);
      expect(stats.rateLimited).toBeLessThan(stats.acked / 2);
      expect(stats.noAck).toBe(0);
      expect(stored.size).toBeGreaterThan(0);
      expect(await storedMessageProblems()).toEqual([]);
      await invariantsHold();
    });
  });

  describe('socket.io edge cases', () => {
    it('a message frame near 1 MB is answered bad_request, not a disconnect, on both namespaces', async () => {
      const o = open[1];
      const text = 'x'.repeat(999_000);
      const frame = `421${JSON.stringify(['message', { chatId: o.chatId, clientMsgId: 'big', text }])}`;
      expect(Buffer.byteLength(frame)).toBeGreaterThan(990_000);
      expect(Buffer.byteLength(frame)).toBeLessThan(1_000_000);
      expect(await emit(o.customers[0], 'message', { clientMsgId: 'big', text }, 15_000)).toEqual({
        ok: false,
        error: { code: 'bad_request', message: 'text is longer than 10000 characters' },
      });
      expect(await emit(o.agent, 'message', { chatId: o.chatId, clientMsgId: 'big', text }, 15_000)).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
      expect(o.customers[0].connected && o.agent.connected).toBe(true);
      const after = await emit(o.customers[0], 'message', { clientMsgId: 'after-big', text: 'still connected' });
      expect(after.ok).toBe(true);
      stored.add(`${o.chatId}#${after.seq as number}`);
    });

    it('a burst beyond the rate limit is answered rate_limited in the contract shape, stores nothing refused, and the socket recovers', async () => {
      const chat = await newChat('fz-burst', 1);
      const s = chat.customers[0];
      const wellFormed = Array.from({ length: 300 }, (_, i): Payload => ({
        kind: 'value',
        value: { clientMsgId: `burst-${i}`, text: `burst ${i}` },
        extra: [],
      }));
      const hostile = fc.sample(payloadFor('message', fc.constant(chat.chatId)).filter(fitsInAFrame('message')), { numRuns: 300, seed: 4242 });
      const before = stats.rateLimited;
      const problems = await Promise.all([...wellFormed, ...hostile].map((p) => send(s, 'message', p, true, () => chat.chatId)));
      expect(problems.filter((p) => p !== null)).toEqual([]);
      expect(stats.rateLimited - before).toBeGreaterThan(0);
      await sleep(1_500);
      const after = await emit(s, 'message', { clientMsgId: 'after-burst', text: 'calm again' });
      expect(after.ok).toBe(true);
      stored.add(`${chat.chatId}#${after.seq as number}`);
      expect(await storedMessageProblems()).toEqual([]);
    });

    it('deep payloads (1,000 to 5,000 levels) are refused with bad_request', async () => {
      const o = open[2];
      for (const depth of [1_000, 2_500, 5_000]) {
        for (const kind of ['obj', 'arr', 'mixed'] as const) {
          const d = deepJson(depth, kind);
          for (const [s, event, json] of [
            [o.customers[0], 'message', `{"clientMsgId":"deep","text":${d}}`],
            [o.customers[0], 'consent.answer', d],
            [o.agent, 'chat.join', `{"chatId":${d}}`],
            [o.agent, 'chat.flagAbusive', `{"chatId":${JSON.stringify(o.chatId)},"reason":"r","extra":${d}}`],
          ] as [Socket, string, string][]) {
            const ack = await rawEmit(s, event, json, true);
            expect(ackProblem(ack)).toBeNull();
            expect(ack).toMatchObject({ ok: false, error: { code: 'bad_request' } });
          }
        }
      }
      await invariantsHold();
    });

    it('null, missing and extra arguments, and events without an acknowledgement, leave the socket answering', async () => {
      const o = open[3];
      const c = o.customers[1];
      for (const event of [...CUSTOMER_EVENTS.filter((e) => e !== 'chat.end'), 'nope', '__proto__', 'constructor']) {
        c.emit(event);
        c.emit(event, null);
        c.emit(event, { clientMsgId: 'no-ack', text: 'no ack' }, 'extra', 42);
        expect(ackProblem(await c.timeout(5_000).emitWithAck(event))).toBeNull();
        expect(ackProblem(await c.timeout(5_000).emitWithAck(event, null))).toBeNull();
        expect(ackProblem(await c.timeout(5_000).emitWithAck(event, null, null, null))).toBeNull();
      }
      for (const event of AGENT_EVENTS.filter((e) => !DESTRUCTIVE.has(e))) {
        o.agent.emit(event);
        o.agent.emit(event, null);
        expect(await o.agent.timeout(5_000).emitWithAck(event, null)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      }
      await sleep(300);
      // The no-ack message was well-formed: it may have been stored (once); count it if so.
      const rows = await stack.db.query<{ seq: number }>(`SELECT seq FROM messages WHERE chat_id = ? AND client_msg_id = 'no-ack'`, [o.chatId]);
      for (const r of rows) stored.add(`${o.chatId}#${r.seq}`);
      expect((await emit(c, 'message', { clientMsgId: 'after-no-ack', text: 'answering' })).ok).toBe(true);
      const ok = await emit(o.agent, 'message', { chatId: o.chatId, clientMsgId: 'agent-after-no-ack', text: 'answering too' });
      expect(ok.ok).toBe(true);
      const c2 = await stack.db.query<{ seq: number }>(
        `SELECT seq FROM messages WHERE chat_id = ? AND client_msg_id IN ('after-no-ack', 'agent-after-no-ack')`,
        [o.chatId],
      );
      for (const r of c2) stored.add(`${o.chatId}#${r.seq}`);
      await invariantsHold();
    });

    it('prototype keys in socket payloads pollute nothing and smuggle nothing: validation still refuses what it refused', async () => {
      const o = open[0];
      // Values that an inherited property would supply: a smuggled chatId would answer not_found.
      const smuggled = {
        polluted: 'yes',
        text: 'polluted',
        clientMsgId: 'polluted',
        chatId: 'smuggled-chat',
        granted: true,
        reason: 'polluted',
        toAgentId: 'polluted',
      };
      const poison = objectOf([
        ['__proto__', smuggled],
        ['constructor', { prototype: smuggled }],
        ['prototype', smuggled],
      ]);
      const before = await totalMessages();
      for (const event of ['message', 'consent.answer']) {
        expect(await emit(o.customers[0], event, poison)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      }
      for (const event of AGENT_EVENTS) {
        expect([event, await emit(o.agent, event, poison)]).toMatchObject([
          event,
          { ok: false, error: { code: 'bad_request', message: expect.stringMatching(/chatId|forbidden key/) } },
        ]);
      }
      expect(await emit(o.customers[0], 'message', {})).toMatchObject({
        ok: false,
        error: { code: 'bad_request', message: expect.stringContaining('clientMsgId') },
      });
      expect(await emit(o.customers[0], 'message', { clientMsgId: 'p1' })).toMatchObject({
        ok: false,
        error: { code: 'bad_request', message: expect.stringContaining('text') },
      });
      expect(await emit(o.customers[0], 'consent.answer', {})).toMatchObject({
        ok: false,
        error: { code: 'bad_request', message: expect.stringContaining('granted') },
      });
      expect(await emit(o.agent, 'chat.join', {})).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('chatId') } });
      expect(await emit(o.agent, 'chat.flagAbusive', { chatId: o.chatId })).toMatchObject({
        ok: false,
        error: { code: 'bad_request', message: expect.stringContaining('reason') },
      });
      expect(await totalMessages()).toBe(before);
      const joined = await emit(o.agent, 'chat.join', { chatId: o.chatId });
      expect(joined.ok).toBe(true);
      expect(JSON.stringify(joined)).not.toContain('polluted');
    });
  });

  describe('REST bodies', () => {
    interface Req {
      method: string;
      path: string;
      bearer: string | null;
      body?: string | Buffer;
      contentType?: string;
    }
    const segment = fc.oneof(
      { weight: 3, arbitrary: fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s) || 'x') },
      { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ED%A0%80', '%00', '..', '%2e%2e', '__proto__', 'constructor', 'x'.repeat(3_000), '%C3%28') },
    );
    const chatSeg = fc.oneof(
      { weight: 5, arbitrary: fc.constant(null).map(() => open[0].chatId) },
      { weight: 2, arbitrary: fc.constant(null).map(() => doomed[0].chatId) },
      { weight: 2, arbitrary: fc.constant(null).map(() => otherChatId) },
      { weight: 3, arbitrary: segment },
    );
    const jsonBody = (valid: fc.Arbitrary<Record<string, unknown>>) =>
      fc.oneof(
        {
          weight: 5,
          arbitrary: fc
            .tuple(valid, fc.constantFrom('keep', 'set', 'delete', 'addKey'), hostileKey, hostileValue)
            .map(([o, how, k, v]) => mutate(o, how, k, v)),
        },
        { weight: 2, arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? 'null') },
        { weight: 1, arbitrary: fc.tuple(valid, pollution).map(([o, p]) => JSON.stringify(objectOf([...Object.entries(o), ...Object.entries(p)]))) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.integer({ min: 1_000, max: 5_000 }), fc.constantFrom('{"a":', '['))
            .map(([d, open]) => `${open.repeat(d)}1${(open === '[' ? ']' : '}').repeat(d)}`),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom<string | Buffer>(
            '',
            '{',
            '{"text": ',
            'NaN',
            'Infinity',
            'null',
            '"text"',
            '[]',
            '[null]',
            '1e999',
            '{"text":"\\ud800"}',
            '{"text":"\\u0000"}',
            '{"__proto__":null}',
            Buffer.from([0xc3, 0x28]),
            Buffer.concat([
              Buffer.from('{"text":"'),
              Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
              Buffer.from('","reason":"'),
              Buffer.from([0xed, 0xa0, 0x80]),
              Buffer.from('"}'),
            ]),
            Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
            `{"text":"${'z'.repeat(200_000)}"}`,
          ),
        },
      );
    function mutate(o: Record<string, unknown>, how: string, k: string, v: unknown): string {
      const entries = Object.entries(o);
      const first = entries[0]?.[0] ?? k;
      switch (how) {
        case 'keep':
          return JSON.stringify(o);
        case 'set':
          return JSON.stringify(objectOf(entries.map(([key, x]) => [key, key === first ? v : x])));
        case 'delete':
          return JSON.stringify(objectOf(entries.slice(1)));
        default:
          return JSON.stringify(objectOf([...entries, [k, v]]));
      }
    }
    const small = fc.string({ maxLength: 20 });
    const safeValue = fc.oneof(
      small,
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      weirdString.filter((s) => s.length < 100),
    );
    // [route, method, path, valid body]; the path's chat id and the body vary.
    const routes: [string, fc.Arbitrary<Req>][] = [];
    const add = (name: string, method: string, path: fc.Arbitrary<string>, bearer: string, body?: fc.Arbitrary<Record<string, unknown>>) =>
      routes.push([name, fc.tuple(path, body ? jsonBody(body) : fc.constant(undefined)).map(([p, b]): Req => ({ method, path: p, bearer, body: b }))]);
    const flowChat = (suffix: string) => chatSeg.map((c) => `/v1/flow/chats/${c}${suffix}`);
    add(
      'create chat',
      'POST',
      fc.constant('/v1/flow/chats'),
      flow,
      // BUG (see below): metadata over 64 KB ends in a 500; the random runs keep it small.
      fc.record(
        { service: small, externalId: small, customer: fc.record({ id: small, name: safeValue }), metadata: fc.dictionary(small, safeValue, { maxKeys: 4 }) },
        { requiredKeys: ['service'] },
      ),
    );
    add('flow message', 'POST', flowChat('/messages'), flow, fc.record({ text: anyString, clientMsgId: small, name: safeValue }, { requiredKeys: ['text'] }));
    add('consent request', 'POST', flowChat('/consent/request'), flow, fc.record({ prompt: anyString }));
    add('consent', 'POST', flowChat('/consent'), flow, fc.record({ granted: fc.oneof(fc.boolean(), safeValue) }));
    add(
      'start recording',
      'POST',
      flowChat('/recordings'),
      flow,
      fc.record({ profile: fc.oneof(fc.constant('agent'), small), label: safeValue }, { requiredKeys: ['profile'] }),
    );
    add(
      'stop recording',
      'POST',
      fc.tuple(chatSeg, segment).map(([c, r]) => `/v1/flow/chats/${c}/recordings/${r}/stop`),
      flow,
      fc.record({}),
    );
    add('assign', 'POST', flowChat('/assign'), flow, fc.record({ agentId: anyString }));
    add('transfer', 'POST', flowChat('/transfer'), flow, fc.record({ toAgentId: anyString }));
    add('abusive', 'POST', flowChat('/abusive'), flow, fc.record({ reason: anyString }));
    add('discard', 'POST', flowChat('/discard'), flow, fc.record({}));
    add('end', 'POST', flowChat('/end'), flow, fc.record({}));
    add(
      'settings',
      'PUT',
      fc.constant('/v1/admin/settings'),
      admin,
      fc.record(
        {
          recordingEnabled: fc.oneof(fc.constant(true), safeValue),
          timeZone: fc.oneof(fc.constantFrom('UTC', 'Europe/Zurich', 'Mars/Olympus'), small),
          idleTimeoutSeconds: fc.oneof(fc.integer(), safeValue),
          retentionDays: safeValue,
        },
        { requiredKeys: [] },
      ),
    );
    add(
      'agent',
      'PUT',
      segment.map((a) => `/v1/admin/agents/${a}`),
      admin,
      fc.record(
        { name: safeValue, login: safeValue, permitRecordings: safeValue, samplingPercent: fc.oneof(fc.integer({ min: -5, max: 105 }), safeValue) },
        { requiredKeys: [] },
      ),
    );
    const template = fc.oneof(
      fc.constantFrom(
        '{{chatId}}',
        '{{date startedAt "YYYY"}}/{{chatId}}',
        '{{#each this}}x{{/each}}',
        '{{constructor.name}}',
        '{{lookup this "constructor"}}',
        '../x',
        '/abs',
        'a\\b',
        '{{'.repeat(300),
        '{{#if a}}'.repeat(100),
      ),
      anyString,
    );
    const profileBody = fc.record(
      {
        name: fc.oneof(fc.constantFrom('p1', 'agent', '__proto__', 'constructor'), small),
        filenameTemplate: template,
        format: fc.oneof(fc.constantFrom('text', 'json', 'html'), small),
        sidecar: safeValue,
      },
      { requiredKeys: [] },
    );
    add('create profile', 'POST', fc.constant('/v1/admin/profiles'), admin, profileBody);
    add(
      'put profile',
      'PUT',
      segment.map((n) => `/v1/admin/profiles/${n}`),
      admin,
      profileBody,
    );
    add(
      'delete profile',
      'DELETE',
      segment.map((n) => `/v1/admin/profiles/${n}`),
      admin,
    );
    add(
      'preview',
      'POST',
      fc.constant('/v1/admin/profiles/preview'),
      admin,
      fc.record({ filenameTemplate: template, format: fc.constantFrom('text', 'json', 'html', 'exe') }),
    );
    add(
      'export target',
      'PUT',
      fc.constant('/v1/admin/export-target'),
      admin,
      fc.record(
        {
          type: fc.oneof(fc.constantFrom('sftp', 'local'), small),
          host: safeValue,
          port: fc.oneof(fc.integer({ min: -1, max: 70_000 }), safeValue),
          username: safeValue,
          password: safeValue,
          privateKey: fc.oneof(safeValue, hugeString),
          remoteDir: safeValue,
          hostKeySha256: fc.oneof(fc.constant(`SHA256:${'A'.repeat(43)}`), safeValue),
        },
        { requiredKeys: ['type'] },
      ),
    );
    const query = fc
      .array(fc.tuple(fc.constantFrom('chatId', 'status', 'limit', 'from', 'to', 'chatId[]', 'chatId[__proto__]', '__proto__'), segment), { maxLength: 4 })
      .map((q) => q.map(([k, v]) => `${k}=${v}`).join('&'));
    add(
      'recordings',
      'GET',
      query.map((q) => `/v1/admin/recordings?${q}`),
      admin,
    );
    add(
      'audit',
      'GET',
      query.map((q) => `/v1/admin/audit?${q}`),
      admin,
    );
    add(
      'recording',
      'GET',
      segment.map((r) => `/v1/admin/recordings/${r}`),
      admin,
    );
    add(
      'retry',
      'POST',
      segment.map((r) => `/v1/admin/recordings/${r}/retry`),
      admin,
    );
    add(
      'admin chat',
      'GET',
      chatSeg.map((c) => `/v1/admin/chats/${c}`),
      admin,
    );
    add(
      'unknown route',
      'POST',
      segment.map((s) => `/v1/${s}`),
      admin,
    );

    const contentType = fc.oneof(
      { weight: 12, arbitrary: fc.constant('application/json') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'application/json; charset=latin1',
          'application/json; charset=utf-16',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          '',
        ),
      },
    );
    const bearer = fc.oneof(
      { weight: 15, arbitrary: fc.constant<string | null | undefined>(undefined) },
      { weight: 1, arbitrary: fc.constantFrom<string | null | undefined>(null, 'garbage', `${'a'.repeat(9_000)}`) },
    );
    const request = fc
      .tuple(fc.constantFrom(...routes.map(([, r]) => r)), contentType, bearer)
      .chain(([r, ct, b]) => r.map((req): Req => ({ ...req, contentType: ct, bearer: b === undefined ? req.bearer : b })));

    async function send(req: Req): Promise<string | null> {
      stats.rest++;
      const headers: Record<string, string> = {};
      if (req.bearer) headers.authorization = `Bearer ${req.bearer}`;
      let body = req.body;
      if (body !== undefined) {
        if (req.contentType) headers['content-type'] = req.contentType;
        // A body's clientMsgId is made unique, as on sockets.
        if (typeof body === 'string' && body.includes('"clientMsgId"')) {
          try {
            body = JSON.stringify(uniquify(JSON.parse(body)));
          } catch {
            // not JSON: sent as it is
          }
        }
      }
      let r: Response;
      try {
        r = await fetch(`${stack.app.url}${req.path}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      } catch (err) {
        return `${req.method} ${req.path.slice(0, 80)}: request failed: ${(err as Error).message}`;
      }
      const answer = { status: r.status, contentType: r.headers.get('content-type') ?? '', text: await r.text() };
      stats.restStatus.set(r.status, (stats.restStatus.get(r.status) ?? 0) + 1);
      const problem = restProblem(answer);
      if (problem) return `${req.method} ${req.path.slice(0, 100)} ${String(body ?? '').slice(0, 120)}: ${problem}`;
      if (answer.status === 201 && /\/messages$/.test(req.path)) {
        const chatId = decodeURIComponent(req.path.split('/')[4]);
        stored.add(`${chatId}#${(JSON.parse(answer.text) as { seq: number }).seq}`);
      }
      return null;
    }

    it('~1,000 hostile requests across flow and admin routes: never a 500, always the error shape, nothing broken', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(request, { minLength: 15, maxLength: 25 }), async (reqs) => {
          const problems = (await Promise.all(reqs.map(send))).filter((p): p is string => p !== null);
          expect(problems).toEqual([]);
          await invariantsHold();
        }),
        { numRuns: 50, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
      );
      expect(stats.rest).toBeGreaterThanOrEqual(900);
      await invariantsHold();
    }, 150_000);

    it('prototype keys in REST bodies pollute nothing: validation still refuses what it refused', async () => {
      const poison = (extra: [string, unknown][]) =>
        JSON.stringify(
          objectOf([
            ...extra,
            ['__proto__', { polluted: 'yes', service: 'polluted', text: 'polluted', granted: true, agentId: 'polluted', reason: 'polluted', type: 'local' }],
            ['constructor', { prototype: { polluted: 'yes', service: 'polluted', text: 'polluted' } }],
          ]),
        );
      const c = open[2].chatId;
      for (const [method, path, body, bearerTok] of [
        ['POST', '/v1/flow/chats', poison([['service', 'p']]), flow],
        [
          'POST',
          '/v1/flow/chats',
          poison([
            ['service', 'p'],
            ['metadata', objectOf([['__proto__', { polluted: 'yes' }]])],
            ['customer', objectOf([['__proto__', { polluted: 'yes' }]])],
          ]),
          flow,
        ],
        ['POST', `/v1/flow/chats/${c}/messages`, poison([]), flow],
        ['POST', `/v1/flow/chats/${c}/consent`, poison([]), flow],
        ['PUT', '/v1/admin/settings', poison([]), admin],
        ['PUT', '/v1/admin/agents/p1', poison([]), admin],
        ['PUT', '/v1/admin/export-target', poison([]), admin],
        ['POST', '/v1/admin/profiles', poison([]), admin],
      ] as [string, string, string, string][]) {
        const r = await fetch(`${stack.app.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${bearerTok}`, 'content-type': 'application/json' },
          body,
        });
        expect(restProblem({ status: r.status, contentType: r.headers.get('content-type') ?? '', text: await r.text() })).toBeNull();
      }
      // Validation is unchanged: fields only an inherited property could supply are still missing.
      const noService = await http<{ message: string }>(stack.app, 'POST', '/v1/flow/chats', flow, {});
      expect(noService.status).toBe(400);
      expect(noService.body.message).toContain('service');
      const noText = await http<{ message: string }>(stack.app, 'POST', `/v1/flow/chats/${c}/messages`, flow, {});
      expect(noText.status).toBe(400);
      expect(noText.body.message).toContain('text');
      const noGranted = await http<{ message: string }>(stack.app, 'POST', `/v1/flow/chats/${c}/consent`, flow, {});
      expect(noGranted.status).toBe(400);
      const noType = await http<{ message: string }>(stack.app, 'PUT', '/v1/admin/export-target', admin, {});
      expect(noType.status).toBe(400);
      // And nothing answers with the poison.
      const created = await http<{ chatId: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 'after-poison' });
      expect(created.status).toBe(201);
      const fuzzAdmin = token({ sub: 'fz-admin', company: CO, role: 'admin' });
      for (const [path, tok] of [
        ['/v1/admin/settings', admin],
        ['/v1/admin/agents', admin],
        ['/v1/admin/agents/p1', admin],
        ['/v1/admin/profiles', admin],
        ['/v1/admin/export-target', admin],
        [`/v1/admin/chats/${created.body.chatId}`, fuzzAdmin],
        [`/v1/admin/chats/${c}`, fuzzAdmin],
      ]) {
        const r = await http(stack.app, 'GET', path, tok);
        expect(r.status).toBe(200);
        expect(JSON.stringify(r.body)).not.toContain('polluted');
      }
      await invariantsHold();
    });

    it('invalid UTF-8 and lone surrogates in a body: 400 or stored as text, never a 500', async () => {
      const c = open[3].chatId;
      const post = async (body: string | Buffer) => {
        const r = await fetch(`${stack.app.url}/v1/flow/chats/${c}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${flow}`, 'content-type': 'application/json' },
          body,
        });
        return { status: r.status, contentType: r.headers.get('content-type') ?? '', text: await r.text() };
      };
      const raw = await post(Buffer.from([0xc3, 0x28]));
      expect(restProblem(raw)).toBeNull();
      expect(JSON.parse(raw.text)).toEqual({ statusCode: 400, code: 'bad_request', message: 'body is not valid JSON' });
      for (const body of [
        Buffer.concat([Buffer.from('{"text":"bad '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
        '{"text":"lone \\ud800 surrogate"}',
        '{"text":"\\udfff"}',
      ]) {
        const r = await post(body);
        expect(restProblem(r)).toBeNull();
        if (r.status === 201) stored.add(`${c}#${(JSON.parse(r.text) as { seq: number }).seq}`);
      }
      await invariantsHold();
    });
  });

  it('afterwards: the control chat is unchanged, only acknowledged messages were stored, the process is healthy', async () => {
    await sleep(300);
    expect(await storedMessageProblems()).toEqual([]);
    await invariantsHold();
    // The control chat reads as before through the service too.
    const history = await emit(control.agent, 'chat.join', { chatId: control.chatId });
    expect(history.ok).toBe(true);
    expect((history.history as { seq: number }[]).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(history.history).toEqual(controlHistory);
    expect(JSON.stringify(history.history)).toContain('411111******1111');
    expect(stats.rateLimited).toBeLessThan(stats.acked / 2);
    expect(stack.app.logs()).not.toMatch(/unhandled|uncaught/i);
  });

  // After every invariant above has been checked: these provoke errors in the logs.
  describe('known bugs', () => {
    // FIXED (was a bug): two clientMsgIds that differ only in case or trailing spaces (or two lone surrogates,
    // both stored as U+FFFD) collide in the unique key messages(chat_id, sender_id, client_msg_id)
    // under the case-insensitive PAD SPACE collation: the second message is neither stored nor
    // recognised as a resend; MessageStore logs "message batch failed: Duplicate entry" at error
    // level and answers `unavailable` ("message not stored, try again") forever. Reproduce:
    // customer emits message {clientMsgId:"abc", text:"one"} → ok; then {clientMsgId:"ABC", text:"two"}
    // → {ok:false, error:{code:"unavailable"}}. Cause: MessageStore.write's resend lookup keys the
    // rows it reads back by their stored client_msg_id ("abc") and finds no match for "ABC".
    it('clientMsgIds that differ only in case or trailing spaces are distinct messages; ill-formed ones are refused', async () => {
      const o = open[1];
      for (const bad of ['\uD800', 'a\uDC00b']) {
        expect(await emit(o.customers[1], 'message', { clientMsgId: `k-${bad}`, text: 'x' })).toMatchObject({
          ok: false,
          error: { code: 'bad_request', message: expect.stringContaining('well-formed') },
        });
      }
      for (const [a, b] of [
        ['case-x', 'CASE-X'],
        ['pad', 'pad '],
      ]) {
        const first = await emit(o.customers[1], 'message', { clientMsgId: `k-${a}`, text: 'first' });
        expect(first.ok).toBe(true);
        stored.add(`${o.chatId}#${first.seq as number}`);
        const second = await emit(o.customers[1], 'message', { clientMsgId: `k-${b}`, text: 'second' });
        expect(second).toMatchObject({ ok: true });
        expect(second.seq).not.toBe(first.seq);
        stored.add(`${o.chatId}#${second.seq as number}`);
      }
    });

    // FIXED (was a bug): metadata whose JSON is over 64 KB (but within the 100 KB body limit) is accepted by
    // CreateChatDto and ends in a 500: "QueryFailedError: Data too long for column 'metadata'"
    // (chats.metadata is TEXT). Reproduce: POST /v1/flow/chats {"service":"s","metadata":{"a":"x"*70000}}.
    it('metadata over the column size is a 400, not a 500', async () => {
      const r = await fetch(`${stack.app.url}/v1/flow/chats`, {
        method: 'POST',
        headers: { authorization: `Bearer ${flow}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 's', metadata: { a: 'x'.repeat(70_000) } }),
      });
      expect(r.status).toBe(400);
    });

    // FIXED (was a bug): a socket payload holding, below its top level, an object with an own key "constructor"
    // (e.g. an unknown extra field {"a":{"constructor":1}}) is answered {ok:false, error:{code:
    // "unavailable", message:"internal error, try again"}} and logged at error level with a stack:
    // validatePayload (src/common/validate.ts) hands it to class-transformer's plainToInstance,
    // which takes value.constructor for the nested object's class and throws "TypeError: Cannot read
    // properties of undefined (reading 'constructor')" (MetadataStorage.getAncestors). Every event
    // validated by a DTO is affected: all of /agent except message, and consent.answer,
    // recording.deleteRequest and chat.end on /customer. Reproduce: agent emits
    // recording.pause {"chatId":"x","a":{"constructor":1}}.
    it('a nested "constructor" key in a socket payload is a bad_request, not an internal error', async () => {
      const o = open[2];
      const payload = objectOf([
        ['chatId', o.chatId],
        ['a', objectOf([['constructor', 1]])],
      ]);
      expect(await emit(o.agent, 'recording.pause', payload)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(
        await emit(
          o.customers[0],
          'consent.answer',
          objectOf([
            ['granted', 'x'],
            ['a', objectOf([['constructor', []]])],
          ]),
        ),
      ).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
    });

    // FIXED (was a bug): null in an optional field whose column is NOT NULL passes validation (@IsOptional lets
    // null through) and ends in a 500 "QueryFailedError: Column '...' cannot be null": PUT
    // /v1/admin/settings {"recordingEnabled"|"idleTimeoutSeconds"|"retentionDays"|"redactCardData": null}
    // (AdminService.putSettings keeps null, it only drops undefined) and PUT /v1/admin/agents/:id
    // {"samplingPercent"|"permitRecordings": null} (AdminService.putAgent, same filter).
    // null in an optional field means "not given" (docs/api.md): the setting stays as it was.
    it('null in a required settings column is not a 500 and changes nothing', async () => {
      for (const [path, body] of [
        ['/v1/admin/settings', { recordingEnabled: null }],
        ['/v1/admin/settings', { idleTimeoutSeconds: null }],
        ['/v1/admin/settings', { retentionDays: null }],
        ['/v1/admin/settings', { redactCardData: null }],
        ['/v1/admin/agents/nul', { samplingPercent: null }],
        ['/v1/admin/agents/nul', { permitRecordings: null }],
      ] as [string, unknown][]) {
        const before = await http(stack.app, 'GET', path, admin);
        const r = await http(stack.app, 'PUT', path, admin, body);
        expect([path, body, r.status]).toEqual([path, body, 200]);
        expect((await http(stack.app, 'GET', path, admin)).body).toEqual(before.body);
      }
    });

    // FIXED (was a bug): POST /v1/flow/chats {"service":"s","externalId":null} is a 500: ChatService.create tests
    // `input.externalId !== undefined` and runs findOneBy({externalId: null}), which TypeORM refuses
    // ("Null value encountered in property 'ChatEntity.externalId' of a where condition").
    it('a null externalId creates a chat (or is a 400), not a 500', async () => {
      const r = await http(stack.app, 'POST', '/v1/flow/chats', flow, { service: 's', externalId: null });
      expect([201, 400]).toContain(r.status);
    });
  });
});
