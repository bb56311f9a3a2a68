// The standalone HTML format.
import { TranscriptEntry, TranscriptHeader, TranscriptInput } from './transcript-entry';
import { actor, agentLabel, customerLabel, markerSentence, stampWithZone } from './transcript-wording';

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

export function htmlHeaderLines(input: TranscriptHeader): string[] {
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

export const HTML_FOOTER_LINES = ['</ol>', '</body>', '</html>'];

export function htmlEntryLine(e: TranscriptEntry): string {
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

export function renderHtml(input: TranscriptInput): string {
  const out = htmlHeaderLines(input);
  for (const e of input.entries) out.push(htmlEntryLine(e));
  out.push(...HTML_FOOTER_LINES);
  out.push('');
  return out.join('\n');
}
