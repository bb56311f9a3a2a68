import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { AppException, isDatabaseUnavailable } from '../common/app.exception';
import { Clock } from '../common/clock';
import { isMysql, sqlDate } from '../database/sql';
import { ChatEntity } from './chat.entity';
import { MessageEntity, SenderRole } from './message.entity';

export interface AppendRequest {
  chatId: string;
  companyId: string;
  senderRole: SenderRole;
  senderId: string;
  senderName: string | null;
  clientMsgId: string | null;
  text: string;
}

export interface StoredMessage {
  chatId: string;
  seq: number;
  at: Date;
  senderRole: SenderRole;
  senderName: string | null;
  // The text as relayed: already redacted; null only for a resend whose body was never stored.
  text: string | null;
  paused: boolean;
  duplicate: boolean;
}

interface Pending {
  req: AppendRequest;
  resolve: (m: StoredMessage) => void;
  reject: (e: unknown) => void;
}

// Group commit: messages from every chat that arrive while a transaction is in flight are written
// together in the next one. Each caller's promise resolves only after its row has committed, so an
// acknowledgement always means "durably stored", while the database sees one commit per batch
// rather than one per message.
@Injectable()
export class MessageStore implements OnModuleDestroy {
  private readonly logger = new Logger(MessageStore.name);
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  // Observability: how many commits carried how many messages.
  readonly stats = { batches: 0, messages: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  append(req: AppendRequest): Promise<StoredMessage> {
    if (this.closed) return Promise.reject(AppException.unavailable('service is shutting down'));
    return new Promise<StoredMessage>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((r) => setTimeout(r, 10));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.config.messageBatchMax);
        await this.commit(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    let results: (StoredMessage | AppException)[];
    try {
      results = await this.db.transaction((m) =>
        this.write(
          m,
          batch.map((p) => p.req),
        ),
      );
    } catch (err) {
      if (batch.length > 1 && !isDatabaseUnavailable(err)) {
        // One bad row must not fail its neighbours: retry each alone.
        for (const p of batch) await this.commit([p]);
        return;
      }
      const unavailable = isDatabaseUnavailable(err);
      if (!unavailable) this.logger.error(`message batch failed: ${(err as Error).message}`);
      else this.logger.warn(`message batch not stored, storage unavailable: ${(err as Error).message}`);
      const e = AppException.unavailable('message not stored, try again');
      for (const p of batch) p.reject(e);
      return;
    }
    this.stats.batches++;
    this.stats.messages += batch.length;
    batch.forEach((p, i) => {
      const r = results[i];
      if (r instanceof AppException) p.reject(r);
      else p.resolve(r);
    });
  }

  private async write(m: EntityManager, reqs: AppendRequest[]): Promise<(StoredMessage | AppException)[]> {
    const chatIds = [...new Set(reqs.map((r) => r.chatId))].sort();
    const qb = m
      .getRepository(ChatEntity)
      .createQueryBuilder('c')
      .select(['c.id', 'c.companyId', 'c.status', 'c.nextSeq', 'c.paused'])
      .where('c.id IN (:...ids)', { ids: chatIds });
    if (isMysql(m)) qb.setLock('pessimistic_write');
    const chats = new Map((await qb.getMany()).map((c) => [c.id, c]));

    const withClientId = reqs.filter((r) => r.clientMsgId !== null);
    const existing = new Map<string, MessageEntity>();
    if (withClientId.length > 0) {
      const rows = await m.getRepository(MessageEntity).find({
        select: { chatId: true, seq: true, senderId: true, clientMsgId: true, senderRole: true, senderName: true, text: true, paused: true, at: true },
        where: { chatId: In(chatIds), clientMsgId: In([...new Set(withClientId.map((r) => r.clientMsgId as string))]) },
      });
      for (const row of rows) existing.set(key(row.chatId, row.senderId, row.clientMsgId as string), row);
    }

    const now = this.clock.now();
    const next = new Map<string, number>();
    const inserts: MessageEntity[] = [];
    const results = reqs.map((r): StoredMessage | AppException => {
      const chat = chats.get(r.chatId);
      if (!chat || chat.companyId !== r.companyId) return AppException.notFound('chat not found');
      if (r.clientMsgId !== null) {
        const prior = existing.get(key(r.chatId, r.senderId, r.clientMsgId));
        if (prior) {
          return {
            chatId: r.chatId,
            seq: prior.seq,
            at: prior.at,
            senderRole: prior.senderRole,
            senderName: prior.senderName,
            text: prior.text,
            paused: prior.paused,
            duplicate: true,
          };
        }
      }
      if (chat.status !== 'open') return AppException.conflict('chat has ended');
      const seq = next.get(r.chatId) ?? chat.nextSeq;
      next.set(r.chatId, seq + 1);
      // While paused the body is relayed but never stored.
      const row = Object.assign(new MessageEntity(), {
        chatId: r.chatId,
        seq,
        clientMsgId: r.clientMsgId,
        senderRole: r.senderRole,
        senderId: r.senderId,
        senderName: r.senderName,
        text: chat.paused ? null : r.text,
        paused: chat.paused,
        at: now,
      });
      inserts.push(row);
      if (r.clientMsgId !== null) existing.set(key(r.chatId, r.senderId, r.clientMsgId), row);
      return { chatId: r.chatId, seq, at: now, senderRole: r.senderRole, senderName: r.senderName, text: r.text, paused: chat.paused, duplicate: false };
    });

    if (inserts.length > 0) {
      await m.createQueryBuilder().insert().into(MessageEntity).values(inserts).updateEntity(false).execute();
      const ids = [...next.keys()];
      const cases = ids.map(() => 'WHEN ? THEN ?').join(' ');
      const params: unknown[] = [];
      for (const id of ids) params.push(id, next.get(id));
      params.push(sqlDate(now), ...ids);
      const q = isMysql(m) ? '`' : '"';
      await m.query(
        `UPDATE ${q}chats${q} SET ${q}next_seq${q} = CASE ${q}id${q} ${cases} END, ${q}last_activity_at${q} = ? WHERE ${q}id${q} IN (${ids.map(() => '?').join(',')})`,
        params,
      );
    }
    return results;
  }
}

function key(chatId: string, senderId: string, clientMsgId: string): string {
  return `${chatId}\u0000${senderId}\u0000${clientMsgId}`;
}
