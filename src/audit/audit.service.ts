import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { AuditEntity } from './audit.entity';

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
}
