import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { TokenService } from '../auth/token.service';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { redactCardData } from '../common/redact-card-data';
import { CompanyService } from '../company/company.service';
import { atLeastBefore, forUpdate, isDuplicateKey, isMysql, sqlDate } from '../database/sql';
import { DeliverySignal } from '../export/delivery-signal';
import { RecordingService } from '../recording/recording.service';
import { CryptoService, EncryptionKeyErasedError, isSealed } from '../security/crypto.service';
import { ChatEventEntity } from './chat-event.entity';
import { ChatNotifier, RecordingState } from './chat-notifier';
import { ChatEntity } from './chat.entity';
import { MessageEntity, SenderRole } from './message.entity';
import { MessageStore, StoredMessage } from './message-store';
import { ParticipantEntity } from './participant.entity';

export interface Actor {
  role: SenderRole | 'system';
  id: string | null;
  name: string | null;
}

export function actorOf(p: Principal): Actor {
  return { role: p.role === 'admin' ? 'flow' : (p.role as SenderRole), id: p.sub, name: p.name ?? null };
}

export interface CreateChatInput {
  externalId?: string;
  service: string;
  customer?: { id?: string; name?: string };
  metadata?: Record<string, unknown>;
}

export interface MessageView {
  chatId: string;
  seq: number;
  from: { role: string; name: string | null };
  text: string;
  at: string;
}

const HISTORY_LIMIT = 2000;

