import { Injectable } from '@nestjs/common';
import { EntityManager, In, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ChatEntity } from '../chat/chat.entity';
import { RecordingState } from '../chat/chat-events';
import { MessageEntity } from '../chat/message.entity';
import { ParticipantEntity } from '../chat/participant.entity';
import { AppException } from '../common/app.exception';
import { newId } from '../common/ids';
import { AgentEntity } from '../company/agent.entity';
import { BUILTIN_AGENT_PROFILE } from '../company/company.service';
import { DeliveryJobEntity } from '../export/delivery-job.entity';
import { ProfileEntity } from '../transcript/profile.entity';
import { decideRecordings, RecordingOutcome, sampleDecision } from './recording-rules';
import { RecordingSegmentEntity } from './recording-segment.entity';
import { RecordingEntity } from './recording.entity';

export interface ProfileSnapshot {
  filenameTemplate: string;
  format: 'text' | 'json' | 'html';
  sidecar: boolean;
}

export interface SegmentView {
  startSeq: number;
  endSeq: number | null;
  startedAt: Date;
  stoppedAt: Date | null;
}

export interface FinalizeResult {
  outcomes: (RecordingOutcome & { kind: string; agentId: string | null; profileName: string })[];
  pendingRecordingIds: string[];
}

// Recording bookkeeping inside the chat's own transactions: every method takes the caller's
// EntityManager and the chat row it has locked.
@Injectable()
export class RecordingService {
  constructor(private readonly audit: AuditService) {}

  // One agent recording per agent account and chat (the sampling draw is made once, at the first
  // join); each stay in the chat is a segment of it: a rejoin opens the next segment.
  async startAgentRecording(m: EntityManager, chat: ChatEntity, agent: AgentEntity, now: Date): Promise<RecordingEntity> {
    const repo = m.getRepository(RecordingEntity);
    const existing = await repo.findOneBy({ chatId: chat.id, kind: 'agent', agentId: agent.agentId });
    if (existing) {
      if (existing.endSeq !== null) {
        const last = await m.getRepository(RecordingSegmentEntity).maximum('ordinal', { recordingId: existing.id });
        await this.openSegment(m, existing.id, (last ?? 0) + 1, chat.nextSeq, now);
        existing.endSeq = null;
        existing.stoppedAt = null;
        existing.status = chat.paused ? 'paused' : 'recording';
        existing.updatedAt = now;
        await repo.update({ id: existing.id }, { endSeq: null, stoppedAt: null, status: existing.status, updatedAt: now });
      }
      return existing;
    }
    // The built-in profile cannot be deleted; the fallback covers a company row made by hand.
    const profile = (await m.getRepository(ProfileEntity).findOneBy({ companyId: chat.companyId, name: 'agent' })) ?? BUILTIN_AGENT_PROFILE;
    const draw = sampleDecision(chat.id, agent.agentId, agent.samplingPercent);
    const rec = this.newRecording(chat, now, profile, {
      kind: 'agent',
      profileName: 'agent',
      label: null,
      agentId: agent.agentId,
      sampledIn: draw.sampledIn,
      samplingReason: draw.reason,
    });
    await repo.insert(rec);
    await this.openSegment(m, rec.id, 1, rec.startSeq, now);
    return rec;
  }

  async startFlowRecording(m: EntityManager, chat: ChatEntity, profileName: string, label: string | null, now: Date): Promise<RecordingEntity> {
    const profile = await m.getRepository(ProfileEntity).findOneBy({ companyId: chat.companyId, name: profileName });
    if (!profile) throw AppException.notFound(`profile "${profileName}" not found`);
    const rec = this.newRecording(chat, now, profile, { kind: 'flow', profileName, label, agentId: null, sampledIn: null, samplingReason: null });
    await m.getRepository(RecordingEntity).insert(rec);
    await this.openSegment(m, rec.id, 1, rec.startSeq, now);
    return rec;
  }

  // Closes the recording's open segment (an agent's leave, a flow recording's stop).
  async stop(m: EntityManager, chat: ChatEntity, rec: RecordingEntity, now: Date): Promise<void> {
    if (rec.endSeq !== null) return;
    rec.endSeq = chat.nextSeq;
    rec.stoppedAt = now;
    rec.status = 'stopped';
    rec.updatedAt = now;
    await this.closeSegments(m, [rec.id], rec.endSeq, now);
    await m.getRepository(RecordingEntity).update({ id: rec.id }, { endSeq: rec.endSeq, stoppedAt: now, status: 'stopped', updatedAt: now });
  }

  // What a recording captured, in order: the rendering reads messages and markers in these.
  async segments(m: EntityManager, recordingId: string): Promise<SegmentView[]> {
    const rows = await m.getRepository(RecordingSegmentEntity).find({ where: { recordingId }, order: { ordinal: 'ASC' } });
    return rows.map((r) => ({ startSeq: r.startSeq, endSeq: r.endSeq, startedAt: r.startedAt, stoppedAt: r.stoppedAt }));
  }

  private async openSegment(m: EntityManager, recordingId: string, ordinal: number, startSeq: number, now: Date): Promise<void> {
    await m.getRepository(RecordingSegmentEntity).insert({ recordingId, ordinal, startSeq, endSeq: null, startedAt: now, stoppedAt: null });
  }

