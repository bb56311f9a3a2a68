import { Injectable } from '@nestjs/common';
import { Brackets, DataSource, EntityManager, WhereExpressionBuilder } from 'typeorm';
import { sqlDate } from '../database/sql';
import { CryptoService } from '../security/crypto.service';
import { ChatEventEntity } from './chat-event.entity';
import { ChatEntity } from './chat.entity';
import { MessageChainVerifier } from './message-chain-verifier';
import { MessageEntity } from './message.entity';
import { ParticipantEntity } from './participant.entity';
import { ChainVerdict, ChatFacts, ChatSpan, MarkerRecord, MessageRecord, ParticipantFacts, RecordingChatFacts } from '../recording/chat-facts.port';

// What other features may know of a chat, as plain data: chats, messages, participants and
// chat_events belong to chat, and this is the only door to them from outside the folder. It
// implements recording's port (RecordingChatFacts) and serves retention directly.

export interface EndedChat {
  id: string;
  companyId: string;
  endedAt: Date;
}

@Injectable()
export class ChatRecords implements RecordingChatFacts {
  constructor(
    private readonly db: DataSource,
    private readonly crypto: CryptoService,
    private readonly chain: MessageChainVerifier,
  ) {}

  async facts(chatId: string): Promise<ChatFacts> {
    const c = await this.db.getRepository(ChatEntity).findOneByOrFail({ id: chatId });
    return {
      id: c.id,
      externalId: c.externalId,
      companyId: c.companyId,
      service: c.service,
      customerId: c.customerId,
      customerName: c.customerName,
      startedAt: c.startedAt,
      endedAt: c.endedAt,
      nextSeq: c.nextSeq,
    };
  }

  // In join order, or as stored.
  async participants(chatId: string, m: EntityManager = this.db.manager, inJoinOrder = true): Promise<ParticipantFacts[]> {
    const rows = await m.getRepository(ParticipantEntity).find({ where: { chatId }, ...(inJoinOrder ? { order: { joinedAt: 'ASC' as const } } : {}) });
    return rows.map((p) => ({ agentId: p.agentId, role: p.role, name: p.name, permitRecordings: p.permitRecordings, joinedAt: p.joinedAt }));
  }

  // The stored bodies (opened) in the spans, after `afterSeq`, at most `limit` of them.
  async messagePage(chatId: string, companyId: string, spans: ChatSpan[], afterSeq: number, limit: number): Promise<MessageRecord[]> {
    if (spans.length === 0) return [];
    const sealed = await this.db
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .where('m.chat_id = :chatId AND m.text IS NOT NULL', { chatId })
      .andWhere(new Brackets((qb) => inSpans(spans, 'm.seq', qb, false)))
      .andWhere('m.seq > :after', { after: afterSeq })
      .orderBy('m.seq', 'ASC')
      .take(limit)
      .getMany();
    const rows = await this.crypto.openBodies(companyId, sealed);
    return rows.map((r) => ({ seq: r.seq, at: r.at, senderRole: r.senderRole, senderId: r.senderId, senderName: r.senderName, text: r.text as string }));
  }

  // The markers in the spans, in chat order.
  async markers(chatId: string, spans: ChatSpan[]): Promise<MarkerRecord[]> {
    if (spans.length === 0) return [];
    const rows = await this.db
      .getRepository(ChatEventEntity)
      .createQueryBuilder('e')
      .where('e.chat_id = :chatId', { chatId })
      .andWhere(new Brackets((qb) => inSpans(spans, 'e.after_seq', qb, true)))
      .orderBy('e.after_seq', 'ASC')
      .addOrderBy('e.at', 'ASC')
      .getMany();
    return rows.map(markerRecord);
  }

  // The chat's consent markers (requests, answers, discards), in chat order, wherever they fall.
  async consentMarkers(chatId: string): Promise<MarkerRecord[]> {
    const rows = await this.db
      .getRepository(ChatEventEntity)
      .createQueryBuilder('e')
      .where("e.chat_id = :chatId AND e.kind = 'consent'", { chatId })
      .orderBy('e.after_seq', 'ASC')
      .addOrderBy('e.at', 'ASC')
      .getMany();
    return rows.map(markerRecord);
  }