// A chat's life (contract section 2). Every state change runs in one transaction that locks the
// chat row, writes its marker and audit entry, and only then tells the connected clients.
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly companies: CompanyService,
    private readonly tokens: TokenService,
    private readonly messages: MessageStore,
    private readonly recordings: RecordingService,
    private readonly audit: AuditService,
    private readonly notifier: ChatNotifier,
    private readonly delivery: DeliverySignal,
    private readonly crypto: CryptoService,
  ) {}

  async create(p: Principal, raw: CreateChatInput): Promise<{ chatId: string; customerToken: string; created: boolean }> {
    const company = await this.companies.get(p.company);
    // Free text from outside is scrubbed of card data before its first write, like messages.
    const scrub = (t: string) => (company.redactCardData ? redactCardData(t) : t);
    // null in an optional field means "not given".
    const input: CreateChatInput = {
      service: raw.service,
      externalId: raw.externalId ?? undefined,
      customer: raw.customer ? { id: raw.customer.id ?? undefined, name: raw.customer.name == null ? undefined : scrub(raw.customer.name) } : undefined,
      metadata: raw.metadata ? (scrubDeep(raw.metadata, scrub) as Record<string, unknown>) : undefined,
    };
    const repo = this.db.getRepository(ChatEntity);
    if (input.externalId !== undefined) {
      const found = await repo.findOneBy({ companyId: p.company, externalId: input.externalId });
      if (found) return { chatId: found.id, customerToken: this.customerToken(found), created: false };
    }
    const now = this.clock.now();
    const chat = Object.assign(new ChatEntity(), {
      id: newId(),
      companyId: p.company,
      externalId: input.externalId ?? null,
      service: input.service,
      customerId: input.customer?.id ?? null,
      customerName: input.customer?.name ?? null,
      metadata: input.metadata ? JSON.stringify(input.metadata) : null,
      status: 'open' as const,
      assignedAgentId: null,
      nextSeq: 1,
      paused: false,
      recordingOff: false,
      consent: null,
      discarded: false,
      abusive: false,
      deletionRequested: false,
      deletionConfirmed: false,
      startedAt: now,
      endedAt: null,
      endReason: null,
      lastActivityAt: now,
      purgedAt: null,
    });
    try {
      await this.db.transaction(async (m) => {
        // The switch is read under a shared lock in this transaction: an admin's switch either
        // committed before (and is seen here) or waits and then finds this chat among the open ones.
        chat.recordingOff = !(await this.companySwitchForCreate(m, p.company));
        await m.getRepository(ChatEntity).insert(chat);
        await this.audit.record(
          {
            companyId: p.company,
            chatId: chat.id,
            actorRole: p.role,
            actorId: p.sub,
            action: 'chat.created',
            detail: { externalId: chat.externalId, service: chat.service },
          },
          m,
        );
      });
    } catch (err) {
      // Two creations with one externalId raced: the loser returns the winner's chat.
      if (input.externalId !== undefined && isDuplicateKey(err)) {
        const found = await repo.findOneByOrFail({ companyId: p.company, externalId: input.externalId });
        return { chatId: found.id, customerToken: this.customerToken(found), created: false };
      }
      throw err;
    }
    return { chatId: chat.id, customerToken: this.customerToken(chat), created: true };
  }

  private customerToken(chat: ChatEntity): string {
    return this.tokens.signCustomerToken(chat.companyId, chat.id, chat.customerId ?? `customer:${chat.id}`, chat.customerName);
  }

  async find(companyId: string, chatId: string): Promise<ChatEntity> {
    const chat = await this.db.getRepository(ChatEntity).findOneBy({ id: chatId });
    // Another company's chat is indistinguishable from a missing one.
    if (!chat || chat.companyId !== companyId) throw AppException.notFound('chat not found');
    return chat;
  }

  // --- messages --------------------------------------------------------------------------------

  async postMessage(p: Principal, chatId: string, clientMsgId: string | null, text: string, exceptSocketId?: string): Promise<StoredMessage> {
    const company = await this.companies.get(p.company);
    const stored = await this.messages.append({
      chatId,
      companyId: p.company,
      senderRole: actorOf(p).role as SenderRole,
      senderId: p.sub,
      senderName: p.name ?? (p.role === 'flow' ? 'Bot' : null),
      clientMsgId,
      text: company.redactCardData ? redactCardData(text) : text,
    });
    if (!stored.duplicate && stored.text !== null) {
      this.notifier.toChat(chatId, 'message', toView(stored), exceptSocketId);
    }
    return stored;
  }

  async history(companyId: string, chatId: string): Promise<MessageView[]> {
    const sealed = await this.db
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .where('m.chat_id = :chatId AND m.text IS NOT NULL', { chatId })
      .orderBy('m.seq', 'DESC')
      .limit(HISTORY_LIMIT)
      .getMany();
    let rows: MessageEntity[];
    try {
      rows = await this.crypto.openBodies(companyId, sealed);
    } catch (err) {
      // Crypto-shredded bodies are gone for good: the chat can still be joined, without them.
      if (!(err instanceof EncryptionKeyErasedError)) throw err;
      rows = sealed.filter((r) => r.text !== null && !isSealed(r.text));
    }
    return rows
      .reverse()
      .map((r) => ({ chatId: r.chatId, seq: r.seq, from: { role: r.senderRole, name: r.senderName }, text: r.text as string, at: r.at.toISOString() }));
  }

  // --- participation ---------------------------------------------------------------------------

  async assign(p: Principal, chatId: string, agentId: string): Promise<void> {
    const chat = await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      chat.assignedAgentId = agentId;
      await m.getRepository(ChatEntity).update({ id: chat.id }, { assignedAgentId: agentId, lastActivityAt: now });
      await this.marker(m, chat, 'assign', actorOf(p), `assigned to ${agentId}`, now);
      await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.assigned', detail: { agentId } }, m);
      return chat;
    });
    this.notifier.toAgent(chat.companyId, agentId, 'chat.assigned', {
      chatId,
      service: chat.service,
      customer: { id: chat.customerId, name: chat.customerName },
    });
  }

  async join(p: Principal, chatId: string): Promise<{ history: MessageView[]; recordingState: RecordingState }> {
    const state = await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      if (p.role === 'agent' && chat.assignedAgentId !== p.sub) throw AppException.forbidden('chat is not assigned to you');
      const parts = m.getRepository(ParticipantEntity);
      const existing = await parts.findOneBy({ chatId, agentId: p.sub });
      if (existing && existing.leftAt === null) return this.recordings.state(m, chat);
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
      await this.marker(m, chat, 'join', actorOf(p), null, now);
      await this.recordings.startAgentRecording(m, chat, settings, now);
      await this.touch(m, chat.id, now);
      return this.recordings.state(m, chat);
    });
    this.notifier.toChat(chatId, 'recording.state', { chatId, state });
    return { history: await this.history(p.company, chatId), recordingState: state };
  }

  async leave(p: Principal, chatId: string): Promise<void> {
    const state = await this.inChat(p.company, chatId, async (m, chat, now) => {
      const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId: p.sub });
      if (!part) throw AppException.forbidden('you are not in this chat');
      if (part.leftAt !== null) return null; // leaving twice is harmless
      await this.leaveIn(m, chat, p.sub, actorOf(p), now, null);
      return this.recordings.state(m, chat);
    });
    this.notifier.detachAgent(p.company, p.sub, chatId);
    if (state) this.notifier.toChat(chatId, 'recording.state', { chatId, state });
  }

  private async leaveIn(m: EntityManager, chat: ChatEntity, agentId: string, actor: Actor, now: Date, detail: string | null): Promise<void> {
    await m.getRepository(ParticipantEntity).update({ chatId: chat.id, agentId }, { leftAt: now });
    await this.marker(m, chat, 'leave', actor, detail, now);
    if (chat.status === 'open') await this.recordings.stopAgentRecording(m, chat, agentId, now);
  }

  async transfer(p: Principal, chatId: string, toAgentId: string): Promise<void> {
    const { chat, from, state } = await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      if (p.role === 'agent') await this.requireJoined(m, chatId, p.sub);
      const from = chat.assignedAgentId;
      await this.marker(m, chat, 'transfer', actorOf(p), `to ${toAgentId}`, now);
      chat.assignedAgentId = toAgentId;
      await m.getRepository(ChatEntity).update({ id: chatId }, { assignedAgentId: toAgentId, lastActivityAt: now });
      // The transferring agent leaves (when it is an agent taking part; a flow or supervisor
      // transfer moves the assigned agent out).
      const leaving = p.role === 'agent' ? p.sub : from;
      if (leaving && leaving !== toAgentId) {
        const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId: leaving, leftAt: IsNull() });
        if (part) await this.leaveIn(m, chat, leaving, { role: part.role, id: leaving, name: part.name }, now, 'transferred');
      }
      await this.audit.record(
        { companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.transferred', detail: { from, to: toAgentId } },
        m,
      );
      return { chat, from: leaving, state: await this.recordings.state(m, chat) };
    });
    if (from && from !== toAgentId) this.notifier.detachAgent(chat.companyId, from, chatId);
    this.notifier.toAgent(chat.companyId, toAgentId, 'chat.assigned', {
      chatId,
      service: chat.service,
      customer: { id: chat.customerId, name: chat.customerName },
    });
    this.notifier.toChat(chatId, 'recording.state', { chatId, state });
  }

  // --- recording controls --------------------------------------------------------------------

  async setPaused(p: Principal, chatId: string, paused: boolean): Promise<RecordingState> {
    const state = await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      await this.requireJoined(m, chatId, p.sub);
      if (chat.paused !== paused) {
        chat.paused = paused;
        await m.getRepository(ChatEntity).update({ id: chatId }, { paused, lastActivityAt: now });
        await this.recordings.setPaused(m, chatId, paused, now);
        await this.marker(m, chat, paused ? 'pause' : 'resume', actorOf(p), null, now);
        await this.audit.record(
          { companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: paused ? 'recording.paused' : 'recording.resumed' },
          m,
        );
      }
      return this.recordings.state(m, chat);
    });
    this.notifier.toChat(chatId, 'recording.state', { chatId, state });
    return state;
  }

  async startRecording(p: Principal, chatId: string, profile: string, rawLabel: string | null): Promise<string> {
    const label = rawLabel === null ? null : await this.scrub(p.company, rawLabel);
    const { id, state } = await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      const rec = await this.recordings.startFlowRecording(m, chat, profile, label, now);
      await this.marker(m, chat, 'recording_start', actorOf(p), label ? `${profile} (${label})` : profile, now);
      await this.audit.record(
        { companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'recording.started', detail: { recordingId: rec.id, profile, label } },
        m,
      );
      return { id: rec.id, state: await this.recordings.state(m, chat) };
    });
    this.notifier.toChat(chatId, 'recording.state', { chatId, state });
    return id;
  }

  async stopRecording(p: Principal, chatId: string, recordingId: string): Promise<void> {
    const state = await this.inChat(p.company, chatId, async (m, chat, now) => {
      const rec = await this.recordings.flowRecording(m, chatId, recordingId);
      if (!rec || rec.kind !== 'flow') throw AppException.notFound('recording not found');
      if (rec.endSeq !== null) return null; // stopping twice is harmless
      await this.recordings.stop(m, chat, rec, now);
      await this.marker(m, chat, 'recording_stop', actorOf(p), rec.label ? `${rec.profileName} (${rec.label})` : rec.profileName, now);
      await this.audit.record(
        { companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'recording.stopped', detail: { recordingId } },
        m,
      );
      return this.recordings.state(m, chat);
    });
    if (state) this.notifier.toChat(chatId, 'recording.state', { chatId, state });
  }

  async flagAbusive(p: Principal, chatId: string, rawReason: string): Promise<void> {
    const reason = await this.scrub(p.company, rawReason);
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      // An ended chat is a conflict, not an access question: its participants have all left.
      if (chat.status !== 'open' && !chat.abusive) throw AppException.conflict('chat has ended: recording decisions are final');
      if (p.role === 'agent') await this.requireJoined(m, chatId, p.sub);
      await m.getRepository(ChatEntity).update({ id: chatId }, { abusive: true });
      chat.abusive = true;
      await this.marker(m, chat, 'abuse_flag', actorOf(p), reason, now);
      await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.flagged_abusive', detail: { reason } }, m);
    });
  }

  async requestDeletion(p: Principal, chatId: string): Promise<void> {
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      if (!chat.deletionRequested) {
        await m.getRepository(ChatEntity).update({ id: chatId }, { deletionRequested: true });
        await this.marker(m, chat, 'deletion_request', actorOf(p), null, now);
        await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'deletion.requested' }, m);
      }
    });
    this.notifier.toAgents(chatId, 'recording.deleteRequested', { chatId });
  }

  async confirmDeletion(p: Principal, chatId: string): Promise<void> {
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      await this.requireJoined(m, chatId, p.sub);
      if (!chat.deletionRequested) throw AppException.conflict('the customer has not asked for deletion');
      if (!chat.deletionConfirmed) {
        await m.getRepository(ChatEntity).update({ id: chatId }, { deletionConfirmed: true });
        await this.marker(m, chat, 'deletion_confirmed', actorOf(p), null, now);
        await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'deletion.confirmed' }, m);
      }
    });
  }

  async requestConsent(p: Principal, chatId: string, rawPrompt: string): Promise<void> {
    const prompt = await this.scrub(p.company, rawPrompt);
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      await this.marker(m, chat, 'consent', actorOf(p), `requested: ${prompt}`, now);
    });
    this.notifier.toCustomer(chatId, 'consent.request', { prompt });
  }

  async answerConsent(p: Principal, chatId: string, granted: boolean): Promise<void> {
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      const consent = granted ? 'granted' : 'refused';
      await m.getRepository(ChatEntity).update({ id: chatId }, { consent });
      await this.marker(m, chat, 'consent', actorOf(p), consent, now);
      await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'consent.answered', detail: { granted } }, m);
    });
  }

  async discard(p: Principal, chatId: string): Promise<void> {
    await this.inChat(p.company, chatId, async (m, chat, now) => {
      this.requireOpen(chat);
      await m.getRepository(ChatEntity).update({ id: chatId }, { discarded: true });
      await this.marker(m, chat, 'consent', actorOf(p), 'conversation discarded by the flow', now);
      await this.audit.record({ companyId: chat.companyId, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.discarded' }, m);
    });
  }

  // --- the end ---------------------------------------------------------------------------------

  // Answers whether this call ended the chat. `onlyIf` is checked under the chat's lock.
  async end(
    companyId: string,
    chatId: string,
    actor: Actor,
    reason: string,
    onlyIf?: (m: EntityManager, chat: ChatEntity, now: Date) => Promise<boolean>,
  ): Promise<boolean> {
    const ended = await this.inChat(companyId, chatId, async (m, chat, now) => {
      if (chat.status !== 'open') return false; // ending twice is harmless
      if (onlyIf && !(await onlyIf(m, chat, now))) return false;
      const open = await m.getRepository(ParticipantEntity).findBy({ chatId, leftAt: IsNull() });
      for (const part of open) await m.getRepository(ParticipantEntity).update({ chatId, agentId: part.agentId }, { leftAt: now });
      await this.marker(m, chat, 'chat_end', actor, reason, now);
      chat.status = 'ended';
      await m.getRepository(ChatEntity).update({ id: chatId }, { status: 'ended', endedAt: now, endReason: reason, paused: false });
      chat.endedAt = now;
      const result = await this.recordings.finalize(m, chat, now);
      await this.audit.record(
        { companyId, chatId, actorRole: actor.role, actorId: actor.id, action: 'chat.ended', detail: { reason, produced: result.pendingRecordingIds.length } },
        m,
      );
      return true;
    });
    if (!ended) return false;
    this.notifier.toChat(chatId, 'recording.state', { chatId, state: 'off' });
    this.notifier.toChat(chatId, 'chat.ended', { chatId });
    this.delivery.wake();
    return true;
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
        this.logger.warn(`idle end of chat ${c.id} failed: ${(err as Error).message}`);
      }
    }
    return ended;
  }

  // Chats assigned to an agent that it has not joined yet, for an agent that (re)connects.
  async pendingAssignments(
    companyId: string,
    agentId: string,
  ): Promise<{ chatId: string; service: string; customer: { id: string | null; name: string | null } }[]> {
    const chats = await this.db.getRepository(ChatEntity).find({ where: { companyId, assignedAgentId: agentId, status: 'open' }, take: 100 });
    return chats.map((c) => ({ chatId: c.id, service: c.service, customer: { id: c.customerId, name: c.customerName } }));
  }

  async recordingState(companyId: string, chatId: string): Promise<RecordingState> {
    const chat = await this.find(companyId, chatId);
    return this.recordings.state(this.db.manager, chat);
  }

  // --- the company switch ----------------------------------------------------------------------

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
      for (const chat of chats) {
        if (chat.status !== 'open' || chat.recordingOff === !enabled) continue;
        chat.recordingOff = !enabled;
        await m.getRepository(ChatEntity).update({ id: chat.id }, { recordingOff: chat.recordingOff });
        await this.marker(m, chat, enabled ? 'recording_on' : 'recording_off', actor, 'company switch', now);
        states.push({ chatId: chat.id, state: await this.recordings.state(m, chat) });
      }
    }
    return states;
  }

  // After the switch's commit.
  announceRecordingStates(states: { chatId: string; state: RecordingState }[]): void {
    for (const { chatId, state } of states) this.notifier.toChat(chatId, 'recording.state', { chatId, state });
  }

  // The switch as the creating transaction sees it, under a shared lock on the company row.
  private async companySwitchForCreate(m: EntityManager, companyId: string): Promise<boolean> {
    const rows = (await m.query(`SELECT recording_enabled FROM companies WHERE id = ?${isMysql(m) ? ' LOCK IN SHARE MODE' : ''}`, [companyId])) as {
      recording_enabled: number | boolean;
    }[];
    return rows.length === 0 || !!Number(rows[0].recording_enabled);
  }

  // --- helpers ---------------------------------------------------------------------------------

  // Under the chat's lock: its activity as the message store last wrote it, against the company's
  // timeout as committed now (not the settings cache).
  private async isIdle(m: EntityManager, chat: ChatEntity, now: Date): Promise<boolean> {
    const company = await this.companies.current(m, chat.companyId);
    return company !== null && now.getTime() - chat.lastActivityAt.getTime() >= company.idleTimeoutSeconds * 1000;
  }

  // Card data masking (contract section 8) for free text other than messages: reasons, prompts,
  // labels. Messages are masked in postMessage.
  private async scrub(companyId: string, text: string): Promise<string> {
    const company = await this.companies.get(companyId);
    return company.redactCardData ? redactCardData(text) : text;
  }

  private async inChat<T>(companyId: string, chatId: string, fn: (m: EntityManager, chat: ChatEntity, now: Date) => Promise<T>): Promise<T> {
    return this.db.transaction(async (m) => {
      const chat = await forUpdate(m.getRepository(ChatEntity).createQueryBuilder('c').where('c.id = :chatId', { chatId }), m).getOne();
      if (!chat || chat.companyId !== companyId) throw AppException.notFound('chat not found');
      return fn(m, chat, this.clock.now());
    });
  }

  private requireOpen(chat: ChatEntity): void {
    if (chat.status !== 'open') throw AppException.conflict('chat has ended');
  }

  private async requireJoined(m: EntityManager, chatId: string, agentId: string): Promise<void> {
    const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId, leftAt: IsNull() });
    if (!part) throw AppException.forbidden('join the chat first');
  }

  private async touch(m: EntityManager, chatId: string, now: Date): Promise<void> {
    await m.getRepository(ChatEntity).update({ id: chatId }, { lastActivityAt: now });
  }

  private async marker(m: EntityManager, chat: ChatEntity, kind: string, actor: Actor, detail: string | null, now: Date): Promise<void> {
    await m.getRepository(ChatEventEntity).insert({
      id: newId(),
      chatId: chat.id,
      afterSeq: chat.nextSeq - 1,
      kind,
      actorRole: actor.role,
      actorId: actor.id,
      actorName: actor.name,
      detail: detail === null ? null : detail.slice(0, 2000),
      at: now,
    });
  }
}

// Masks every string (and number, which a card number could be sent as) inside a JSON value.
function scrubDeep(v: unknown, scrub: (t: string) => string): unknown {
  if (typeof v === 'string') return scrub(v);
  if (typeof v === 'number' && Number.isInteger(v)) {
    const masked = scrub(String(v));
    return masked === String(v) ? v : masked;
  }
  if (Array.isArray(v)) return v.map((x) => scrubDeep(x, scrub));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubDeep(x, scrub)]));
  return v;
}

export function toView(s: StoredMessage): MessageView {
  return { chatId: s.chatId, seq: s.seq, from: { role: s.senderRole, name: s.senderName }, text: s.text ?? '', at: s.at.toISOString() };
}
