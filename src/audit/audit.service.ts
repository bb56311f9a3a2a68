import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { sqlDate } from '../database/sql';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { AuditEntity } from './audit.entity';

export interface AuditQuery {
  companyId: string;
  chatId?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

export interface AuditInput {
  companyId: string;
  chatId?: string | null;
  actorRole: string;
  actorId?: string | null;
  action: string;
  detail?: Record<string, unknown>;
}

// Append-only trail. Callers that change state pass their transaction's manager so that the entry
// and the change commit together.
@Injectable()
export class AuditService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  async record(entries: AuditInput | AuditInput[], m: EntityManager = this.db.manager): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries];
    if (list.length === 0) return;
    const at = this.clock.now();
    await m
      .createQueryBuilder()
      .insert()
      .into(AuditEntity)
      .values(
        list.map((e) => ({
          id: newId(),
          companyId: e.companyId,
          chatId: e.chatId ?? null,
          at,
          actorRole: e.actorRole,
          actorId: e.actorId ?? null,
          action: e.action,
          detail: e.detail ? JSON.stringify(e.detail) : null,
        })),
      )
      .execute();
  }

  // A company's trail, oldest first, as plain data.
  async list(q: AuditQuery) {
    const qb = this.db.getRepository(AuditEntity).createQueryBuilder('a').where('a.company_id = :c', { c: q.companyId });
    if (q.chatId) qb.andWhere('a.chat_id = :chat', { chat: q.chatId });
    if (q.from) qb.andWhere('a.at >= :from', { from: sqlDate(q.from) });
    if (q.to) qb.andWhere('a.at <= :to', { to: sqlDate(q.to) });
    const rows = await qb.orderBy('a.at', 'ASC').addOrderBy('a.id', 'ASC').limit(q.limit).getMany();
    return rows.map((a) => ({
      id: a.id,
      at: a.at.toISOString(),
      chatId: a.chatId,
      actor: { role: a.actorRole, id: a.actorId },
      action: a.action,
      detail: a.detail ? (JSON.parse(a.detail) as unknown) : null,
    }));
  }
}
