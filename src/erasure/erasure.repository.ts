import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { isDuplicateKey, sqlDate } from '../database/sql';
import { ErasureChatAction, ErasureChatEntity } from './erasure-chat.entity';
import { ErasureFileAction, ErasureFileEntity } from './erasure-file.entity';
import { ErasureNoticeEntity } from './erasure-notice.entity';
import { ErasureEntity, ErasureStatus, ErasureStep } from './erasure.entity';

export interface NewErasureFile {
  deliveredFileId: string;
  recordingId: string;
  name: string;
  targetFingerprint: string;
  targetLabel: string;
}

// erasures, erasure_chats, erasure_files and erasure_notices: the only code that reads or writes
// them. Everything a run changes is guarded by its lease (owner), so an instance whose lease
// lapsed cannot overwrite the one that took over.
@Injectable()
export class ErasureRepository {
  constructor(private readonly db: DataSource) {}

  async create(m: EntityManager, erasure: ErasureEntity, chatIds: string[]): Promise<void> {
    await m.getRepository(ErasureEntity).insert(erasure);
    if (chatIds.length > 0) {
      await m.getRepository(ErasureChatEntity).insert(chatIds.map((chatId) => ({ erasureId: erasure.id, chatId, action: null, doneAt: null })));
    }
  }

  find(id: string, m: EntityManager = this.db.manager): Promise<ErasureEntity | null> {
    return m.getRepository(ErasureEntity).findOneBy({ id });
  }

  chats(erasureId: string): Promise<ErasureChatEntity[]> {
    return this.db.getRepository(ErasureChatEntity).find({ where: { erasureId }, order: { chatId: 'ASC' } });
  }

  files(erasureId: string): Promise<ErasureFileEntity[]> {
    return this.db.getRepository(ErasureFileEntity).find({ where: { erasureId }, order: { ordinal: 'ASC' } });
  }

  notices(erasureId: string): Promise<ErasureNoticeEntity[]> {
    return this.db.getRepository(ErasureNoticeEntity).find({ where: { erasureId }, order: { targetLabel: 'ASC' } });
  }

  // Running erasures whose lease is free or lapsed.
  async due(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .getRepository(ErasureEntity)
      .createQueryBuilder('e')
      .select(['e.id'])
      .where("e.status = 'running' AND (e.lease_until IS NULL OR e.lease_until < :now)", { now: sqlDate(now) })
      .orderBy('e.requested_at', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => r.id);
  }

  // Takes the erasure for `owner` if it is running and its lease is free or lapsed.
  async claim(id: string, owner: string, now: Date, until: Date): Promise<boolean> {
    const r = await this.db
      .createQueryBuilder()
      .update(ErasureEntity)
      .set({ leaseOwner: owner, leaseUntil: until, updatedAt: now })
      .where("id = :id AND status = 'running' AND (lease_until IS NULL OR lease_until < :now)", { id, now: sqlDate(now) })
      .execute();
    return r.affected === 1;
  }

  // False when the lease is no longer ours.
  async renew(id: string, owner: string, until: Date): Promise<boolean> {
    const r = await this.db.getRepository(ErasureEntity).update({ id, leaseOwner: owner }, { leaseUntil: until });
    return r.affected === 1;
  }

  async release(id: string, owner: string): Promise<void> {
    await this.db.getRepository(ErasureEntity).update({ id, leaseOwner: owner }, { leaseOwner: null, leaseUntil: null });
  }

  async setStep(id: string, owner: string, step: ErasureStep, now: Date): Promise<boolean> {
    const r = await this.db.getRepository(ErasureEntity).update({ id, leaseOwner: owner }, { step, updatedAt: now });
    return r.affected === 1;
  }

  async setChatAction(m: EntityManager, erasureId: string, chatId: string, action: ErasureChatAction, now: Date): Promise<void> {
    await m.getRepository(ErasureChatEntity).update({ erasureId, chatId }, { action, doneAt: now });
  }

  async pendingChats(erasureId: string): Promise<string[]> {
    const rows = await this.db.getRepository(ErasureChatEntity).find({ where: { erasureId, action: IsNull() }, order: { chatId: 'ASC' } });
    return rows.map((r) => r.chatId);
  }

  async erasedChats(erasureId: string): Promise<string[]> {
    const rows = await this.db.getRepository(ErasureChatEntity).find({ where: { erasureId, action: 'erased' } });
    return rows.map((r) => r.chatId);
  }

  // Lists the files to remove and a notice per target they went to; rows already there stay as they
  // are (a run that stopped half-way lists them again).
  async addFiles(erasureId: string, files: NewErasureFile[], now: Date): Promise<void> {
    const known = new Set((await this.files(erasureId)).map((f) => f.deliveredFileId));
    for (const [i, f] of files.entries()) {
      if (known.has(f.deliveredFileId)) continue;
      await ignoreDuplicate(this.db.getRepository(ErasureFileEntity).insert({ erasureId, ...f, ordinal: i, action: null, error: null, updatedAt: now }));
    }
    const targets = new Map(files.map((f) => [f.targetFingerprint, f.targetLabel]));
    const noticed = new Set((await this.notices(erasureId)).map((n) => n.targetFingerprint));
    for (const [targetFingerprint, targetLabel] of targets) {
      if (noticed.has(targetFingerprint)) continue;
      await ignoreDuplicate(
        this.db.getRepository(ErasureNoticeEntity).insert({ erasureId, targetFingerprint, targetLabel, state: 'pending', error: null, updatedAt: now }),
      );
    }
  }

  async setFileResults(erasureId: string, results: { deliveredFileId: string; action: ErasureFileAction; error: string | null }[], now: Date): Promise<void> {
    for (const r of results) {
      await this.db
        .getRepository(ErasureFileEntity)
        .update({ erasureId, deliveredFileId: r.deliveredFileId }, { action: r.action, error: r.error?.slice(0, 1000) ?? null, updatedAt: now });
    }
  }

  async setNotice(erasureId: string, targetFingerprint: string, state: 'delivered' | 'failed', error: string | null, now: Date): Promise<void> {
    await this.db.getRepository(ErasureNoticeEntity).update({ erasureId, targetFingerprint }, { state, error: error?.slice(0, 1000) ?? null, updatedAt: now });
  }

  // In the caller's transaction (with the audit entry); false when the lease is no longer ours.
  async finish(m: EntityManager, id: string, owner: string, status: ErasureStatus, now: Date): Promise<boolean> {
    const r = await m
      .getRepository(ErasureEntity)
      .update({ id, leaseOwner: owner, status: 'running' }, { status, step: 'finished', finishedAt: now, leaseOwner: null, leaseUntil: null, updatedAt: now });
    return r.affected === 1;
  }

  // A partial erasure runs again: its failed removals and every notice (its list changes).
  async reopen(m: EntityManager, id: string, now: Date): Promise<boolean> {
    const r = await m.getRepository(ErasureEntity).update({ id, status: 'partial' }, { status: 'running', step: 'files', finishedAt: null, updatedAt: now });
    if (r.affected !== 1) return false;
    await m.getRepository(ErasureFileEntity).update({ erasureId: id, action: 'failed' }, { action: null, error: null, updatedAt: now });
    await m.getRepository(ErasureNoticeEntity).update({ erasureId: id, state: In(['failed', 'delivered']) }, { state: 'pending', error: null, updatedAt: now });
    return true;
  }
}

async function ignoreDuplicate(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
