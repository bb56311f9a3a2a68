import { Injectable } from '@nestjs/common';
import { CompanyDirectory } from '../company/company-directory';
import { FilenameTemplateError } from '../transcript/filename-template';
import { ProfileService } from '../transcript/profile.service';
import { ProfileSnapshot, RecordingSnapshot, SegmentView } from '../transcript/recording-snapshot';
import { MarkerEntry, MarkerKind, SenderRole, TranscriptEntry } from '../transcript/transcript-renderer';
import {
  ChainReadAhead,
  ChatFacts,
  ChatSpan,
  consentMarkersOf,
  MarkerRecord,
  markersWithin,
  MessageRecord,
  ParticipantFacts,
  RecordingChatFacts,
} from './chat-facts.port';
import { ChainBrokenError, translated } from './delivery-failures';
import { RecordingRepository } from './recording.repository';
import { RecordingEntity } from './recording.entity';

// Messages are read this many at a time (keyset on seq): a 10,000-character message is 20 KB of
// UTF-16, so a page stays within a few MB whatever the chat's size.
export const MESSAGE_PAGE_SIZE = 100;

// A recording that is not large keeps its messages from the chain check when their bodies come to
// at most this many characters (2 MB of UTF-16); beyond, they are paged like a large one's.
export const KEPT_MESSAGE_CHARS = 1_000_000;

// Builds a recording's snapshot from the owners of its parts: what it captured (its segments,
// minus paused bodies), the chat, the company's time zone, the agents, and the profile as it was
// when the recording started.
@Injectable()
export class RecordingSnapshots {
  constructor(
    private readonly recordings: RecordingRepository,
    private readonly chats: RecordingChatFacts,
    private readonly companies: CompanyDirectory,
    private readonly profiles: ProfileService,
  ) {}

