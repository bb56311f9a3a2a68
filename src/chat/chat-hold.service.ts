import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { redactCardData } from '../common/redact-card-data';
import { forUpdate } from '../database/sql';
import { ChatEntity } from './chat.entity';

export interface HoldView {
  reason: string;
  at: string;
  by: string;
}

export function holdView(c: Pick<ChatEntity, 'holdReason' | 'holdAt' | 'holdBy'>): HoldView | null {
  return c.holdAt ? { reason: c.holdReason ?? '', at: c.holdAt.toISOString(), by: c.holdBy ?? '' } : null;
}

// Legal hold (contract section 10): while a chat is held, retention does not purge it and erasure
// skips it. Placing and releasing are audited; another company's chat is a missing one.
@Injectable()
export class ChatHoldService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async place(p: Principal, chatId: string, rawReason: string): Promise<{ chatId: string; hold: HoldView | null }> {
    const now = this.clock.now();
    // Free text like any other: card numbers are masked before it is written (contract section 8).
    const reason = redactCardData(rawReason.trim());
    return this.db.transaction(async (m) => {
      const chat = await forUpdate(m.getRepository(ChatEntity).createQueryBuilder('c').where('c.id = :chatId', { chatId }), m).getOne();
      if (!chat || chat.companyId !== p.company) throw AppException.notFound('chat not found');
      const fields = { holdReason: reason, holdAt: now, holdBy: p.sub };
      await m.getRepository(ChatEntity).update({ id: chatId }, fields);
      await this.audit.record({ companyId: p.company, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.hold_placed', detail: { reason } }, m);
      return { chatId, hold: holdView(fields) };
    });
  }

  // Releasing a chat that is not held changes nothing (and is not audited).
  async release(p: Principal, chatId: string): Promise<{ chatId: string; hold: null }> {
    await this.db.transaction(async (m) => {
      const chat = await forUpdate(m.getRepository(ChatEntity).createQueryBuilder('c').where('c.id = :chatId', { chatId }), m).getOne();
      if (!chat || chat.companyId !== p.company) throw AppException.notFound('chat not found');
      if (!chat.holdAt) return;
      await m.getRepository(ChatEntity).update({ id: chatId }, { holdReason: null, holdAt: null, holdBy: null });
      await this.audit.record(
        { companyId: p.company, chatId, actorRole: p.role, actorId: p.sub, action: 'chat.hold_released', detail: { reason: chat.holdReason } },
        m,
      );
    });
    return { chatId, hold: null };
  }
}
