// Renders a recording's transcript to a file body (CONTRACT.md section 5): plain text, JSON or a
// standalone HTML document, or a vCon (section 11, vcon-transcript.ts), plus the optional `.json`
// metadata sidecar.
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
import type { TranscriptFormat } from './filename-template';
import { HTML_FOOTER_LINES, htmlEntryLine, htmlHeaderLines, renderHtml } from './html-transcript';
import { entryJsonText, headerJson, JSON_ENTRIES_CLOSE, JSON_ENTRIES_OPEN, JSON_NO_ENTRIES, jsonHead, renderJson } from './json-transcript';
import { renderText, textEntryLines, textHeaderLines } from './text-transcript';
import { renderVcon, VconWriter } from './vcon-transcript';
import { TranscriptEntry, TranscriptHeader, TranscriptInput } from './transcript-entry';

export type { MarkerEntry, MarkerKind, SenderRole, TranscriptEntry, TranscriptHeader, TranscriptInput } from './transcript-entry';
export { escapeHtml } from './html-transcript';
export { markerSentence, utcStamp } from './transcript-wording';

/** Renders the transcript in the profile's format, UTF-8 encoded. */
export function renderTranscript(format: TranscriptFormat, input: TranscriptInput): Buffer {
  switch (format) {
    case 'text':
      return Buffer.from(renderText(input), 'utf8');
    case 'json':
      return Buffer.from(renderJson(input), 'utf8');
    case 'html':
      return Buffer.from(renderHtml(input), 'utf8');
    case 'vcon':
      return Buffer.from(renderVcon(input, input.entries), 'utf8');
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

/** About this many UTF-16 units of output per chunk. */
export const STREAM_CHUNK_CHARS = 64 * 1024;

/**
 * A render gives the event loop a turn once it has run this long (ms), not after every chunk: on a
 * busy instance each turn waits behind every other socket's work, and a 30 MB body in 64 KB chunks
 * took ~470 turns (half a second under the bench's relay load, six times its rendering alone).
 */
export const RENDER_SLICE_MS = 5;

/** Lets timers, I/O and other sockets run: awaiting a resolved promise alone would not. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Renders the transcript in the profile's format as UTF-8 chunks of about `chunkChars` characters,
 * reading the entries as it goes and giving the event loop a turn every RENDER_SLICE_MS. The
 * concatenated chunks equal `renderTranscript(format, {...header, entries})`.
 */
export async function* renderTranscriptStream(
  format: TranscriptFormat,
  header: TranscriptHeader,
  entries: AsyncIterable<TranscriptEntry> | Iterable<TranscriptEntry>,
  chunkChars = STREAM_CHUNK_CHARS,
  sliceMs = RENDER_SLICE_MS,
): AsyncGenerator<Buffer> {
  if (format !== 'text' && format !== 'json' && format !== 'html' && format !== 'vcon') throw new Error(`unknown transcript format "${String(format)}"`);
  let parts: string[] = [];
  let size = 0;
  const add = (s: string) => {
    parts.push(s);
    size += s.length;
  };
  // Each part is encoded straight into the chunk: joining the parts into one string first (a
  // flat copy of every character, in V8's heap) cost about as much again as the encoding, for a
  // 30 MB body 100 against 50 ms here. Every part ends with a line break or is JSON (which
  // escapes a lone surrogate), so no surrogate pair spans two parts and the bytes are the same.
  const take = (): Buffer => {
    let bytes = 0;
    for (const p of parts) bytes += Buffer.byteLength(p, 'utf8');
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const p of parts) at += buf.write(p, at, 'utf8');
    parts = [];
    size = 0;
    return buf;
  };
  const lines: string[] = [];
  const vcon = format === 'vcon' ? new VconWriter(header) : null;
  if (format === 'text') for (const l of textHeaderLines(header)) add(l + '\n');
  else if (format === 'html') for (const l of htmlHeaderLines(header)) add(l + '\n');
  else if (vcon) add(vcon.head());
  else add(jsonHead(header));
  let first = true;
  let slice = performance.now();
  for await (const e of entries) {
    if (format === 'text') {
      lines.length = 0;
      textEntryLines(e, lines);
      for (const l of lines) add(l + '\n');
    } else if (format === 'html') {
      add(htmlEntryLine(e) + '\n');
    } else if (vcon) {
      add(vcon.entry(e));
    } else {
      add((first ? JSON_ENTRIES_OPEN : ',\n') + entryJsonText(e));
    }
    first = false;
    if (size >= chunkChars) {
      yield take();
      if (performance.now() - slice >= sliceMs) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
  }
  if (format === 'html') for (const l of HTML_FOOTER_LINES) add(l + '\n');
  else if (vcon) add(vcon.tail());
  else if (format === 'json') add(first ? JSON_NO_ENTRIES : JSON_ENTRIES_CLOSE);
  if (size > 0) yield take();
}
