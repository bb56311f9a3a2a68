// The vcon format (CONTRACT.md section 11): a recording as a vCon in the unsigned JSON form of IETF
// draft-ietf-vcon-vcon-core-04 (syntax 0.4.0). docs/vcon.md maps our chat to its fields; the
// schema it validates against is docs/schemas/vcon-core-04.schema.json.
//
// - `dialog`: one `text` object per captured message, in seq order.
// - `parties`: see vcon-parties.ts. They are written after the dialog, so that a participant first
//   met in a message (a supervisor who joined) still gets a party while the messages stream.
// - `attachments` (JSON bodies, encoding "json"): `recording` (chat, recording, each party's role
//   and id), `outcome` (why the recording is produced), `consent` (each consent answer with its
//   prompt, who asked and answered, and when), `marker` (joins, leaves, transfers, pauses, ...).
//
// Each message is written as it comes; only the markers (already in memory) wait for the end.
import type { MarkerEntry, TranscriptEntry, TranscriptHeader } from './transcript-entry';
import { markerSentence } from './transcript-wording';
import { VconParties } from './vcon-parties';
import { vconUuid } from './vcon-uuid';

export const VCON_SYNTAX_VERSION = '0.4.0';
const JSON_MEDIATYPE = 'application/json';

interface Attachment {
  purpose: string;
  start: string;
  party: number;
  dialog: number;
  mediatype: string;
  encoding: 'json';
  body: unknown;
}

interface ConsentRequest {
  marker: MarkerEntry;
  prompt: string | null;
  dialog: number;
}

const q = (v: unknown): string => JSON.stringify(v) ?? 'null';
const iso = (d: Date): string => d.toISOString();

// Writes one vCon piece by piece: `head()`, then `entry()` for each entry in order, then `tail()`.
export class VconWriter {
  private readonly parties: VconParties;
  private readonly consent: MarkerEntry[];
  private readonly consentDialog: number[] = [];
  private readonly markers: Attachment[] = [];
  private dialogs = 0;

