import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ChatEventEntity } from '../chat/chat-event.entity';
import { ChatEntity } from '../chat/chat.entity';
import { MessageEntity } from '../chat/message.entity';
import { Clock } from '../common/clock';
import { CompanyService } from '../company/company.service';
import { AppConfig } from '../config/app-config';
import { atLeastBefore, sqlDate } from '../database/sql';
import { RecordingEntity } from '../recording/recording.entity';

const DAY_MS = 86_400_000;
const FINAL = ['delivered', 'suppressed'];
// Produced recordings whose delivery still needs the bodies.
const OWED = ['recording', 'paused', 'stopped', 'pending', 'failed'];

// Retention (contract section 6, retentionDays): once every produced recording of a chat has been
// delivered and the company's retention has passed since the chat ended, the chat's message bodies
// and marker details are purged. Each chat is claimed by a conditional update, so several
// instances running this at once purge and audit it once.
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly companies: CompanyService,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.retentionSweepMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(limit = 200): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      return await this.purgeDue(limit);
    } catch (err) {
      this.logger.warn(`retention sweep failed: ${(err as Error).message}`);
      return 0;
    } finally {
      this.running = false;
    }
  }

  // Only chats that are due are read: past their own company's retention, with no produced
  // recording still to be delivered (pending or failed: those bodies stay). Chats that are not due
  // would otherwise fill the batch, sweep after sweep, and keep due ones from ever being purged.
  private async purgeDue(limit: number): Promise<number> {
    const now = this.clock.now();
    const candidates = await this.db
      .getRepository(ChatEntity)
      .createQueryBuilder('c')
      .innerJoin('companies', 'co', 'co.id = c.company_id')
      .select(['c.id', 'c.companyId', 'c.endedAt'])
      // No company keeps less than a day (admin validation): the index narrows to older chats.
      .where("c.status = 'ended' AND c.purged_at IS NULL AND c.ended_at < :h", { h: sqlDate(new Date(now.getTime() - DAY_MS)) })
      .andWhere(atLeastBefore(this.db, 'c.ended_at', 'co.retention_days', 'day', ':now'), { now: sqlDate(now) })
      .andWhere('NOT EXISTS (SELECT 1 FROM recordings r WHERE r.chat_id = c.id AND r.status IN (:...owed))', { owed: OWED })
      .orderBy('c.ended_at', 'ASC')
      .limit(limit)
      .getMany();
    let purged = 0;
    for (const c of candidates) {
      const company = await this.companies.get(c.companyId);
      if (await this.purgeChat(c, company.retentionDays, now)) purged++;
    }
    if (purged > 0) this.logger.log(`retention purged ${purged} chat(s)`);
    return purged;
  }

  private async purgeChat(c: ChatEntity, retentionDays: number, now: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const claimed = await m.createQueryBuilder().update(ChatEntity).set({ purgedAt: now }).where('id = :id AND purged_at IS NULL', { id: c.id }).execute();
      if (claimed.affected !== 1) return false; // another instance did it
      const bodies = await m.createQueryBuilder().update(MessageEntity).set({ text: null }).where('chat_id = :id AND text IS NOT NULL', { id: c.id }).execute();
      await m.createQueryBuilder().update(ChatEventEntity).set({ detail: null }).where('chat_id = :id AND detail IS NOT NULL', { id: c.id }).execute();
      const recs = await m
        .createQueryBuilder()
        .update(RecordingEntity)
        .set({ purged: true, updatedAt: now })
        .where('chat_id = :id AND status IN (:...final)', { id: c.id, final: FINAL })
        .execute();
      await this.audit.record(
        {
          companyId: c.companyId,
          chatId: c.id,
          actorRole: 'system',
          action: 'retention.purged',
          detail: { retentionDays, endedAt: c.endedAt?.toISOString() ?? null, messageBodies: bodies.affected ?? 0, recordings: recs.affected ?? 0 },
        },
        m,
      );
      return true;
    });
  }
}
