// Renders a recording's transcript to a file body (CONTRACT.md section 5): plain text, JSON or a
// standalone HTML document, plus the optional `.json` metadata sidecar.
//
// A transcript holds the chat, service, company, recording name and label, agent(s), start and end in
// UTC with the company's time zone named, each message with its time, sender role and name, and
// markers (joins, leaves, transfers, pauses, resumes, consent, deletion request, abuse flag, ...).
//
// Everything is built as an array of parts joined once, so rendering is linear in the transcript's
// size (a 300k-message transcript renders in well under a second or two). Delivery uses the
// streaming form (`renderTranscriptStream`): the entries come in as an async iterable (read from
// the database page by page) and the body goes out in chunks of about 64 KB, with a turn of the
// event loop after each, so a huge transcript neither holds the event loop nor sits in memory
// whole. Both forms are built from the same pieces and give the same bytes.
//
// Marker `detail` conventions (all optional; the JSON format keeps the raw value):
//   transfer          the target, "agent-2" or "to agent-2" -> "transferred by agent Bob to agent-2"
//   assign            the assignee, "agent-2" or "assigned to agent-2"
//                                                           -> "assigned to agent-2 by flow Bot"
//   consent           "granted" | "refused" | "requested" optionally followed by ": text"
//                                                           -> "consent granted by customer Alice"
//                     other text                            -> "consent: text (flow Bot)"
//   abuse_flag        the reason                            -> "flagged abusive by agent Bob: spam"
//   recording_start/stop  the profile (and label)           -> "recording started by flow Bot: agent"
//   anything else     shown in parentheses after the sentence
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';
import type { TranscriptFormat } from './filename-template';

dayjs.extend(utc);
dayjs.extend(timezone);

export type SenderRole = 'customer' | 'agent' | 'supervisor' | 'flow' | 'system';

export type MarkerKind =
  | 'join'
  | 'leave'
  | 'transfer'
  | 'pause'
  | 'resume'
  | 'consent'
  | 'deletion_request'
  | 'deletion_confirmed'
  | 'abuse_flag'
  | 'recording_start'
  | 'recording_stop'
  | 'chat_end'
  | 'assign'
  | 'recording_off'
  | 'recording_on';

export type TranscriptEntry =
  | { type: 'message'; seq: number; at: Date; role: SenderRole; name: string; text: string }
  | {
      type: 'marker';
      at: Date;
      kind: MarkerKind;
      actorRole: SenderRole;
      actorName: string;
      detail: string | null;
    };

export interface TranscriptInput {
  chatId: string;
  externalId: string | null;
  companyId: string;
  service: string;
  timeZone: string;
  recording: {
    id: string;
    name: string;
    label: string | null;
    kind: 'agent' | 'flow';
    startedAt: Date;
    endedAt: Date;
  };
  agents: { id: string; login: string | null; name: string | null }[];
  customer: { id: string | null; name: string | null };
  chatStartedAt: Date;
  chatEndedAt: Date;
  /** Already in order. */
  entries: TranscriptEntry[];
}

/** Everything a transcript holds except its entries (which may be streamed). */
export type TranscriptHeader = Omit<TranscriptInput, 'entries'>;

// ---------------------------------------------------------------------------------------------
// Shared formatting

/** `2026-03-01T23:30:05Z` (UTC, whole seconds); the JSON format keeps milliseconds. */
export function utcStamp(at: Date): string {
  const iso = at.toISOString();
  return iso.slice(0, 19) + 'Z';
}

// Building an Intl formatter is costly; a zone's validity does not change while we run.
const zoneValidity = new Map<string, boolean>();
function validZone(timeZone: string): boolean {
  let ok = zoneValidity.get(timeZone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
      ok = true;
    } catch {
      ok = false;
    }
    if (zoneValidity.size < 1000) zoneValidity.set(timeZone, ok);
  }
  return ok;
}

/** `2026-03-01 23:30:00` in the zone, or null if the zone is unknown. */
function localTime(at: Date, timeZone: string): string | null {
  if (!timeZone || !validZone(timeZone)) return null;
  return dayjs.utc(at).tz(timeZone).format('YYYY-MM-DD HH:mm:ss');
}

