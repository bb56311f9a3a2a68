// The JSON format (also the sidecar's header).
import { TranscriptEntry, TranscriptHeader, TranscriptInput } from './transcript-entry';

export function headerJson(input: TranscriptHeader) {
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

export const q = (v: unknown): string => JSON.stringify(v) ?? 'null';

/** One entry, exactly as JSON.stringify(entry with ISO `at`, null, 2) nested in `entries` gives it. */
export function entryJsonText(e: TranscriptEntry): string {
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
export function jsonHead(input: TranscriptHeader): string {
  return JSON.stringify(headerJson(input), null, 2).slice(0, -2);
}
export const JSON_NO_ENTRIES = ',\n  "entries": []\n}\n';
export const JSON_ENTRIES_OPEN = ',\n  "entries": [\n';
export const JSON_ENTRIES_CLOSE = '\n  ]\n}\n';

export function renderJson(input: TranscriptInput): string {
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
