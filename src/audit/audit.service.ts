import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { sqlDate } from '../database/sql';
import { deferWrite } from '../database/write-behind';
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

// The detail fields of a chat's entries that copy what an erasure purges (contract section 10).
const ERASED_DETAIL_FIELDS: Record<string, string[]> = {
  'chat.created': ['externalId'],
  'recording.started': ['label'],
  'chat.flagged_abusive': ['reason'],
};

// Append-only trail (an erasure excepted: eraseChat). Callers that change state pass their transaction's manager so that the entry
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
    const at = sqlDate(this.clock.now());
    // Raw SQL: every delivered file adds an entry (in its outcome's batch).
    await deferWrite(
      m,
      `INSERT INTO audit_log (id, company_id, chat_id, at, actor_role, actor_id, action, detail) VALUES ${list.map(() => '(?,?,?,?,?,?,?,?)').join(',')}`,
      list.flatMap((e) => [newId(), e.companyId, e.chatId ?? null, at, e.actorRole, e.actorId ?? null, e.action, e.detail ? JSON.stringify(e.detail) : null]),
    );
  }

  // An erasure (contract section 10) of one chat, in its transaction: the customer's id leaves the
  // entries the customer made, and the copies of what the erasure purges elsewhere (the external
  // id, labels, abuse reasons) leave the entries' details. The entries themselves stay.
  async eraseChat(m: EntityManager, chatId: string): Promise<void> {
    await m
      .createQueryBuilder()
      .update(AuditEntity)
      .set({ actorId: null })
      .where("chat_id = :chatId AND actor_role = 'customer' AND actor_id IS NOT NULL", { chatId })
      .execute();
    const rows = await m
      .getRepository(AuditEntity)
      .createQueryBuilder('a')
      .select(['a.id', 'a.action', 'a.detail'])
      .where('a.chat_id = :chatId AND a.action IN (:...actions) AND a.detail IS NOT NULL', { chatId, actions: Object.keys(ERASED_DETAIL_FIELDS) })
      .getMany();
    for (const r of rows) {
      const detail = JSON.parse(r.detail as string) as Record<string, unknown>;
      const fields = ERASED_DETAIL_FIELDS[r.action].filter((f) => detail[f] !== undefined && detail[f] !== null);
      if (fields.length === 0) continue;
      for (const f of fields) detail[f] = null;
      await m.getRepository(AuditEntity).update({ id: r.id }, { detail: JSON.stringify(detail) });
    }
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
