import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { AuditInput } from '../audit/audit.service';
import { AppException } from '../common/app.exception';
import { newId } from '../common/ids';
import { CompanyDirectory } from '../company/company-directory';
import { readTogether } from '../database/write-behind';
import { DeliveryOutbox } from '../export/delivery-outbox';
import { BUILTIN_AGENT_PROFILE, ProfileService } from '../transcript/profile.service';
import { ProfileSnapshot } from '../transcript/recording-snapshot';
import { RecordingChatFacts, RecordingState } from './chat-facts.port';
import { Consent, decideRecordings, RecordingOutcome, sampleDecision } from './recording-rules';
import { RecordingRepository } from './recording.repository';
import { RecordingEntity } from './recording.entity';

// The chat row as the chat's transaction holds it (locked): what the bookkeeping reads of it.
export interface LockedChat {
  id: string;
  companyId: string;
  nextSeq: number;
  paused: boolean;
  status: string;
  recordingOff: boolean;
  deletionConfirmed: boolean;
  consent: Consent;
  discarded: boolean;
  abusive: boolean;
}

export interface AgentSampling {
  agentId: string;
  samplingPercent: number;
}

export interface FinalizeResult {
  outcomes: (RecordingOutcome & { kind: string; agentId: string | null; profileName: string })[];
  pendingRecordingIds: string[];
  // An audit entry per outcome, which the caller records in the same transaction (with the chat's
  // own end entry, in one statement).
  audit: AuditInput[];
}

// Recording bookkeeping inside the chat's own transactions: every method takes the caller's
// EntityManager and the chat row it has locked.
@Injectable()
export class RecordingService {
  constructor(
    private readonly repo: RecordingRepository,
    private readonly chats: RecordingChatFacts,
    private readonly companies: CompanyDirectory,
    private readonly profiles: ProfileService,
    private readonly outbox: DeliveryOutbox,
  ) {}

  // One agent recording per agent account and chat (the sampling draw is made once, at the first
  // join); each stay in the chat is a segment of it: a rejoin opens the next segment.
  async startAgentRecording(m: EntityManager, chat: LockedChat, agent: AgentSampling, now: Date): Promise<RecordingEntity> {
    const existing = await this.repo.findAgentRecording(m, chat.id, agent.agentId);
    if (existing) {
      if (existing.endSeq !== null) {
        const last = await this.repo.lastSegmentOrdinal(m, existing.id);
        await this.repo.openSegment(m, existing.id, last + 1, chat.nextSeq, now);
        existing.endSeq = null;
        existing.stoppedAt = null;
        existing.status = chat.paused ? 'paused' : 'recording';
        existing.updatedAt = now;
        await this.repo.update(m, existing.id, { endSeq: null, stoppedAt: null, status: existing.status, updatedAt: now });
      }
      return existing;
    }
    // The built-in profile cannot be deleted; the fallback covers a company row made by hand.
    const profile = (await this.profiles.find(chat.companyId, 'agent', m)) ?? BUILTIN_AGENT_PROFILE;
    const draw = sampleDecision(chat.id, agent.agentId, agent.samplingPercent);
    const rec = this.newRecording(chat, now, profile, {
      kind: 'agent',
      profileName: 'agent',
      label: null,
      agentId: agent.agentId,
      sampledIn: draw.sampledIn,
      samplingReason: draw.reason,
    });
    await this.repo.insert(m, rec);
    await this.repo.openSegment(m, rec.id, 1, rec.startSeq, now);
    return rec;
  }

  async startFlowRecording(m: EntityManager, chat: LockedChat, profileName: string, label: string | null, now: Date): Promise<RecordingEntity> {
    const profile = await this.profiles.find(chat.companyId, profileName, m);
    if (!profile) throw AppException.notFound(`profile "${profileName}" not found`);
    const rec = this.newRecording(chat, now, profile, { kind: 'flow', profileName, label, agentId: null, sampledIn: null, samplingReason: null });
    await this.repo.insert(m, rec);
    await this.repo.openSegment(m, rec.id, 1, rec.startSeq, now);
    return rec;
  }

  // Closes the recording's open segment (an agent's leave, a flow recording's stop).
  async stop(m: EntityManager, chat: LockedChat, rec: RecordingEntity, now: Date): Promise<void> {
    if (rec.endSeq !== null) return;
    rec.endSeq = chat.nextSeq;
    rec.stoppedAt = now;
    rec.status = 'stopped';
    rec.updatedAt = now;
    await this.repo.closeSegments(m, [rec.id], rec.endSeq, now);
    await this.repo.update(m, rec.id, { endSeq: rec.endSeq, stoppedAt: now, status: 'stopped', updatedAt: now });
  }

  // A flow recording of the chat (chat's stop command names it by id).
  flowRecording(m: EntityManager, chatId: string, recordingId: string): Promise<RecordingEntity | null> {
    return this.repo.findInChat(m, chatId, recordingId);
  }

  async stopAgentRecording(m: EntityManager, chat: LockedChat, agentId: string, now: Date): Promise<void> {
    const rec = await this.repo.findAgentRecording(m, chat.id, agentId, true);
    if (rec) await this.stop(m, chat, rec, now);
  }

  async setPaused(m: EntityManager, chatId: string, paused: boolean, now: Date): Promise<void> {
    await this.repo.setPaused(m, chatId, paused, now);
  }

  // From the locked chat row: the company switch is the chat's recording_off, set in the admin's
  // transaction, so no instance's settings cache can make this stale.
  async state(m: EntityManager, chat: LockedChat): Promise<RecordingState> {
    if (chat.recordingOff || chat.status !== 'open') return 'off';
    const active = await this.repo.countOpen(m, chat.id);
    if (active === 0) return 'off';
    return chat.paused ? 'paused' : 'recording';
  }

