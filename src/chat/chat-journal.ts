import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditInput, AuditService } from '../audit/audit.service';
import type { Principal } from '../auth/principal';
import { newId } from '../common/ids';
import { Actor, actorOf } from './actor';
import { ChatEntity } from './chat.entity';
import { dateOf, marks, sqlDate } from '../database/sql';
import { deferWrite } from '../database/write-behind';

export interface MarkerInput {
  kind: string;
  detail?: string | null;
}

export interface AuditNote {
  action: string;
  detail?: Record<string, unknown>;
}

// A chat's markers (after its last message: joins, pauses, consent...) and the audit trail's
// entries for the same acts, written in the caller's transaction.
@Injectable()
export class ChatJournal {
  constructor(private readonly audit: AuditService) {}

  // The usual pair: a marker by the principal's actor and its audit entry, in one call.
  async record(m: EntityManager, chat: ChatEntity, now: Date, by: Principal, marker: MarkerInput, audit?: AuditNote): Promise<void> {
    await this.marker(m, chat, marker.kind, actorOf(by), marker.detail ?? null, now);
    if (audit) await this.note(m, chat, { role: by.role, id: by.sub }, audit);
  }

  // Raw SQL: every join, leave, pause, consent and end writes one.
  async marker(m: EntityManager, chat: ChatEntity, kind: string, actor: Actor, detail: string | null, now: Date): Promise<void> {
    await deferWrite(
      m,
      'INSERT INTO chat_events (id, chat_id, after_seq, kind, actor_role, actor_id, actor_name, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        newId(),
        chat.id,
        chat.nextSeq - 1,
        kind,
        actor.role,
        actor.id ?? null,
        actor.name ?? null,
        detail === null ? null : detail.slice(0, 2000),
        sqlDate(now),
      ],
    );
  }

  // An audit entry alone, for acts whose entry must follow other writes, recorded after `before` in
  // the same statement (a chat's end follows its recordings' outcomes).
  async note(m: EntityManager, chat: ChatEntity, by: { role: string; id: string | null }, audit: AuditNote, before: AuditInput[] = []): Promise<void> {
    await this.audit.record(
      [...before, { companyId: chat.companyId, chatId: chat.id, actorRole: by.role, actorId: by.id, action: audit.action, detail: audit.detail }],
      m,
    );
  }
}

// Each chat's latest marker time (a chat without markers is left out), in one read: a chat's state
// change takes a time after it (ChatTransactions), the company switch for every open chat at once.
export async function latestMarkersAt(m: EntityManager, chatIds: string[]): Promise<Map<string, Date>> {
  if (chatIds.length === 0) return new Map();
  const rows = (await m.query(`SELECT chat_id, MAX(at) AS at FROM chat_events WHERE chat_id IN (${marks(chatIds.length)}) GROUP BY chat_id`, chatIds)) as {
    chat_id: string;
    at: Date | string;
  }[];
  return new Map(rows.map((r) => [r.chat_id, dateOf(r.at)]));
}