  constructor(private readonly header: TranscriptHeader) {
    this.parties = new VconParties(header);
    this.consent = [...(header.consent ?? [])].sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  head(): string {
    const h = this.header;
    const r = h.recording;
    return (
      '{\n' +
      `  "vcon": ${q(VCON_SYNTAX_VERSION)},\n` +
      `  "uuid": ${q(vconUuid(h.companyId, r.id, r.startedAt))},\n` +
      // The vCon is complete when the recording ends; a second rendering must give the same bytes.
      `  "created_at": ${q(iso(r.endedAt))},\n` +
      `  "subject": ${q(h.service)},\n` +
      '  "dialog": ['
    );
  }

  entry(e: TranscriptEntry): string {
    if (e.type === 'marker') {
      this.markers.push(this.markerAttachment(e));
      return '';
    }
    // Consent given before this message belongs with the message before it (or the first one).
    while (this.consentDialog.length < this.consent.length && this.consent[this.consentDialog.length].at.getTime() <= e.at.getTime()) {
      this.consentDialog.push(this.currentDialog());
    }
    const party = this.parties.of(e.role, e.senderId, e.name);
    const dialog = {
      type: 'text',
      start: iso(e.at),
      parties: [party],
      originator: party,
      mediatype: 'text/plain',
      encoding: 'none',
      body: e.text ?? '',
      message_id: `${this.header.chatId}/${e.seq}`,
      application: 'webchat',
    };
    return (this.dialogs++ === 0 ? '\n    ' : ',\n    ') + q(dialog);
  }

  tail(): string {
    while (this.consentDialog.length < this.consent.length) this.consentDialog.push(this.currentDialog());
    const attachments = [this.recordingAttachment(), this.outcomeAttachment(), ...this.consentAttachments(), ...this.markers];
    // A recording that captured no message still has one dialog, so that its attachments' required
    // `dialog` index (0) points at something: an `incomplete` one (no content, see docs/vcon.md).
    const dialogEnd = this.dialogs === 0 ? `\n    ${q(this.incompleteDialog())}\n  ],\n` : '\n  ],\n';
    return dialogEnd + `  "parties": ${list(this.parties.parties)},\n` + `  "attachments": ${list(attachments)}\n` + '}\n';
  }

  // Attachments refer to the message they follow (the first one if none came before; with no
  // message at all, the incomplete dialog at index 0).
  private currentDialog(): number {
    return Math.max(this.dialogs - 1, 0);
  }

  // The draft's Dialog Object for a conversation that did not take place: type `incomplete`, no
  // content, a `disposition` saying why. Nobody wrote while the recording ran: `no-answer`. Its
  // parties are the recording's customer and agents; it spans the recording.
  private incompleteDialog(): Record<string, unknown> {
    const r = this.header.recording;
    const people = this.parties.roles.filter((x) => x.role === 'customer' || x.role === 'agent' || x.role === 'supervisor').map((x) => x.party);
    return {
      type: 'incomplete',
      start: iso(r.startedAt),
      duration: Math.max(0, (r.endedAt.getTime() - r.startedAt.getTime()) / 1000),
      parties: people,
      disposition: 'no-answer',
      application: 'webchat',
    };
  }

  private markerAttachment(m: MarkerEntry): Attachment {
    const party = this.parties.of(m.actorRole, m.actorId, m.actorName);
    return this.attachment('marker', m.at, party, this.currentDialog(), {
      kind: m.kind,
      actor: { role: m.actorRole, id: m.actorId ?? null, name: m.actorName },
      detail: m.detail ?? null,
      text: markerSentence(m),
    });
  }

  private recordingAttachment(): Attachment {
    const h = this.header;
    const r = h.recording;
    return this.attachment('recording', r.startedAt, this.parties.company, 0, {
      chat: {
        id: h.chatId,
        externalId: h.externalId,
        companyId: h.companyId,
        service: h.service,
        startedAt: iso(h.chatStartedAt),
        endedAt: iso(h.chatEndedAt),
      },
      recording: { id: r.id, name: r.name, label: r.label, kind: r.kind, startedAt: iso(r.startedAt), endedAt: iso(r.endedAt) },
      timeZone: h.timeZone,
      parties: this.parties.roles,
    });
  }

  private outcomeAttachment(): Attachment {
    const o = this.header.outcome;
    return this.attachment('outcome', this.header.recording.endedAt, this.parties.company, 0, {
      produced: true,
      reason: o?.reason ?? null,
      detail: o?.detail ?? null,
    });
  }

  // Consent evidence: each answer (granted, refused, or the flow's discard) with the request it
  // answers; a request left unanswered is evidence too.
  private consentAttachments(): Attachment[] {
    const out: Attachment[] = [];
    let pending: ConsentRequest | null = null;
    this.consent.forEach((m, i) => {
      const dialog = this.consentDialog[i] ?? 0;
      const detail = (m.detail ?? '').trim();
      const asked = /^requested\b\s*:?\s*([\s\S]*)$/i.exec(detail);
      if (asked) {
        if (pending) out.push(this.consentEvidence(pending, null, null, pending.dialog));
        pending = { marker: m, prompt: asked[1] || null, dialog };
      } else if (/^(granted|refused)$/i.test(detail) || /discarded/i.test(detail)) {
        const answer = /discarded/i.test(detail) ? 'discarded' : detail.toLowerCase();
        out.push(this.consentEvidence(pending, m, answer, dialog));
        pending = null;
      }
    });
    if (pending !== null) {
      const last: ConsentRequest = pending;
      out.push(this.consentEvidence(last, null, null, last.dialog));
    }
    return out;
  }

  private consentEvidence(request: ConsentRequest | null, answer: MarkerEntry | null, value: string | null, dialog: number): Attachment {
    const by = answer ?? request?.marker;
    if (!by) throw new Error('consent evidence without a request or an answer');
    const actor = (m: MarkerEntry) => ({ role: m.actorRole, id: m.actorId ?? null, name: m.actorName });
    return this.attachment('consent', by.at, this.parties.of(by.actorRole, by.actorId, by.actorName), request?.dialog ?? dialog, {
      prompt: request?.prompt ?? null,
      answer: value,
      requestedAt: request ? iso(request.marker.at) : null,
      requestedBy: request ? actor(request.marker) : null,
      answeredAt: answer ? iso(answer.at) : null,
      answeredBy: answer ? actor(answer) : null,
    });
  }

  private attachment(purpose: string, start: Date, party: number, dialog: number, body: unknown): Attachment {
    return { purpose, start: iso(start), party, dialog, mediatype: JSON_MEDIATYPE, encoding: 'json', body };
  }
}

// An array with one compact element per line.
function list(items: unknown[]): string {
  return items.length === 0 ? '[]' : `[\n    ${items.map(q).join(',\n    ')}\n  ]`;
}

/** The whole vCon at once (tests, previews); delivery streams it (renderVconStream). */
export function renderVcon(header: TranscriptHeader, entries: Iterable<TranscriptEntry>): string {
  const w = new VconWriter(header);
  const parts = [w.head()];
  for (const e of entries) parts.push(w.entry(e));
  parts.push(w.tail());
  return parts.join('');
}