  // At the chat's end: stop everything, apply the rules, queue what is produced for delivery and
  // purge what is not (message bodies included), with an audit entry per outcome for the caller to
  // record. Runs in the transaction that ends the chat, so the outbox rows commit with the end.
  async finalize(m: EntityManager, chat: LockedChat, now: Date): Promise<FinalizeResult> {
    // The switch as it is now (never a cache), without a lock: the admin's switch holds the company
    // row while it waits for chat rows. The chat's own flag, locked with the chat, says the same
    // once that switch has committed.
    // The three reads do not depend on each other: they go to the database as one query.
    const [enabledNow, listed, participants] = await readTogether(m, () =>
      Promise.all([
        this.companies.recordingEnabledNow(m, chat.companyId),
        this.repo.listForChatWithSegments(m, chat.id),
        this.chats.participants(chat.id, m, false),
      ]),
    );
    const companyRecordingEnabled = enabledNow && !chat.recordingOff;
    // A recording an erasure already suppressed (the chat was erased while open) stays so.
    const found = listed.filter(({ recording: r }) => !(r.status === 'suppressed' && r.outcomeReason === 'erased'));
    const recordings = found.map((f) => f.recording);
    const current = await this.companies.agents(
      chat.companyId,
      participants.map((p) => p.agentId),
      m,
    );
    const currentPermit = new Map(current.map((a) => [a.agentId, a.permitRecordings]));

    const outcomes = decideRecordings({
      companyRecordingEnabled,
      // A participant vetoes if it did not permit at its join or does not permit now.
      participants: participants.map((p) => ({
        agentId: p.agentId,
        role: p.role,
        permitRecordings: p.permitRecordings && currentPermit.get(p.agentId) !== false,
      })),
      deletionConfirmed: chat.deletionConfirmed,
      consent: chat.consent,
      discarded: chat.discarded,
      abusive: chat.abusive,
      recordings: recordings.map((r) => ({ recordingId: r.id, kind: r.kind, agentId: r.agentId ?? undefined, sampledIn: r.sampledIn ?? undefined })),
    });

    const pending: string[] = [];
    const produced: RecordingEntity[] = [];
    const closing = new Set(recordings.filter((r) => r.endSeq === null).map((r) => r.id));
    await this.repo.closeSegments(m, [...closing], chat.nextSeq, now);
    for (const [i, rec] of recordings.entries()) {
      const o = outcomes[i];
      if (rec.endSeq === null) {
        rec.endSeq = chat.nextSeq;
        rec.stoppedAt = now;
      }
      rec.outcomeReason = o.reason;
      rec.outcomeDetail = o.detail.slice(0, 1000);
      rec.updatedAt = now;
      if (o.produced) {
        rec.status = 'pending';
        produced.push(rec);
        pending.push(rec.id);
      } else {
        rec.status = 'suppressed';
        rec.purged = true;
      }
      await this.repo.recordOutcome(m, rec, now);
    }
    await this.outbox.enqueue(m, chat.companyId, pending, now);
    // Message bodies that no segment of a produced recording covers are removed now; what is kept
    // is only what some file needs. The segments as read, those left open just closed at the end.
    const kept = found
      .filter((f) => produced.includes(f.recording))
      .flatMap(({ recording, segments }) =>
        segments.map((g) => ({ startSeq: g.startSeq, endSeq: g.endSeq ?? (closing.has(recording.id) ? chat.nextSeq : null) })),
      );
    await this.chats.purgeBodiesOutside(m, chat, kept);
    const detailed = recordings.map((r, i) => ({ ...outcomes[i], kind: r.kind, agentId: r.agentId, profileName: r.profileName }));
    const audit = detailed.map((o) => ({
      companyId: chat.companyId,
      chatId: chat.id,
      actorRole: 'system',
      action: o.produced ? 'recording.produced' : 'recording.suppressed',
      detail: { recordingId: o.recordingId, kind: o.kind, agentId: o.agentId, profile: o.profileName, reason: o.reason, explanation: o.detail },
    }));
    return { outcomes: detailed, pendingRecordingIds: pending, audit };
  }

  // For retention: of the chats given, those with a produced recording still owing a delivery.
  chatsOwingBodies(chatIds: string[], owed: string[]): Promise<Set<string>> {
    return this.repo.chatsOwingBodies(chatIds, owed);
  }

  // For retention, in its purge transaction: flags the chat's finished recordings; how many.
  markPurged(m: EntityManager, chatId: string, final: string[], now: Date): Promise<number> {
    return this.repo.markPurged(m, chatId, final, now);
  }

  private newRecording(
    chat: LockedChat,
    now: Date,
    profile: ProfileSnapshot,
    fields: Pick<RecordingEntity, 'kind' | 'profileName' | 'label' | 'agentId' | 'sampledIn' | 'samplingReason'>,
  ): RecordingEntity {
    return Object.assign(new RecordingEntity(), {
      id: newId(),
      chatId: chat.id,
      companyId: chat.companyId,
      ...fields,
      profileTemplate: profile.filenameTemplate,
      profileFormat: profile.format,
      profileSidecar: profile.sidecar,
      profileManifest: profile.manifest,
      manifestJson: null,
      status: chat.paused ? 'paused' : 'recording',
      outcomeReason: null,
      outcomeDetail: null,
      startSeq: chat.nextSeq,
      endSeq: null,
      startedAt: now,
      stoppedAt: null,
      fileName: null,
      fileKey: null,
      fileSha256: null,
      deliveredAt: null,
      attempts: 0,
      lastError: null,
      purged: false,
      createdAt: now,
      updatedAt: now,
    });
  }
}