  // `keepMessages`: the recording is small enough for its messages to be held whole; they are then
  // taken from the chain check's own read of the chat instead of being read again. `segments`:
  // already read with the recording. `facts`: the chat and its participants, already read.
  // `chatMarkers`: every marker of the chat, already read (the recording's are picked from them).
  // `chainAhead`: the chain's first rows, read after `facts`.
  async of(
    rec: RecordingEntity,
    opts: {
      keepMessages?: boolean;
      segments?: SegmentView[];
      facts?: { chat: ChatFacts; participants: ParticipantFacts[] };
      chatMarkers?: MarkerRecord[];
      chainAhead?: ChainReadAhead;
    } = {},
  ): Promise<RecordingSnapshot> {
    const keepMessages = opts.keepMessages ?? false;
    // Independent reads run side by side: this runs once per delivered file.
    const [{ chat, participants }, company, profile, segments] = await Promise.all([
      opts.facts ?? this.chats.factsWithParticipants(rec.chatId),
      this.companies.facts(rec.companyId),
      this.profileOf(rec),
      opts.segments ?? this.recordings.segments(rec.id),
    ]);
    const agentIds = rec.agentId ? [rec.agentId] : participants.map((p) => p.agentId);
    const stoppedAt = rec.stoppedAt ?? chat.endedAt ?? new Date();
    // Each segment is one stay: its messages, and the markers between its join and its leave.
    const spans: ChatSpan[] = segments.map((g) => ({
      startSeq: g.startSeq,
      endSeq: g.endSeq ?? chat.nextSeq,
      from: g.startedAt,
      to: g.stoppedAt ?? stoppedAt,
    }));
    const page = (after: number) => translated(() => this.chats.messagePage(rec.chatId, rec.companyId, spans, after, MESSAGE_PAGE_SIZE));
    const ahead = opts.facts ? opts.chainAhead : undefined;
    const check = async (keepChars: number) => {
      const v = await this.chats.verifyChain(chat, rec.companyId, spans, keepChars, ahead);
      if (!v.intact) throw new ChainBrokenError(v.seq, v.problem);
      return v;
    };
    // The agents' settings, the markers and the consent evidence (vcon only) are read while the
    // chain is checked; a failure among them is reported only after the chain's verdict.
    const reads = Promise.all([
      this.companies.agents(rec.companyId, agentIds),
      opts.chatMarkers ? markersWithin(opts.chatMarkers, spans) : this.chats.markers(rec.chatId, spans),
      profile.format !== 'vcon' ? [] : opts.chatMarkers ? consentMarkersOf(opts.chatMarkers) : this.chats.consentMarkers(rec.chatId),
    ]);
    void reads.catch(() => undefined);
    // A recording that is not large is checked now, before anything is rendered, and its messages
    // come with the verdict. A large one is checked by the first pass over its entries, which reads
    // the chat once for both (the measuring pass renders into the private spool; a break ends it
    // with ChainBrokenError, and nothing is delivered): docs/integrity.md.
    let verdict = keepMessages ? await check(KEPT_MESSAGE_CHARS) : null;
    const [settings, markers, consent] = await reads.catch(async (err: unknown) => {
      verdict ??= await check(0);
      throw err;
    });
    const agents = agentIds.map((id) => {
      const s = settings.find((a) => a.agentId === id);
      const p = participants.find((x) => x.agentId === id);
      return { id, login: s?.login ?? null, name: s?.name ?? p?.name ?? null, ...(p ? { role: p.role } : {}) };
    });
    const chats = this.chats;
    let walked = false;
    async function* messages(): AsyncGenerator<MessageRecord> {
      // A small recording's messages came with the verdict.
      const held = verdict?.intact ? verdict.messages : undefined;
      if (held) {
        yield* held;
        return;
      }
      if (verdict === null && !walked) {
        walked = true;
        const pages = chats.checkedMessages(chat, rec.companyId, spans, ahead);
        let step = await pages.next();
        for (; !step.done; step = await pages.next()) yield* step.value;
        const v = step.value;
        if (!v.intact) throw new ChainBrokenError(v.seq, v.problem);
        verdict = v;
        snapshot.chainHead = v.head;
        return;
      }
      // Another pass (a body rendered again for its upload) pages the messages, once the chain is
      // known to be intact; the next page is read while this one is rendered (the render gives the
      // event loop its turns: renderTranscriptStream).
      verdict ??= await check(0);
      let rows = await page(0);
      for (;;) {
        const next = rows.length < MESSAGE_PAGE_SIZE ? null : page(rows[rows.length - 1].seq);
        next?.catch(() => undefined);
        for (const m of rows) yield m;
        if (!next) return;
        rows = await next;
      }
    }
    const snapshot: RecordingSnapshot = {
      recording: {
        id: rec.id,
        kind: rec.kind,
        profileName: rec.profileName,
        label: rec.label,
        agentId: rec.agentId,
        startedAt: rec.startedAt,
        endedAt: stoppedAt,
        outcomeReason: rec.outcomeReason,
        outcomeDetail: rec.outcomeDetail,
      },
      chat: {
        id: chat.id,
        externalId: chat.externalId,
        companyId: chat.companyId,
        service: chat.service,
        customerId: chat.customerId,
        customerName: chat.customerName,
        startedAt: chat.startedAt,
        endedAt: chat.endedAt,
      },
      timeZone: company.timeZone,
      agents,
      profile,
      segments,
      consent: consent.map(markerEntry),
      chainHead: verdict?.intact ? verdict.head : null,
      entries: () => merge(messages(), markers),
    };
    return snapshot;
  }

  // The snapshot taken when the recording started; only rows older than the snapshot read the
  // profile as it is now.
  private async profileOf(rec: RecordingEntity): Promise<ProfileSnapshot> {
    if (rec.profileTemplate !== null && rec.profileFormat !== null) {
      return { filenameTemplate: rec.profileTemplate, format: rec.profileFormat, sidecar: rec.profileSidecar ?? false, manifest: rec.profileManifest ?? false };
    }
    const profile = await this.profiles.find(rec.companyId, rec.profileName);
    if (!profile) throw new FilenameTemplateError(`profile "${rec.profileName}" no longer exists`);
    return profile;
  }
}

// Messages and markers in order: a marker after seq N comes before message N+1.
async function* merge(messages: AsyncIterable<MessageRecord>, markers: MarkerRecord[]): AsyncGenerator<TranscriptEntry> {
  let e = 0;
  for await (const m of messages) {
    while (e < markers.length && markers[e].afterSeq < m.seq) yield markerEntry(markers[e++]);
    yield { type: 'message', seq: m.seq, at: m.at, role: m.senderRole, name: m.senderName ?? m.senderRole, text: m.text, senderId: m.senderId };
  }
  while (e < markers.length) yield markerEntry(markers[e++]);
}

function markerEntry(ev: MarkerRecord): MarkerEntry {
  return {
    type: 'marker',
    at: ev.at,
    kind: ev.kind as MarkerKind,
    actorRole: ev.actorRole as SenderRole,
    actorName: ev.actorName ?? ev.actorId ?? ev.actorRole,
    detail: ev.detail,
    actorId: ev.actorId,
  };
}