  // Every stored message of the chat, page by page: bodies against digests, links in seq order.
  verifyChain(chatId: string, companyId: string, spans: ChatSpan[]): Promise<ChainVerdict> {
    return this.chain.verify(chatId, companyId, spans);
  }

  // Removes the message bodies no kept span covers, inside the caller's transaction.
  async purgeBodiesOutside(m: EntityManager, chatId: string, kept: { startSeq: number; endSeq: number | null }[]): Promise<void> {
    const qb = m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :chatId AND text IS NOT NULL', { chatId });
    kept.forEach((g, i) => {
      qb.andWhere(`NOT (seq >= :s${i} AND seq < :e${i})`, { [`s${i}`]: g.startSeq, [`e${i}`]: g.endSeq });
    });
    await qb.execute();
  }

  // Ended chats not purged yet nor held that ended before `before`, oldest first, after the keyset cursor.
  async endedUnpurged(before: Date, after: { endedAt: Date; id: string } | null, limit: number): Promise<EndedChat[]> {
    const qb = this.db
      .getRepository(ChatEntity)
      .createQueryBuilder('c')
      .select(['c.id', 'c.companyId', 'c.endedAt'])
      .where("c.status = 'ended' AND c.purged_at IS NULL AND c.hold_at IS NULL AND c.ended_at < :h", { h: sqlDate(before) });
    if (after) qb.andWhere('(c.ended_at > :a OR (c.ended_at = :a AND c.id > :id))', { a: sqlDate(after.endedAt), id: after.id });
    const rows = await qb.orderBy('c.ended_at', 'ASC').addOrderBy('c.id', 'ASC').limit(limit).getMany();
    return rows.map((c) => ({ id: c.id, companyId: c.companyId, endedAt: c.endedAt as Date }));
  }

  // Claims the chat's purge (once across instances) and drops its bodies and marker details.
  // A chat under legal hold is never claimed. Returns null when another instance claimed it first
  // (or it is held), else the number of bodies removed.
  async purge(m: EntityManager, chatId: string, now: Date): Promise<number | null> {
    const claimed = await m
      .createQueryBuilder()
      .update(ChatEntity)
      .set({ purgedAt: now })
      .where('id = :id AND purged_at IS NULL AND hold_at IS NULL', { id: chatId })
      .execute();
    if (claimed.affected !== 1) return null;
    const bodies = await m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :id AND text IS NOT NULL', { id: chatId }).execute();
    await m.createQueryBuilder().update(ChatEventEntity).set({ detail: null }).where('chat_id = :id AND detail IS NOT NULL', { id: chatId }).execute();
    return bodies.affected ?? 0;
  }
}

function markerRecord(e: ChatEventEntity): MarkerRecord {
  return { afterSeq: e.afterSeq, at: e.at, kind: e.kind, actorRole: e.actorRole, actorId: e.actorId, actorName: e.actorName, detail: e.detail };
}

function inSpans(spans: ChatSpan[], column: string, qb: WhereExpressionBuilder, withTime: boolean): void {
  // A marker's afterSeq places it after the message it follows; its time keeps out markers written
  // while the recording was not running, at the same place in the chat.
  spans.forEach((g, i) =>
    qb.orWhere(
      withTime ? `(${column} >= :s${i} AND ${column} < :e${i} AND e.at >= :f${i} AND e.at <= :t${i})` : `(${column} >= :s${i} AND ${column} < :e${i})`,
      withTime
        ? { [`s${i}`]: g.startSeq - 1, [`e${i}`]: g.endSeq, [`f${i}`]: sqlDate(g.from), [`t${i}`]: sqlDate(g.to) }
        : { [`s${i}`]: g.startSeq, [`e${i}`]: g.endSeq },
    ),
  );
}