/** `2026-03-01T23:30:00Z (Europe/London: 2026-03-01 23:30:00)` */
function stampWithZone(at: Date, timeZone: string): string {
  const local = localTime(at, timeZone);
  return local === null ? `${utcStamp(at)} (time zone ${timeZone || '(none)'})` : `${utcStamp(at)} (${timeZone}: ${local})`;
}

/** Names and details go on one line: line breaks and other control characters become spaces. */
function oneLine(s: string): string {
  return /[\p{Cc}\u2028\u2029]/u.test(s) ? s.replace(/\r\n|[\p{Cc}\u2028\u2029]/gu, ' ') : s;
}

function actor(role: SenderRole, name: string): string {
  const n = oneLine(name ?? '').trim();
  return n ? `${role} ${n}` : role;
}

function agentLabel(a: { id: string; login: string | null; name: string | null }): string {
  if (a.name && a.login) return `${a.name} (${a.login})`;
  if (a.name) return `${a.name} (id ${a.id})`;
  if (a.login) return `${a.login}`;
  return `id ${a.id}`;
}

function customerLabel(c: { id: string | null; name: string | null }): string {
  if (c.name && c.id) return `${c.name} (id ${c.id})`;
  if (c.name) return c.name;
  if (c.id) return `(unnamed, id ${c.id})`;
  return '(anonymous)';
}

