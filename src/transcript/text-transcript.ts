// The plain-text format.
import { TranscriptEntry, TranscriptHeader, TranscriptInput } from './transcript-entry';
import { actor, agentLabel, customerLabel, markerSentence, oneLine, stampWithZone, utcStamp } from './transcript-wording';

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029/;
const CONTINUATION_INDENT = '    ';

export function textHeaderLines(input: TranscriptHeader): string[] {
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

// Whether LINE_BREAK would match: four indexOf scans (memchr-fast; a one-byte string cannot hold
// U+2028 or U+2029 and answers at once) take about a fifth of the regex's time on a long body.
export function hasLineBreak(text: string): boolean {
  return text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1 || text.indexOf('\u2028') !== -1 || text.indexOf('\u2029') !== -1;
}

/** One entry's lines (a message with line breaks continues on indented lines). */
export function textEntryLines(e: TranscriptEntry, out: string[]): void {
  if (e.type === 'message') {
    const head = `[${utcStamp(e.at)}] ${actor(e.role, e.name)}: `;
    const text = e.text ?? '';
    if (!hasLineBreak(text)) {
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

export function renderText(input: TranscriptInput): string {
  const out = textHeaderLines(input);
  for (const e of input.entries) textEntryLines(e, out);
  out.push('');
  return out.join('\n');
}
