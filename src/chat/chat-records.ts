import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, EntityNotFoundError } from 'typeorm';
import { boolOf, dateOf, dateOrNull, marks, sqlDate } from '../database/sql';
import { deferWrite } from '../database/write-behind';
import { CryptoService } from '../security/crypto.service';
import { ChatEventEntity } from './chat-event.entity';
import { ChatEntity } from './chat.entity';
import { MessageChainVerifier } from './message-chain-verifier';
import { MessageEntity, SenderRole } from './message.entity';
import {
  ChainReadAhead,
  ChainVerdict,
  ChatFacts,
  ChatSpan,
  consentMarkersOf,
  KeptSpan,
  MarkerRecord,
  markersWithin,
  MessageRecord,
  ParticipantFacts,
  RecordingChatFacts,
  spansCoverAll,
} from '../recording/chat-facts.port';

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

  // Raw SQL, as the reads below: they run for every delivered recording. The chat row and its
  // participants (in join order) come in one statement.
  async factsWithParticipants(chatId: string): Promise<{ chat: ChatFacts; participants: ParticipantFacts[] }> {
    const found = (await this.factsWithParticipantsOf([chatId])).get(chatId);
    if (!found) throw new EntityNotFoundError(ChatEntity, { id: chatId });
    return found;
  }

  async factsWithParticipantsOf(chatIds: string[]): Promise<Map<string, { chat: ChatFacts; participants: ParticipantFacts[] }>> {
    const out = new Map<string, { chat: ChatFacts; participants: ParticipantFacts[] }>();
    if (chatIds.length === 0) return out;
    const rows = (await this.db.query(
      `SELECT c.id, c.external_id, c.company_id, c.service, c.customer_id, c.customer_name, c.started_at, c.ended_at, c.next_seq, c.status, c.chain_head,
        p.agent_id AS p_agent_id, p.role AS p_role, p.name AS p_name, p.permit_recordings AS p_permit_recordings, p.joined_at AS p_joined_at
        FROM chats c LEFT JOIN participants p ON p.chat_id = c.id WHERE c.id IN (${marks(chatIds.length)}) ORDER BY c.id ASC, p.joined_at ASC`,
      chatIds,
    )) as (ChatRow & {
      p_agent_id: string | null;
      p_role: ParticipantFacts['role'];
      p_name: string | null;
      p_permit_recordings: number | string | boolean;
      p_joined_at: Date | string;
    })[];
    for (const r of rows) {
      let found = out.get(r.id);
      if (!found) out.set(r.id, (found = { chat: chatFactsOf(r), participants: [] }));
      if (r.p_agent_id !== null) {
        found.participants.push(
          participantOf({ agent_id: r.p_agent_id, role: r.p_role, name: r.p_name, permit_recordings: r.p_permit_recordings, joined_at: r.p_joined_at }),
        );
      }
    }
    return out;
  }

  // In join order, or as stored.
  async participants(chatId: string, m: EntityManager = this.db.manager, inJoinOrder = true): Promise<ParticipantFacts[]> {
    const rows = (await m.query(
      `SELECT agent_id, role, name, permit_recordings, joined_at FROM participants WHERE chat_id = ?${inJoinOrder ? ' ORDER BY joined_at ASC' : ''}`,
      [chatId],
    )) as ParticipantRow[];
    return rows.map(participantOf);
  }

  // The stored bodies (opened) in the spans, after `afterSeq`, at most `limit` of them.
  async messagePage(chatId: string, companyId: string, spans: ChatSpan[], afterSeq: number, limit: number): Promise<MessageRecord[]> {
    if (spans.length === 0) return [];
    const within = inSpans(spans);
    const rows = (await this.db.query(
      `SELECT seq, at, sender_role, sender_id, sender_name, text FROM messages WHERE chat_id = ? AND text IS NOT NULL AND (${within.sql}) AND seq > ? ORDER BY seq ASC LIMIT ${Math.floor(limit)}`,
      [chatId, ...within.params, afterSeq],
    )) as { seq: number | string; at: Date | string; sender_role: SenderRole; sender_id: string; sender_name: string | null; text: string }[];
    const sealed = rows.map((r) => ({ chatId, seq: Number(r.seq), text: r.text as string | null, r }));
    const opened = await this.crypto.openBodies(companyId, sealed);
    return opened.map(({ seq, text, r }) => ({
      seq,
      at: dateOf(r.at),
      senderRole: r.sender_role,
      senderId: r.sender_id,
      senderName: r.sender_name,
      text: text as string,
    }));
  }

  // The markers in the spans, in chat order.
  async markers(chatId: string, spans: ChatSpan[]): Promise<MarkerRecord[]> {
    if (spans.length === 0) return [];
    return markersWithin((await this.markersOfChats([chatId])).get(chatId) ?? [], spans);
  }

  // The chat's consent markers (requests, answers, discards), in chat order, wherever they fall.
  async consentMarkers(chatId: string): Promise<MarkerRecord[]> {
    return consentMarkersOf((await this.markersOfChats([chatId])).get(chatId) ?? []);
  }

  async markersOfChats(chatIds: string[]): Promise<Map<string, MarkerRecord[]>> {
    const out = new Map<string, MarkerRecord[]>(chatIds.map((id) => [id, []]));
    if (chatIds.length === 0) return out;
    const rows = (await this.db.query(
      `SELECT chat_id, after_seq, at, kind, actor_role, actor_id, actor_name, detail FROM chat_events WHERE chat_id IN (${marks(chatIds.length)}) ORDER BY chat_id ASC, after_seq ASC, at ASC`,
      chatIds,
    )) as {
      chat_id: string;
      after_seq: number | string;
      at: Date | string;
      kind: string;
      actor_role: string;
      actor_id: string | null;
      actor_name: string | null;
      detail: string | null;
    }[];
    for (const e of rows) {
      out.get(e.chat_id)?.push({
        afterSeq: Number(e.after_seq),
        at: dateOf(e.at),
        kind: e.kind,
        actorRole: e.actor_role,
        actorId: e.actor_id,
        actorName: e.actor_name,
        detail: e.detail,
      });
    }
    return out;
  }

  // Every stored message of the chat, page by page: bodies against digests, links in seq order.
  verifyChain(chat: ChatFacts, companyId: string, spans: ChatSpan[], keepChars = 0, ahead?: ChainReadAhead): Promise<ChainVerdict> {
    return this.chain.verifyFrom(chat, companyId, spans, keepChars, ahead);
  }

  checkedMessages(chat: ChatFacts, companyId: string, spans: ChatSpan[], ahead?: ChainReadAhead): AsyncGenerator<MessageRecord[], ChainVerdict> {
    return this.chain.checkedMessages(chat, companyId, spans, ahead);
  }

  chainReadAheadOf(chats: ChatFacts[], rowBudget: number): Promise<Map<string, ChainReadAhead>> {
    return this.chain.readAhead(chats, rowBudget);
  }

  // Removes the message bodies no kept span covers, inside the caller's transaction, which holds the
  // chat row's lock: every message of the chat has a seq below `chat.nextSeq` (the store writes
  // both under that lock), so spans covering 1 .. nextSeq - 1 leave nothing to remove and no
  // statement is sent (the usual end: one recording from the first message to the last).
  async purgeBodiesOutside(m: EntityManager, chat: { id: string; nextSeq: number }, kept: KeptSpan[]): Promise<void> {
    if (spansCoverAll(kept, chat.nextSeq)) return;
    // Raw SQL (every chat's end), queued to go with the end's next statement. A span still open
    // (endSeq null) keeps every row from its start: `seq < NULL` is unknown, and so is the NOT
    // around it.
    const outside = kept.map(() => ' AND NOT (seq >= ? AND seq < ?)').join('');
    await deferWrite(m, `UPDATE messages SET text = NULL WHERE chat_id = ? AND text IS NOT NULL${outside}`, [
      chat.id,
      ...kept.flatMap((g) => [g.startSeq, g.endSeq]),
    ]);
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

interface ChatRow {
  id: string;
  external_id: string | null;
  company_id: string;
  service: string;
  customer_id: string | null;
  customer_name: string | null;
  started_at: Date | string;
  ended_at: Date | string | null;
  next_seq: number | string;
  status: string;
  chain_head: string | null;
}

function chatFactsOf(c: ChatRow): ChatFacts {
  return {
    id: c.id,
    externalId: c.external_id,
    companyId: c.company_id,
    service: c.service,
    customerId: c.customer_id,
    customerName: c.customer_name,
    startedAt: dateOf(c.started_at),
    endedAt: dateOrNull(c.ended_at),
    nextSeq: Number(c.next_seq),
    status: c.status,
    chainHead: c.chain_head,
  };
}

interface ParticipantRow {
  agent_id: string;
  role: ParticipantFacts['role'];
  name: string | null;
  permit_recordings: number | string | boolean;
  joined_at: Date | string;
}

function participantOf(p: ParticipantRow): ParticipantFacts {
  return { agentId: p.agent_id, role: p.role, name: p.name, permitRecordings: boolOf(p.permit_recordings), joinedAt: dateOf(p.joined_at) };
}

// A condition on seq (messages) or after_seq and time (markers) true within any of the spans.
// Messages in the spans (markers: markersWithin).
function inSpans(spans: ChatSpan[]): { sql: string; params: unknown[] } {
  const sql = spans.map(() => '(seq >= ? AND seq < ?)').join(' OR ');
  const params = spans.flatMap((g) => [g.startSeq, g.endSeq]);
  return { sql, params };
}
