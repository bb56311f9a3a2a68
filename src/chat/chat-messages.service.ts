import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { containsCardNumber, redactCardData } from '../common/redact-card-data';
import { CompanyService } from '../company/company.service';
import { CryptoService, EncryptionKeyErasedError, isSealed } from '../security/crypto.service';
import { actorOf } from './actor';
import { ChatEventBus } from './chat-events';
import type { MessageView } from './message-view';
import { MessageEntity, SenderRole } from './message.entity';
import { AppendRequest, MessageStore, StoredMessage } from './message-store';
import { isoTime } from '../common/clock';

export type { MessageView } from './message-view';

const HISTORY_LIMIT = 2000;

// A chat's messages: posting one (masked, stored, then told to the others) and reading them back.
@Injectable()
export class ChatMessagesService {
  constructor(
    private readonly db: DataSource,
    private readonly companies: CompanyService,
    private readonly messages: MessageStore,
    private readonly crypto: CryptoService,
    private readonly events: ChatEventBus,
  ) {}

  async postMessage(p: Principal, chatId: string, clientMsgId: string | null, received: string, exceptSocketId?: string): Promise<StoredMessage> {
    const company = await this.companies.get(p.company);
    // A lone surrogate cannot be stored as UTF-8: each database would write something else in its
    // place, and the body's digest (taken from this string) would then not match the stored body,
    // failing every recording of the chat for integrity. It becomes U+FFFD here, before the digest,
    // so that the ack, the relay, the stored row and the files all hold the same text.
    const text = received.isWellFormed() ? received : received.toWellFormed();
    // The store commits the message before it returns: the event follows the commit.
    const stored = await this.messages.append(requestOf(p, chatId, this.storedId(clientMsgId), company.redactCardData ? redactCardData(text) : text));
    if (!stored.duplicate && stored.text !== null) {
      this.events.emit('chat.message', { view: toView(stored), exceptSocketId });
    }
    return stored;
  }

  // A message refused for its sender's state (an agent that left or was transferred away) is still
  // answered with its seq when it is a resend of one stored before: the client resends because the
  // first ack was lost, and the message is stored. Anything else gets `refusal`; nothing is stored
  // or relayed (so its text is neither masked nor made well-formed: it is never written).
  answerResend(p: Principal, chatId: string, clientMsgId: string, text: string, refusal: AppException): Promise<StoredMessage> {
    return this.messages.answerResend(requestOf(p, chatId, this.storedId(clientMsgId), text), refusal);
  }

  // A client's id for its message is stored as it is, unless it holds a card number (contract
  // section 8: never written): a widget numbering its messages by the millisecond clock sends 13
  // digits that pass the Luhn check one time in ten. Such an id is stored as a keyed digest, the
  // same for every resend of it, so the message is still stored once.
  private storedId(clientMsgId: string | null): string | null {
    return clientMsgId !== null && containsCardNumber(clientMsgId) ? this.crypto.identifierDigest(clientMsgId) : clientMsgId;
  }

  // Under the chat's lock: the time of its last stored message (see MessageStore.lastMessageAt).
  lastMessageAt(m: EntityManager, chatId: string): Promise<Date | null> {
    return this.messages.lastMessageAt(m, chatId);
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
}

export function toView(s: StoredMessage): MessageView {
  return { chatId: s.chatId, seq: s.seq, from: { role: s.senderRole, name: s.senderName }, text: s.text ?? '', at: isoTime(s.at) };
}

// The store's request for a message of `p`, its text already masked as the company asks.
function requestOf(p: Principal, chatId: string, clientMsgId: string | null, text: string): AppendRequest {
  return {
    chatId,
    companyId: p.company,
    senderRole: actorOf(p).role as SenderRole,
    senderId: p.sub,
    senderName: p.name ?? (p.role === 'flow' ? 'Bot' : null),
    clientMsgId,
    text,
  };
}
