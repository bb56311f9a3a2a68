import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ChatRecords, EndedChat } from '../chat/chat-records';
import { Clock } from '../common/clock';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { CompanyDirectory } from '../company/company-directory';
import { AppConfig } from '../config/app-config';
import { RecordingService } from '../recording/recording.service';

const DAY_MS = 86_400_000;
const FINAL = ['delivered', 'suppressed'];
// Produced recordings whose delivery still needs the bodies.
const OWED = ['recording', 'paused', 'stopped', 'pending', 'failed'];
// Pages of ended chats read per sweep at most.
const MAX_PAGES = 50;

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
    private readonly companies: CompanyDirectory,
    private readonly chats: ChatRecords,
    private readonly recordings: RecordingService,
    private readonly audit: AuditService,
    shutdown: GracefulShutdown,
  ) {
    // At a stop: no new sweep; one under way finishes (each chat's purge is its own transaction).
    shutdown.register({ step: 'intake', name: 'retention sweeps', run: () => this.onModuleDestroy() });
    shutdown.register({ step: 'work', name: 'retention sweep in progress', run: (until) => waitUntil(() => !this.running, until) });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.retentionSweepMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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

  // Only chats that are due count: past their own company's retention, with no produced recording
  // still to be delivered (pending or failed: those bodies stay). Ended chats are read oldest
  // first, page after page (bounded), so that chats not due never fill the batch sweep after sweep
  // and keep due ones from ever being purged.
  private async purgeDue(limit: number): Promise<number> {
    const now = this.clock.now();
    const due: { chat: EndedChat; retentionDays: number }[] = [];
    let after: EndedChat | null = null;
    // No company keeps less than a day (admin validation): the index narrows to older chats.
    const before = new Date(now.getTime() - DAY_MS);
    for (let page = 0; page < MAX_PAGES && due.length < limit; page++) {
      const ended = await this.chats.endedUnpurged(before, after, limit);
      if (ended.length === 0) break;
      after = ended[ended.length - 1];
      const retention = await this.companies.retentionDays([...new Set(ended.map((c) => c.companyId))]);
      const daysOf = (c: EndedChat) => retention.get(c.companyId);
      const past = ended.filter((c) => daysOf(c) !== undefined && c.endedAt.getTime() <= now.getTime() - (daysOf(c) as number) * DAY_MS);
      const owing = await this.recordings.chatsOwingBodies(
        past.map((c) => c.id),
        OWED,
      );
      for (const c of past) if (!owing.has(c.id) && due.length < limit) due.push({ chat: c, retentionDays: daysOf(c) as number });
      if (ended.length < limit) break;
    }
    let purged = 0;
    for (const { chat, retentionDays } of due) {
      if (await this.purgeChat(chat, retentionDays, now)) purged++;
    }
    if (purged > 0) this.logger.log(`retention purged ${purged} chat(s)`);
    return purged;
  }

  private async purgeChat(c: EndedChat, retentionDays: number, now: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const bodies = await this.chats.purge(m, c.id, now);
      if (bodies === null) return false; // another instance did it
      const recordings = await this.recordings.markPurged(m, c.id, FINAL, now);
      await this.audit.record(
        {
          companyId: c.companyId,
          chatId: c.id,
          actorRole: 'system',
          action: 'retention.purged',
          detail: { retentionDays, endedAt: c.endedAt.toISOString(), messageBodies: bodies, recordings },
        },
        m,
      );
      return true;
    });
  }
}
