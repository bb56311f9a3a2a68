import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { forUpdate } from '../database/sql';
import { RecordingErasureService } from '../recording/recording-erasure.service';
import { ChatEventEntity } from './chat-event.entity';
import { ChatEntity } from './chat.entity';
import { relinkChat } from './message-chain-relink';
import { MessageEntity } from './message.entity';

export type ChatErasureOutcome = 'erased' | 'held' | 'busy';

// The sender id customer messages keep after an erasure (the column is part of a unique key).
export const ERASED_SENDER_ID = 'erased';

// What an erasure (contract section 10) does to a chat's own tables: message bodies, the
// customer's name and id (on the chat, its messages and its markers), the chat's metadata and
// external id, and the markers' details are purged; a held chat is left untouched.
@Injectable()
export class ChatErasureService {
  private readonly logger = new Logger(ChatErasureService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly recordings: RecordingErasureService,
    private readonly audit: AuditService,
  ) {}

  // The company's chats with this customer id.
  async chatIdsOfCustomer(companyId: string, customerId: string): Promise<string[]> {
    const rows = await this.db.getRepository(ChatEntity).find({ select: { id: true }, where: { companyId, customerId }, order: { startedAt: 'ASC' } });
    return rows.map((r) => r.id);
  }

  async isCompanyChat(companyId: string, chatId: string): Promise<boolean> {
    return (await this.db.getRepository(ChatEntity).countBy({ id: chatId, companyId })) === 1;
  }

  // One transaction, the chat row locked (so no hold, message or end slips in between): held ->
  // untouched; else purged, and its recordings settled. `record` writes the caller's bookkeeping
  // in the same transaction, unless the outcome is `busy` (a recording's delivery is under way:
  // the purge is done, the caller comes back for the rest). Running it again is harmless.
  async erase(chatId: string, erasureId: string, record: (m: EntityManager, outcome: 'erased' | 'held') => Promise<void>): Promise<ChatErasureOutcome> {
    const now = this.clock.now();
    return this.db.transaction(async (m) => {
      const chat = await forUpdate(m.getRepository(ChatEntity).createQueryBuilder('c').where('c.id = :chatId', { chatId }), m).getOne();
      // Chats are never deleted; should one be missing, there is nothing left of it to purge.
      if (!chat) {
        await record(m, 'erased');
        return 'erased';
      }
      if (chat.holdAt) {
        await record(m, 'held');
        return 'held';
      }
      await this.purge(m, chatId);
      const { busy } = await this.recordings.eraseChat(m, chat, erasureId, now);
      if (busy.length > 0) return 'busy';
      await record(m, 'erased');
      return 'erased';
    });
  }

  private async purge(m: EntityManager, chatId: string): Promise<void> {
    // The customer's id is part of each link: the chain is linked again over the erased ids, so
    // that it still verifies (docs/erasure.md). A chain found broken is left as it is.
    const relinked = await relinkChat(m, chatId, (r) => (r.senderRole === 'customer' ? ERASED_SENDER_ID : r.senderId));
    if (!relinked.relinked) this.logger.warn(`chat ${chatId}: message chain broken at seq ${relinked.seq} (${relinked.problem}); erased without relinking it`);
    await m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :chatId AND text IS NOT NULL', { chatId }).execute();
    await m
      .createQueryBuilder()
      .update(MessageEntity)
      .set({ senderId: ERASED_SENDER_ID, senderName: null })
      .where("chat_id = :chatId AND sender_role = 'customer'", { chatId })
      .execute();
    await m.createQueryBuilder().update(ChatEventEntity).set({ detail: null }).where('chat_id = :chatId', { chatId }).execute();
    await m
      .createQueryBuilder()
      .update(ChatEventEntity)
      .set({ actorId: null, actorName: null })
      .where("chat_id = :chatId AND actor_role = 'customer'", { chatId })
      .execute();
    await m.getRepository(ChatEntity).update({ id: chatId }, { customerId: null, customerName: null, metadata: null, externalId: null });
    await this.audit.eraseChat(m, chatId);
  }
}
