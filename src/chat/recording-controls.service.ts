import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { redactCardData } from '../common/redact-card-data';
import { CompanyService } from '../company/company.service';
import { forUpdate } from '../database/sql';
import { RecordingService } from '../recording/recording.service';
import { Actor } from './actor';
import { ChatEventBus } from './chat-events';
import { RecordingState } from '../recording/chat-facts.port';
import { ChatJournal, latestMarkersAt } from './chat-journal';
import { ChatTransactions, timeAfter, requireJoined, requireOpen } from './chat-transactions';
import { ChatEntity } from './chat.entity';

// What the people in a chat decide about its recording (contract sections 4 and 5): pause and
// resume, the flow's own recordings, consent, deletion, abuse, discarding, the company switch.
@Injectable()
export class RecordingControlsService {
  constructor(
    private readonly chats: ChatTransactions,
    private readonly journal: ChatJournal,
    private readonly companies: CompanyService,
    private readonly recordings: RecordingService,
    private readonly events: ChatEventBus,
  ) {}

  async setPaused(p: Principal, chatId: string, paused: boolean): Promise<RecordingState> {
    return this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      requireOpen(chat);
      await requireJoined(m, chatId, p.sub);
      if (chat.paused !== paused) {
        chat.paused = paused;
        await m.getRepository(ChatEntity).update({ id: chatId }, { paused, lastActivityAt: now });
        await this.recordings.setPaused(m, chatId, paused, now);
        await this.journal.record(m, chat, now, p, { kind: paused ? 'pause' : 'resume' }, { action: paused ? 'recording.paused' : 'recording.resumed' });
      }
      const state = await this.recordings.state(m, chat);
      events.emit('chat.recordingState', { chatId, state });
      return state;
    });
  }

  async startRecording(p: Principal, chatId: string, profile: string, rawLabel: string | null): Promise<string> {
    const label = rawLabel === null ? null : await this.scrub(p.company, rawLabel);
    return this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      requireOpen(chat);
      const rec = await this.recordings.startFlowRecording(m, chat, profile, label, now);
      await this.journal.record(
        m,
        chat,
        now,
        p,
        { kind: 'recording_start', detail: label ? `${profile} (${label})` : profile },
        { action: 'recording.started', detail: { recordingId: rec.id, profile, label } },
      );
      events.emit('chat.recordingState', { chatId, state: await this.recordings.state(m, chat) });
      return rec.id;
    });
  }

  async stopRecording(p: Principal, chatId: string, recordingId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      const rec = await this.recordings.flowRecording(m, chatId, recordingId);
      if (!rec || rec.kind !== 'flow') throw AppException.notFound('recording not found');
      if (rec.endSeq !== null) return; // stopping twice is harmless
      await this.recordings.stop(m, chat, rec, now);
      const detail = rec.label ? `${rec.profileName} (${rec.label})` : rec.profileName;
      await this.journal.record(m, chat, now, p, { kind: 'recording_stop', detail }, { action: 'recording.stopped', detail: { recordingId } });
      events.emit('chat.recordingState', { chatId, state: await this.recordings.state(m, chat) });
    });
  }

  async flagAbusive(p: Principal, chatId: string, rawReason: string): Promise<void> {
    const reason = await this.scrub(p.company, rawReason);
    await this.chats.run(p.company, chatId, async ({ m, chat, now }) => {
      // An ended chat is a conflict, not an access question: its participants have all left.
      if (chat.status !== 'open' && !chat.abusive) throw AppException.conflict('chat has ended: recording decisions are final');
      if (p.role === 'agent') await requireJoined(m, chatId, p.sub);
      await m.getRepository(ChatEntity).update({ id: chatId }, { abusive: true });
      chat.abusive = true;
      await this.journal.record(m, chat, now, p, { kind: 'abuse_flag', detail: reason }, { action: 'chat.flagged_abusive', detail: { reason } });
    });
  }

  async requestDeletion(p: Principal, chatId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      requireOpen(chat);
      if (!chat.deletionRequested) {
        await m.getRepository(ChatEntity).update({ id: chatId }, { deletionRequested: true });
        await this.journal.record(m, chat, now, p, { kind: 'deletion_request' }, { action: 'deletion.requested' });
      }
      events.emit('chat.deletionRequested', { chatId });
    });
  }

  async confirmDeletion(p: Principal, chatId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now }) => {
      requireOpen(chat);
      await requireJoined(m, chatId, p.sub);
      if (!chat.deletionRequested) throw AppException.conflict('the customer has not asked for deletion');
      if (!chat.deletionConfirmed) {
        await m.getRepository(ChatEntity).update({ id: chatId }, { deletionConfirmed: true });
        await this.journal.record(m, chat, now, p, { kind: 'deletion_confirmed' }, { action: 'deletion.confirmed' });
      }
    });
  }

  async requestConsent(p: Principal, chatId: string, rawPrompt: string): Promise<void> {
    const prompt = await this.scrub(p.company, rawPrompt);
    await this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      requireOpen(chat);
      await this.journal.record(m, chat, now, p, { kind: 'consent', detail: `requested: ${prompt}` });
      events.emit('chat.consentRequested', { chatId, prompt });
    });
  }

  async answerConsent(p: Principal, chatId: string, granted: boolean): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now }) => {
      requireOpen(chat);
      const consent = granted ? 'granted' : 'refused';
      await m.getRepository(ChatEntity).update({ id: chatId }, { consent });
      await this.journal.record(m, chat, now, p, { kind: 'consent', detail: consent }, { action: 'consent.answered', detail: { granted } });
    });
  }

  async discard(p: Principal, chatId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now }) => {
      requireOpen(chat);
      await m.getRepository(ChatEntity).update({ id: chatId }, { discarded: true });
      await this.journal.record(m, chat, now, p, { kind: 'consent', detail: 'conversation discarded by the flow' }, { action: 'chat.discarded' });
    });
  }

  // Runs inside the admin's transaction that flips the company's recordingEnabled (which has
  // already locked the company row): every open chat of the company, locked in id order, takes the
  // switch and a marker after its last message. Answers what each chat must be told after commit.
  async applyCompanySwitch(
    m: EntityManager,
    companyId: string,
    enabled: boolean,
    actor: Actor,
    now: Date,
  ): Promise<{ chatId: string; state: RecordingState }[]> {
    // The candidates are read without locks, then locked by primary key in id order (the order the
    // message store locks chats in), so the two never deadlock. No chat of the company can be
    // created meanwhile: creation reads the company row, which the caller holds, under a shared lock.
    const candidates = await m
      .getRepository(ChatEntity)
      .createQueryBuilder('c')
      .select('c.id')
      .where('c.company_id = :companyId AND c.status = :open', { companyId, open: 'open' })
      .orderBy('c.id', 'ASC')
      .getMany();
    const states: { chatId: string; state: RecordingState }[] = [];
    for (let i = 0; i < candidates.length; i += 500) {
      const ids = candidates.slice(i, i + 500).map((c) => c.id);
      const chats = await forUpdate(
        m.getRepository(ChatEntity).createQueryBuilder('c').where('c.id IN (:...ids)', { ids }).orderBy('c.id', 'ASC'),
        m,
      ).getMany();
      // Each marker after its chat's latest, as every state change of a chat (ChatTransactions).
      const latest = await latestMarkersAt(m, ids);
      for (const chat of chats) {
        if (chat.status !== 'open' || chat.recordingOff === !enabled) continue;
        chat.recordingOff = !enabled;
        await m.getRepository(ChatEntity).update({ id: chat.id }, { recordingOff: chat.recordingOff });
        const at = timeAfter(now, latest.get(chat.id));
        await this.journal.marker(m, chat, enabled ? 'recording_on' : 'recording_off', actor, 'company switch', at);
        states.push({ chatId: chat.id, state: await this.recordings.state(m, chat) });
      }
    }
    return states;
  }

  // After the switch's commit.
  announceRecordingStates(states: { chatId: string; state: RecordingState }[]): void {
    for (const { chatId, state } of states) this.events.emit('chat.recordingState', { chatId, state });
  }

  // Card data masking (contract section 8) for free text other than messages: reasons, prompts,
  // labels. Messages are masked when posted.
  private async scrub(companyId: string, text: string): Promise<string> {
    const company = await this.companies.get(companyId);
    return company.redactCardData ? redactCardData(text) : text;
  }
}