  private async closeSegments(m: EntityManager, recordingIds: string[], endSeq: number, now: Date): Promise<void> {
    if (recordingIds.length === 0) return;
    await m
      .createQueryBuilder()
      .update(RecordingSegmentEntity)
      .set({ endSeq, stoppedAt: now })
      .where({ recordingId: In(recordingIds), endSeq: IsNull() })
      .execute();
  }

  async stopAgentRecording(m: EntityManager, chat: ChatEntity, agentId: string, now: Date): Promise<void> {
    const rec = await m.getRepository(RecordingEntity).findOneBy({ chatId: chat.id, kind: 'agent', agentId, endSeq: IsNull() });
    if (rec) await this.stop(m, chat, rec, now);
  }

  async setPaused(m: EntityManager, chatId: string, paused: boolean, now: Date): Promise<void> {
    await m
      .createQueryBuilder()
      .update(RecordingEntity)
      .set({ status: paused ? 'paused' : 'recording', updatedAt: now })
      .where('chat_id = :chatId AND end_seq IS NULL AND status = :from', { chatId, from: paused ? 'recording' : 'paused' })
      .execute();
  }

  // From the locked chat row: the company switch is the chat's recording_off, set in the admin's
  // transaction, so no instance's settings cache can make this stale.
  async state(m: EntityManager, chat: ChatEntity): Promise<RecordingState> {
    if (chat.recordingOff || chat.status !== 'open') return 'off';
    const active = await m.getRepository(RecordingEntity).countBy({ chatId: chat.id, endSeq: IsNull() });
    if (active === 0) return 'off';
    return chat.paused ? 'paused' : 'recording';
  }

  // At the chat's end: stop everything, apply the rules, queue what is produced for delivery and
  // purge what is not (message bodies included), with an audit entry per outcome. Runs in the
  // transaction that ends the chat, so the outbox rows commit with the end.
  async finalize(m: EntityManager, chat: ChatEntity, now: Date): Promise<FinalizeResult> {
    const repo = m.getRepository(RecordingEntity);
    // The switch as it is now, read from the database (never a cache), without a lock: the admin's
    // switch holds the company row while it waits for chat rows. The chat's own flag, locked with
    // the chat, says the same once that switch has committed.
    const fresh = (await m.query('SELECT recording_enabled FROM companies WHERE id = ?', [chat.companyId])) as { recording_enabled: number | boolean }[];
    const companyRecordingEnabled = fresh.length > 0 && !!Number(fresh[0].recording_enabled) && !chat.recordingOff;
    const recordings = await repo.find({ where: { chatId: chat.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    const participants = await m.getRepository(ParticipantEntity).findBy({ chatId: chat.id });
    const agentIds = participants.map((p) => p.agentId);
    const current = agentIds.length ? await m.getRepository(AgentEntity).findBy(agentIds.map((agentId) => ({ companyId: chat.companyId, agentId }))) : [];
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
    await this.closeSegments(
      m,
      recordings.filter((r) => r.endSeq === null).map((r) => r.id),
      chat.nextSeq,
      now,
    );
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
      await repo.update(
        { id: rec.id },
        {
          endSeq: rec.endSeq,
          stoppedAt: rec.stoppedAt,
          outcomeReason: rec.outcomeReason,
          outcomeDetail: rec.outcomeDetail,
          status: rec.status,
          purged: rec.purged,
          updatedAt: now,
        },
      );
    }
    if (pending.length > 0) {
      await m
        .createQueryBuilder()
        .insert()
        .into(DeliveryJobEntity)
        .values(
          pending.map((recordingId) => ({
            recordingId,
            companyId: chat.companyId,
            state: 'queued' as const,
            attempts: 0,
            nextAttemptAt: now,
            leaseOwner: null,
            leaseUntil: null,
            lastError: null,
            createdAt: now,
            updatedAt: now,
          })),
        )
        .execute();
    }
    await this.purgeUncovered(m, chat.id, produced);
    const detailed = recordings.map((r, i) => ({ ...outcomes[i], kind: r.kind, agentId: r.agentId, profileName: r.profileName }));
    await this.audit.record(
      detailed.map((o) => ({
        companyId: chat.companyId,
        chatId: chat.id,
        actorRole: 'system',
        action: o.produced ? 'recording.produced' : 'recording.suppressed',
        detail: { recordingId: o.recordingId, kind: o.kind, agentId: o.agentId, profile: o.profileName, reason: o.reason, explanation: o.detail },
      })),
      m,
    );
    return { outcomes: detailed, pendingRecordingIds: pending };
  }

  // Message bodies that no segment of a produced recording covers are removed now; what is kept
  // is only what some file needs.
  private async purgeUncovered(m: EntityManager, chatId: string, produced: RecordingEntity[]): Promise<void> {
    const segments = produced.length ? await m.getRepository(RecordingSegmentEntity).findBy({ recordingId: In(produced.map((r) => r.id)) }) : [];
    const qb = m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :chatId AND text IS NOT NULL', { chatId });
    segments.forEach((g, i) => {
      qb.andWhere(`NOT (seq >= :s${i} AND seq < :e${i})`, { [`s${i}`]: g.startSeq, [`e${i}`]: g.endSeq });
    });
    await qb.execute();
  }

  private newRecording(
    chat: ChatEntity,
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
