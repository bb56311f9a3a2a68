import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import type { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { CompanyService } from '../company/company.service';
import { atLeastBefore, sqlDate } from '../database/sql';
import { deferWrite, readTogether } from '../database/write-behind';
import { FinalizeResult, RecordingService } from '../recording/recording.service';
import { Actor, actorOf } from './actor';
import { ChatAssignment } from './chat-events';
import { RecordingState } from '../recording/chat-facts.port';
import { ChatJournal } from './chat-journal';
import { ChatMessagesService, MessageView } from './chat-messages.service';
import { ChatTransactions, ChatTx, requireJoined, requireOpen } from './chat-transactions';
import { ChatEntity } from './chat.entity';
import { ParticipantEntity } from './participant.entity';

// A chat's life (contract section 2) from routing to its end: who is assigned, who takes part,
// and the end, by a participant, the flow or the idle timeout.
@Injectable()
export class ChatLifecycleService {
  private readonly logger = new Logger(ChatLifecycleService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly chats: ChatTransactions,
    private readonly journal: ChatJournal,
    private readonly companies: CompanyService,
    private readonly recordings: RecordingService,
    private readonly messages: ChatMessagesService,
  ) {}

  async find(companyId: string, chatId: string): Promise<ChatEntity> {
    const chat = await this.db.getRepository(ChatEntity).findOneBy({ id: chatId });
    // Another company's chat is indistinguishable from a missing one.
    if (!chat || chat.companyId !== companyId) throw AppException.notFound('chat not found');
    return chat;
  }

  // Refuses an agent that does not take part in the chat now (after a reconnect, its socket's rooms
  // are rebuilt from this).
  async requireParticipant(companyId: string, chatId: string, agentId: string): Promise<void> {
    const chat = await this.find(companyId, chatId);
    await requireJoined(this.db.manager, chat.id, agentId);
  }

  async assign(p: Principal, chatId: string, agentId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async ({ m, chat, now, events }) => {
      requireOpen(chat);
      chat.assignedAgentId = agentId;
      await m.getRepository(ChatEntity).update({ id: chat.id }, { assignedAgentId: agentId, lastActivityAt: now });
      await this.journal.record(m, chat, now, p, { kind: 'assign', detail: `assigned to ${agentId}` }, { action: 'chat.assigned', detail: { agentId } });
      events.emit('chat.assigned', { companyId: chat.companyId, agentId, assignment: assignmentOf(chat) });
    });
  }

  async join(p: Principal, chatId: string): Promise<{ history: MessageView[]; recordingState: RecordingState }> {
    const state = await this.chats.run(p.company, chatId, async (tx) => {
      const { m, chat, now } = tx;
      requireOpen(chat);
      if (p.role === 'agent' && chat.assignedAgentId !== p.sub) throw AppException.forbidden('chat is not assigned to you');
      const parts = m.getRepository(ParticipantEntity);
      const existing = await parts.findOneBy({ chatId, agentId: p.sub });
      if (existing && existing.leftAt === null) return this.announceState(tx);
      const settings = await this.companies.agentSettings(m, p.company, p.sub, { name: p.name, login: p.login });
      const role = p.role as 'agent' | 'supervisor';
      if (existing) {
        await parts.update({ chatId, agentId: p.sub }, { leftAt: null, permitRecordings: existing.permitRecordings && settings.permitRecordings });
      } else {
        await parts.insert({
          chatId,
          agentId: p.sub,
          role,
          name: settings.name ?? p.name ?? null,
          permitRecordings: settings.permitRecordings,
          joinedAt: now,
          leftAt: null,
        });
      }
      await this.journal.marker(m, chat, 'join', actorOf(p), null, now);
      await this.recordings.startAgentRecording(m, chat, settings, now);
      await m.getRepository(ChatEntity).update({ id: chat.id }, { lastActivityAt: now });
      return this.announceState(tx);
    });
    this.logger.log({ msg: `${p.role} joined`, chatId, companyId: p.company, userId: p.sub });
    return { history: await this.messages.history(p.company, chatId), recordingState: state };
  }

  async leave(p: Principal, chatId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async (tx) => {
      const { m, chat, now, events } = tx;
      const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId: p.sub });
      if (!part) throw AppException.forbidden('you are not in this chat');
      events.emit('chat.agentLeft', { companyId: p.company, agentId: p.sub, chatId });
      if (part.leftAt !== null) return; // leaving twice is harmless
      await this.leaveIn(m, chat, p.sub, actorOf(p), now, null);
      await this.announceState(tx);
    });
  }

  async transfer(p: Principal, chatId: string, toAgentId: string): Promise<void> {
    await this.chats.run(p.company, chatId, async (tx) => {
      const { m, chat, now, events } = tx;
      requireOpen(chat);
      if (p.role === 'agent') await requireJoined(m, chatId, p.sub);
      const from = chat.assignedAgentId;
      await this.journal.marker(m, chat, 'transfer', actorOf(p), `to ${toAgentId}`, now);
      chat.assignedAgentId = toAgentId;
      await m.getRepository(ChatEntity).update({ id: chatId }, { assignedAgentId: toAgentId, lastActivityAt: now });
      // The transferring agent leaves (when it is an agent taking part; a flow or supervisor
      // transfer moves the assigned agent out).
      const leaving = p.role === 'agent' ? p.sub : from;
      if (leaving && leaving !== toAgentId) {
        const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId: leaving, leftAt: IsNull() });
        if (part) await this.leaveIn(m, chat, leaving, { role: part.role, id: leaving, name: part.name }, now, 'transferred');
      }
      await this.journal.note(m, chat, { role: p.role, id: p.sub }, { action: 'chat.transferred', detail: { from, to: toAgentId } });
      if (leaving && leaving !== toAgentId) events.emit('chat.agentLeft', { companyId: chat.companyId, agentId: leaving, chatId });
      events.emit('chat.assigned', { companyId: chat.companyId, agentId: toAgentId, assignment: assignmentOf(chat) });
      await this.announceState(tx);
    });
  }

  // Answers whether this call ended the chat. `onlyIf` is checked under the chat's lock.
  async end(
    companyId: string,
    chatId: string,
    actor: Actor,
    reason: string,
    onlyIf?: (m: EntityManager, chat: ChatEntity, now: Date) => Promise<boolean>,
  ): Promise<boolean> {
    let outcomes: FinalizeResult['outcomes'] = [];
    const ended = await this.chats.run(companyId, chatId, async ({ m, chat, now, events }) => {
      if (chat.status !== 'open') return false; // ending twice is harmless
      if (onlyIf && !(await onlyIf(m, chat, now))) return false;
      // Raw SQL (every chat ends once): whoever is still in the chat leaves with its end.
      await deferWrite(m, 'UPDATE participants SET left_at = ? WHERE chat_id = ? AND left_at IS NULL', [sqlDate(now), chatId]);
      await this.journal.marker(m, chat, 'chat_end', actor, reason, now);
      chat.status = 'ended';
      await deferWrite(m, "UPDATE chats SET status = 'ended', ended_at = ?, end_reason = ?, paused = ? WHERE id = ?", [sqlDate(now), reason, 0, chatId]);
      chat.endedAt = now;
      const result = await this.recordings.finalize(m, chat, now);
      outcomes = result.outcomes;
      // The chat's end follows its recordings' outcomes in the audit trail.
      await this.journal.note(m, chat, actor, { action: 'chat.ended', detail: { reason, produced: result.pendingRecordingIds.length } }, result.audit);
      events.emit('chat.recordingState', { chatId, state: 'off' });
      events.emit('chat.ended', { chatId });
      return true;
    });
    // After the commit: the end and each recording's outcome, by identifiers and reasons only.
    if (ended) {
      this.logger.log({ msg: 'chat ended', chatId, companyId, reason, produced: outcomes.filter((o) => o.produced).length });
      for (const o of outcomes) {
        this.logger.log({ msg: o.produced ? 'recording produced' : 'recording suppressed', chatId, companyId, recordingId: o.recordingId, reason: o.reason });
      }
    }
    return ended;
  }

  // Chats whose clients never came back end by the company's idle timeout. Only chats idle by their
  // own company's timeout are read, so one company's many younger chats never crowd out another's
  // idle ones; each is judged again under its lock, as a message may have arrived since.
  async endIdleChats(limit = 200): Promise<number> {
    const now = this.clock.now();
    const candidates = await this.db
      .getRepository(ChatEntity)
      .createQueryBuilder('c')
      .innerJoin('companies', 'co', 'co.id = c.company_id')
      .select(['c.id', 'c.companyId'])
      // No company's timeout is below 5 s (admin validation): the index narrows to older activity.
      .where('c.status = :s AND c.last_activity_at < :h', { s: 'open', h: sqlDate(new Date(now.getTime() - 5_000)) })
      .andWhere(atLeastBefore(this.db, 'c.last_activity_at', 'co.idle_timeout_seconds', 'second', ':now'), { now: sqlDate(now) })
      .orderBy('c.last_activity_at', 'ASC')
      .limit(limit)
      .getMany();
    const actor: Actor = { role: 'system', id: null, name: 'idle timeout' };
    let ended = 0;
    for (const c of candidates) {
      try {
        if (await this.end(c.companyId, c.id, actor, 'idle_timeout', (m, chat, at) => this.isIdle(m, chat, at))) ended++;
      } catch (err) {
        this.logger.warn({ msg: `idle end failed: ${(err as Error).message}`, chatId: c.id, companyId: c.companyId });
      }
    }
    return ended;
  }

  // Chats assigned to an agent that it has not joined yet, for an agent that (re)connects.
  async pendingAssignments(companyId: string, agentId: string): Promise<ChatAssignment[]> {
    const chats = await this.db.getRepository(ChatEntity).find({ where: { companyId, assignedAgentId: agentId, status: 'open' }, take: 100 });
    return chats.map(assignmentOf);
  }

  private async leaveIn(m: EntityManager, chat: ChatEntity, agentId: string, actor: Actor, now: Date, detail: string | null): Promise<void> {
    await m.getRepository(ParticipantEntity).update({ chatId: chat.id, agentId }, { leftAt: now });
    await this.journal.marker(m, chat, 'leave', actor, detail, now);
    if (chat.status === 'open') await this.recordings.stopAgentRecording(m, chat, agentId, now);
  }

  // The chat's recording state as this transaction leaves it, told to the chat after the commit.
  private async announceState({ m, chat, events }: ChatTx): Promise<RecordingState> {
    const state = await this.recordings.state(m, chat);
    events.emit('chat.recordingState', { chatId: chat.id, state });
    return state;
  }

  // Under the chat's lock: its last activity (the row's, or its last message's, which the row's lags
  // by up to a step), against the company's timeout as committed now (not the settings cache). The
  // two reads do not depend on each other: they go to the database as one query.
  private async isIdle(m: EntityManager, chat: ChatEntity, now: Date): Promise<boolean> {
    const [timeoutSeconds, lastMessage] = await readTogether(m, () =>
      Promise.all([this.companies.idleTimeoutSecondsNow(m, chat.companyId), this.messages.lastMessageAt(m, chat.id)]),
    );
    if (timeoutSeconds === null) return false;
    const last = Math.max(chat.lastActivityAt.getTime(), lastMessage?.getTime() ?? 0);
    return now.getTime() - last >= timeoutSeconds * 1000;
  }
}

function assignmentOf(c: ChatEntity): ChatAssignment {
  return { chatId: c.id, service: c.service, customer: { id: c.customerId, name: c.customerName } };
}