/** The sentence for a marker, without time or dashes, e.g. `recording paused by agent Bob`. */
export function markerSentence(m: Extract<TranscriptEntry, { type: 'marker' }>): string {
  const who = actor(m.actorRole, m.actorName);
  const detail = m.detail === null || m.detail === undefined ? '' : oneLine(m.detail).trim();
  const paren = detail ? ` (${detail})` : '';
  switch (m.kind) {
    case 'join':
      return `${who} joined${paren}`;
    case 'leave':
      return `${who} left${paren}`;
    case 'transfer': {
      const target = detail.replace(/^(transferred\s+)?to\s+/i, '');
      return `transferred by ${who}${target ? ` to ${target}` : ''}`;
    }
    case 'assign': {
      const target = detail.replace(/^(assigned\s+)?to\s+/i, '');
      return `assigned${target ? ` to ${target}` : ''} by ${who}`;
    }
    case 'pause':
      return `recording paused by ${who}${paren}`;
    case 'resume':
      return `recording resumed by ${who}${paren}`;
    case 'consent': {
      const match = /^(granted|refused|requested)\b\s*:?\s*(.*)$/is.exec(detail);
      if (match) {
        const rest = match[2].trim();
        return `consent ${match[1].toLowerCase()} by ${who}${rest ? ` (${rest})` : ''}`;
      }
      return detail ? `consent: ${detail} (${who})` : `consent by ${who}`;
    }
    case 'deletion_request':
      return `${who} asked for deletion${paren}`;
    case 'deletion_confirmed':
      return `deletion confirmed by ${who}${paren}`;
    case 'abuse_flag':
      return `flagged abusive by ${who}${detail ? `: ${detail}` : ''}`;
    case 'recording_start':
      return `recording started by ${who}${detail ? `: ${detail}` : ''}`;
    case 'recording_stop':
      return `recording stopped by ${who}${detail ? `: ${detail}` : ''}`;
    case 'chat_end':
      return `chat ended by ${who}${paren}`;
    // The company switch, flipped by an administrator (the name says so already).
    case 'recording_off':
      return `recording switched off for the company by ${m.actorRole === 'system' ? oneLine(m.actorName).trim() || who : who}${paren}`;
    case 'recording_on':
      return `recording switched on for the company by ${m.actorRole === 'system' ? oneLine(m.actorName).trim() || who : who}${paren}`;
    default:
      return `${oneLine(String((m as { kind: unknown }).kind))} by ${who}${paren}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Text

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029/;
const CONTINUATION_INDENT = '    ';

function textHeaderLines(input: TranscriptHeader): string[] {
  const out: string[] = [];
  const r = input.recording;
  const zone = input.timeZone;
  out.push('Chat transcript');
  out.push(`Chat: ${oneLine(input.chatId)}`);
  out.push(`External id: ${input.externalId === null ? '-' : oneLine(input.externalId)}`);
  out.push(`Service: ${oneLine(input.service)}`);
  out.push(`Company: ${oneLine(input.companyId)}`);
  out.push(`Recording: ${oneLine(r.name)}${r.label ? ` (label: ${oneLine(r.label)})` : ''}`);
  out.push(`Recording id: ${oneLine(r.id)} (${r.kind})`);
  const agents = input.agents.map((a) => oneLine(agentLabel(a)));
  out.push(`${agents.length === 1 ? 'Agent' : 'Agents'}: ${agents.length ? agents.join(', ') : '(none)'}`);
  out.push(`Customer: ${oneLine(customerLabel(input.customer))}`);
  out.push(`Time zone: ${oneLine(zone)}`);
  out.push(`Started: ${stampWithZone(input.chatStartedAt, zone)}`);
  out.push(`Ended: ${stampWithZone(input.chatEndedAt, zone)}`);
  out.push(`Recorded from: ${stampWithZone(r.startedAt, zone)}`);
  out.push(`Recorded until: ${stampWithZone(r.endedAt, zone)}`);
  out.push('='.repeat(72));
  return out;
}

/** One entry's lines (a message with line breaks continues on indented lines). */
function textEntryLines(e: TranscriptEntry, out: string[]): void {
  if (e.type === 'message') {
    const head = `[${utcStamp(e.at)}] ${actor(e.role, e.name)}: `;
    const text = e.text ?? '';
    if (!LINE_BREAK.test(text)) {
      out.push(head + text);
    } else {
      const lines = text.split(LINE_BREAK);
      out.push(head + lines[0]);
      for (let i = 1; i < lines.length; i++) out.push(CONTINUATION_INDENT + lines[i]);
    }
  } else {
    out.push(`[${utcStamp(e.at)}] -- ${markerSentence(e)} --`);
  }
}

function renderText(input: TranscriptInput): string {
  const out = textHeaderLines(input);
  for (const e of input.entries) textEntryLines(e, out);
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// JSON

function headerJson(input: TranscriptHeader) {
  const r = input.recording;
  return {
    chat: {
      id: input.chatId,
      externalId: input.externalId,
      companyId: input.companyId,
      service: input.service,
      startedAt: input.chatStartedAt.toISOString(),
      endedAt: input.chatEndedAt.toISOString(),
    },
    recording: {
      id: r.id,
      name: r.name,
      label: r.label,
      kind: r.kind,
      startedAt: r.startedAt.toISOString(),
      endedAt: r.endedAt.toISOString(),
    },
    agents: input.agents.map((a) => ({ id: a.id, login: a.login, name: a.name })),
    customer: { id: input.customer.id, name: input.customer.name },
    timeZone: input.timeZone,
  };
}

const q = (v: unknown): string => JSON.stringify(v) ?? 'null';

/** One entry, exactly as JSON.stringify(entry with ISO `at`, null, 2) nested in `entries` gives it. */
function entryJsonText(e: TranscriptEntry): string {
  if (e.type === 'message') {
    return (
      '    {\n      "type": "message",\n      "seq": ' +
      q(e.seq) +
      ',\n      "at": ' +
      q(e.at.toISOString()) +
      ',\n      "role": ' +
      q(e.role) +
      ',\n      "name": ' +
      q(e.name) +
      ',\n      "text": ' +
      q(e.text) +
      '\n    }'
    );
  }
  return (
    '    {\n      "type": "marker",\n      "at": ' +
    q(e.at.toISOString()) +
    ',\n      "kind": ' +
    q(e.kind) +
    ',\n      "actorRole": ' +
    q(e.actorRole) +
    ',\n      "actorName": ' +
    q(e.actorName) +
    ',\n      "detail": ' +
    q(e.detail ?? null) +
    '\n    }'
  );
}

// The header object without its closing brace; the entries follow it.
function jsonHead(input: TranscriptHeader): string {
  return JSON.stringify(headerJson(input), null, 2).slice(0, -2);
}
const JSON_NO_ENTRIES = ',\n  "entries": []\n}\n';
const JSON_ENTRIES_OPEN = ',\n  "entries": [\n';
const JSON_ENTRIES_CLOSE = '\n  ]\n}\n';

function renderJson(input: TranscriptInput): string {
  // The header is stringified as one object, the entries one by one and joined once: no second
  // full-size intermediate structure for a huge transcript. The result is byte-identical to
  // JSON.stringify({...header, entries}, null, 2) (the spec checks it).
  const head = jsonHead(input);
  const n = input.entries.length;
  if (n === 0) return head + JSON_NO_ENTRIES;
  const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) parts[i] = entryJsonText(input.entries[i]);
  return head + JSON_ENTRIES_OPEN + parts.join(',\n') + JSON_ENTRIES_CLOSE;
}

// ---------------------------------------------------------------------------------------------
// HTML

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const HTML_SPECIAL = /[&<>"']/;
const HTML_SPECIAL_G = /[&<>"']/g;

export function escapeHtml(s: string): string {
  const str = s === null || s === undefined ? '' : String(s);
  return HTML_SPECIAL.test(str) ? str.replace(HTML_SPECIAL_G, (c) => HTML_ESCAPES[c]) : str;
}

const ROLE_CLASSES = new Set<string>(['customer', 'agent', 'supervisor', 'flow', 'system']);

function roleClass(role: string): string {
  return ROLE_CLASSES.has(role) ? `role-${role}` : 'role-other';
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}',
  'table.meta{border-collapse:collapse;margin-bottom:1em}',
  'table.meta th{text-align:left;padding:.15em 1em .15em 0;vertical-align:top}',
  'table.meta td{padding:.15em 0}',
  'ol.entries{list-style:none;padding:0}',
  'ol.entries li{margin:.25em 0}',
  'time{color:#777;font-family:monospace;margin-right:.5em}',
  '.who{font-weight:600}',
  '.text{white-space:pre-wrap}',
  '.marker{color:#555;font-style:italic}',
  '.role-customer .who{color:#0a5}',
  '.role-agent .who,.role-supervisor .who{color:#05a}',
].join('');

function htmlHeaderLines(input: TranscriptHeader): string[] {
  const r = input.recording;
  const zone = input.timeZone;
  const out: string[] = [];
  const row = (label: string, value: string) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">');
  out.push(`<title>Chat ${escapeHtml(input.chatId)} - ${escapeHtml(r.name)}</title>`);
  out.push(`<style>${STYLE}</style>`);
  out.push('</head>');
  out.push('<body>');
  out.push('<h1>Chat transcript</h1>');
  out.push('<table class="meta">');
  out.push(row('Chat', input.chatId));
  out.push(row('External id', input.externalId ?? '-'));
  out.push(row('Service', input.service));
  out.push(row('Company', input.companyId));
  out.push(row('Recording', r.label ? `${r.name} (label: ${r.label})` : r.name));
  out.push(row('Recording id', `${r.id} (${r.kind})`));
  out.push(row(input.agents.length === 1 ? 'Agent' : 'Agents', input.agents.map(agentLabel).join(', ') || '(none)'));
  out.push(row('Customer', customerLabel(input.customer)));
  out.push(row('Time zone', zone));
  out.push(row('Started', stampWithZone(input.chatStartedAt, zone)));
  out.push(row('Ended', stampWithZone(input.chatEndedAt, zone)));
  out.push(row('Recorded from', stampWithZone(r.startedAt, zone)));
  out.push(row('Recorded until', stampWithZone(r.endedAt, zone)));
  out.push('</table>');
  out.push('<ol class="entries">');
  return out;
}

const HTML_FOOTER_LINES = ['</ol>', '</body>', '</html>'];

function htmlEntryLine(e: TranscriptEntry): string {
  const iso = e.at.toISOString();
  const time = `<time datetime="${iso}">${iso.slice(0, 19)}Z</time>`;
  if (e.type === 'message') {
    return (
      `<li class="message ${roleClass(e.role)}" data-seq="${Number(e.seq) || 0}">${time}` +
      `<span class="who">${escapeHtml(actor(e.role, e.name))}</span>: ` +
      `<span class="text">${escapeHtml(e.text)}</span></li>`
    );
  }
  return `<li class="marker ${roleClass(e.actorRole)}">${time}<span class="marker">${escapeHtml(markerSentence(e))}</span></li>`;
}

function renderHtml(input: TranscriptInput): string {
  const out = htmlHeaderLines(input);
  for (const e of input.entries) out.push(htmlEntryLine(e));
  out.push(...HTML_FOOTER_LINES);
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Renders the transcript in the profile's format, UTF-8 encoded. */
export function renderTranscript(format: TranscriptFormat, input: TranscriptInput): Buffer {
  switch (format) {
    case 'text':
      return Buffer.from(renderText(input), 'utf8');
    case 'json':
      return Buffer.from(renderJson(input), 'utf8');
    case 'html':
      return Buffer.from(renderHtml(input), 'utf8');
    default:
      throw new Error(`unknown transcript format "${String(format)}"`);
  }
}

export interface EntryCounts {
  messages: number;
  markers: number;
}

export interface SidecarFacts {
  fileName: string;
  format: TranscriptFormat;
  sha256: string;
  bytes: number;
}

/** The `.json` metadata sidecar that may go with a delivered file (pretty JSON, UTF-8). */
export function renderMetadataSidecar(input: TranscriptInput, extra: SidecarFacts): Buffer {
  const counts: EntryCounts = { messages: 0, markers: 0 };
  for (const e of input.entries) {
    if (e.type === 'message') counts.messages++;
    else counts.markers++;
  }
  return renderMetadataSidecarOf(input, counts, extra);
}

/** The sidecar from the header and the entry counts (when the entries were streamed). */
export function renderMetadataSidecarOf(header: TranscriptHeader, counts: EntryCounts, extra: SidecarFacts): Buffer {
  const sidecar = {
    file: { name: extra.fileName, format: extra.format, sha256: extra.sha256, bytes: extra.bytes },
    ...headerJson(header),
    counts: { messages: counts.messages, markers: counts.markers },
  };
  return Buffer.from(JSON.stringify(sidecar, null, 2) + '\n', 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** About this many UTF-16 units of output per chunk. */
export const STREAM_CHUNK_CHARS = 64 * 1024;

/** Lets timers, I/O and other sockets run: awaiting a resolved promise alone would not. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Renders the transcript in the profile's format as UTF-8 chunks of about `chunkChars` characters,
 * reading the entries as it goes and giving the event loop a turn after each chunk. The
 * concatenated chunks equal `renderTranscript(format, {...header, entries})`.
 */
export async function* renderTranscriptStream(
  format: TranscriptFormat,
  header: TranscriptHeader,
  entries: AsyncIterable<TranscriptEntry> | Iterable<TranscriptEntry>,
  chunkChars = STREAM_CHUNK_CHARS,
): AsyncGenerator<Buffer> {
  if (format !== 'text' && format !== 'json' && format !== 'html') throw new Error(`unknown transcript format "${String(format)}"`);
  let parts: string[] = [];
  let size = 0;
  const add = (s: string) => {
    parts.push(s);
    size += s.length;
  };
  const take = (): Buffer => {
    const buf = Buffer.from(parts.join(''), 'utf8');
    parts = [];
    size = 0;
    return buf;
  };
  const lines: string[] = [];
  if (format === 'text') for (const l of textHeaderLines(header)) add(l + '\n');
  else if (format === 'html') for (const l of htmlHeaderLines(header)) add(l + '\n');
  else add(jsonHead(header));
  let first = true;
  for await (const e of entries) {
    if (format === 'text') {
      lines.length = 0;
      textEntryLines(e, lines);
      for (const l of lines) add(l + '\n');
    } else if (format === 'html') {
      add(htmlEntryLine(e) + '\n');
    } else {
      add((first ? JSON_ENTRIES_OPEN : ',\n') + entryJsonText(e));
    }
    first = false;
    if (size >= chunkChars) {
      yield take();
      await yieldToEventLoop();
    }
  }
  if (format === 'html') for (const l of HTML_FOOTER_LINES) add(l + '\n');
  else if (format === 'json') add(first ? JSON_NO_ENTRIES : JSON_ENTRIES_CLOSE);
  if (size > 0) yield take();
}
