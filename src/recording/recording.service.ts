import { Injectable } from '@nestjs/common';
import { EntityManager, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ChatEntity } from '../chat/chat.entity';
import { RecordingState } from '../chat/chat-notifier';
import { MessageEntity } from '../chat/message.entity';
import { ParticipantEntity } from '../chat/participant.entity';
import { AppException } from '../common/app.exception';
import { newId } from '../common/ids';
import { AgentEntity } from '../company/agent.entity';
import { CompanyEntity } from '../company/company.entity';
import { DeliveryJobEntity } from '../export/delivery-job.entity';
import { ProfileEntity } from '../transcript/profile.entity';
import { decideRecordings, RecordingOutcome, sampleDecision } from './recording-rules';
import { RecordingEntity } from './recording.entity';

export interface FinalizeResult {
  outcomes: (RecordingOutcome & { kind: string; agentId: string | null; profileName: string })[];
  pendingRecordingIds: string[];
}

// Recording bookkeeping inside the chat's own transactions: every method takes the caller's
// EntityManager and the chat row it has locked.
@Injectable()
export class RecordingService {
  constructor(private readonly audit: AuditService) {}

  // One agent recording per agent account and chat; rejoining reopens it.
  async startAgentRecording(m: EntityManager, chat: ChatEntity, agent: AgentEntity, now: Date): Promise<RecordingEntity> {
    const repo = m.getRepository(RecordingEntity);
    const existing = await repo.findOneBy({ chatId: chat.id, kind: 'agent', agentId: agent.agentId });
    if (existing) {
      if (existing.endSeq !== null) {
        existing.endSeq = null;
        existing.stoppedAt = null;
        existing.status = chat.paused ? 'paused' : 'recording';
        existing.updatedAt = now;
        await repo.save(existing);
      }
      return existing;
    }
    const draw = sampleDecision(chat.id, agent.agentId, agent.samplingPercent);
    const rec = this.newRecording(chat, now, {
      kind: 'agent',
      profileName: 'agent',
      label: null,
      agentId: agent.agentId,
      sampledIn: draw.sampledIn,
      samplingReason: draw.reason,
    });
    await repo.insert(rec);
    return rec;
  }

  async startFlowRecording(m: EntityManager, chat: ChatEntity, profileName: string, label: string | null, now: Date): Promise<RecordingEntity> {
    const profile = await m.getRepository(ProfileEntity).findOneBy({ companyId: chat.companyId, name: profileName });
    if (!profile) throw AppException.notFound(`profile "${profileName}" not found`);
    const rec = this.newRecording(chat, now, { kind: 'flow', profileName, label, agentId: null, sampledIn: null, samplingReason: null });
    await m.getRepository(RecordingEntity).insert(rec);
    return rec;
  }

  async stop(m: EntityManager, chat: ChatEntity, rec: RecordingEntity, now: Date): Promise<void> {
    if (rec.endSeq !== null) return;
    rec.endSeq = chat.nextSeq;
    rec.stoppedAt = now;
    rec.status = 'stopped';
    rec.updatedAt = now;
    await m.getRepository(RecordingEntity).update({ id: rec.id }, { endSeq: rec.endSeq, stoppedAt: now, status: 'stopped', updatedAt: now });
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

  async state(m: EntityManager, chat: ChatEntity, company: CompanyEntity): Promise<RecordingState> {
    if (!company.recordingEnabled || chat.status !== 'open') return 'off';
    const active = await m.getRepository(RecordingEntity).countBy({ chatId: chat.id, endSeq: IsNull() });
    if (active === 0) return 'off';
    return chat.paused ? 'paused' : 'recording';
  }

  // At the chat's end: stop everything, apply the rules, queue what is produced for delivery and
  // purge what is not (message bodies included), with an audit entry per outcome. Runs in the
  // transaction that ends the chat, so the outbox rows commit with the end.
  async finalize(m: EntityManager, chat: ChatEntity, company: CompanyEntity, now: Date): Promise<FinalizeResult> {
    const repo = m.getRepository(RecordingEntity);
    const recordings = await repo.find({ where: { chatId: chat.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    const participants = await m.getRepository(ParticipantEntity).findBy({ chatId: chat.id });
    const agentIds = participants.map((p) => p.agentId);
    const current = agentIds.length ? await m.getRepository(AgentEntity).findBy(agentIds.map((agentId) => ({ companyId: chat.companyId, agentId }))) : [];
    const currentPermit = new Map(current.map((a) => [a.agentId, a.permitRecordings]));

    const outcomes = decideRecordings({
      companyRecordingEnabled: company.recordingEnabled,
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

  // Message bodies that no produced recording covers are removed now; what is kept is only what
  // some file needs.
  private async purgeUncovered(m: EntityManager, chatId: string, produced: RecordingEntity[]): Promise<void> {
    const qb = m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :chatId AND text IS NOT NULL', { chatId });
    produced.forEach((r, i) => {
      qb.andWhere(`NOT (seq >= :s${i} AND seq < :e${i})`, { [`s${i}`]: r.startSeq, [`e${i}`]: r.endSeq });
    });
    await qb.execute();
  }

  private newRecording(
    chat: ChatEntity,
    now: Date,
    fields: Pick<RecordingEntity, 'kind' | 'profileName' | 'label' | 'agentId' | 'sampledIn' | 'samplingReason'>,
  ): RecordingEntity {
    return Object.assign(new RecordingEntity(), {
      id: newId(),
      chatId: chat.id,
      companyId: chat.companyId,
      ...fields,
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
