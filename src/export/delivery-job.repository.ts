import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { isMysql, marks, sqlDate } from '../database/sql';
import { deferWrite } from '../database/write-behind';
import { DeliveryJobEntity } from './delivery-job.entity';

export interface DeliveryJobView {
  id: string;
  companyId: string;
  state: DeliveryJobEntity['state'];
  attempts: number;
  leaseOwner: string | null;
}

interface JobRow {
  recording_id: string;
  company_id: string;
  state: DeliveryJobEntity['state'];
  attempts: number | string;
  lease_owner: string | null;
}

function jobView(j: JobRow): DeliveryJobView {
  return { id: j.recording_id, companyId: j.company_id, state: j.state, attempts: Number(j.attempts), leaseOwner: j.lease_owner };
}

// delivery_jobs, the outbox: a job per produced recording (keyed by its id), taken under a lease.
@Injectable()
export class DeliveryJobRepository {
  constructor(private readonly db: DataSource) {}

  async enqueue(m: EntityManager, companyId: string, ids: string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    // Raw SQL: every chat's end queues its recordings here.
    const at = sqlDate(now);
    await deferWrite(
      m,
      `INSERT INTO delivery_jobs (recording_id, company_id, state, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, updated_at) VALUES ${ids.map(() => "(?, ?, 'queued', 0, ?, NULL, NULL, NULL, ?, ?)").join(', ')}`,
      ids.flatMap((recordingId) => [recordingId, companyId, at, at, at]),
    );
  }

  // Queues a failed job again from its first attempt.
  async requeue(m: EntityManager, id: string, now: Date): Promise<void> {
    await m
      .getRepository(DeliveryJobEntity)
      .update({ recordingId: id }, { state: 'queued', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseUntil: null, updatedAt: now });
  }

  // Raw SQL: read once per delivered file.
  async find(id: string): Promise<DeliveryJobView | null> {
    const rows = (await this.db.query('SELECT recording_id, company_id, state, attempts, lease_owner FROM delivery_jobs WHERE recording_id = ?', [
      id,
    ])) as JobRow[];
    return rows.length > 0 ? jobView(rows[0]) : null;
  }

  // One transaction claims a batch: rows locked by another instance's claim are skipped (SKIP
  // LOCKED on MySQL/MariaDB; SQLite has a single writer), and the conditional update makes a job
  // ours only if its lease was free.
  // Answers the jobs claimed as they are now (queued, ours).
  async claim(owner: string, limit: number, now: Date, leaseMs: number): Promise<DeliveryJobView[]> {
    const nowSql = sqlDate(now);
    const leaseUntil = sqlDate(new Date(now.getTime() + leaseMs));
    const mysql = isMysql(this.db);
    return this.db.transaction(async (m) => {
      const due = (await m.query(
        `SELECT recording_id FROM delivery_jobs WHERE state = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ${Math.floor(limit)}${mysql ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [nowSql, nowSql],
      )) as { recording_id: string }[];
      if (due.length === 0) return [];
      const ids = due.map((d) => d.recording_id);
      // Queued to go with the read below, which answers what this owner now holds.
      await deferWrite(
        m,
        `UPDATE delivery_jobs SET lease_owner = ?, lease_until = ?, updated_at = ? WHERE recording_id IN (${marks(ids.length)}) AND state = 'queued' AND (lease_until IS NULL OR lease_until < ?)`,
        [owner, leaseUntil, nowSql, ...ids, nowSql],
      );
      const mine = (await m.query(
        `SELECT recording_id, company_id, state, attempts, lease_owner FROM delivery_jobs WHERE recording_id IN (${marks(ids.length)}) AND lease_owner = ? AND lease_until = ?`,
        [...ids, owner, leaseUntil],
      )) as JobRow[];
      return mine.map(jobView);
    });
  }

  async renewLeases(owner: string, ids: string[], until: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .createQueryBuilder()
      .update(DeliveryJobEntity)
      .set({ leaseUntil: until })
      .where('recording_id IN (:...ids) AND lease_owner = :me', { ids, me: owner })
      .execute();
  }

  // Hands leases back (an instance that stops): the jobs of `ids` this owner holds and that are
  // still queued become claimable at once by another instance, not when the lease would lapse.
  // Returns how many were handed back.
  async release(owner: string, ids: string[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db
      .createQueryBuilder()
      .update(DeliveryJobEntity)
      .set({ leaseOwner: null, leaseUntil: null, updatedAt: now })
      .where("recording_id IN (:...ids) AND lease_owner = :me AND state = 'queued'", { ids, me: owner })
      .execute();
    return r.affected ?? 0;
  }

  // Marks done the jobs of `ids` this owner still holds (a worker whose lease lapsed leaves them
  // alone); returns those ids.
  async complete(m: EntityManager, owner: string, ids: string[], now: Date): Promise<string[]> {
    const owned = (await m.query(
      `SELECT recording_id FROM delivery_jobs WHERE recording_id IN (${marks(ids.length)}) AND lease_owner = ?${isMysql(m) ? ' FOR UPDATE' : ''}`,
      [...ids, owner],
    )) as { recording_id: string }[];
    const mine = owned.map((o) => o.recording_id);
    if (mine.length === 0) return [];
    await deferWrite(
      m,
      `UPDATE delivery_jobs SET state = 'done', attempts = attempts + 1, lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = ? WHERE recording_id IN (${marks(mine.length)})`,
      [sqlDate(now), ...mine],
    );
    return mine;
  }

  // Records a failed attempt if this owner still holds the job; false when it does not.
  async fail(
    m: EntityManager,
    owner: string,
    id: string,
    f: { giveUp: boolean; attempts: number; nextAttemptAt: Date; lastError: string; now: Date },
  ): Promise<boolean> {
    const r = await m.getRepository(DeliveryJobEntity).update(
      { recordingId: id, leaseOwner: owner },
      {
        state: f.giveUp ? 'failed' : 'queued',
        attempts: f.attempts,
        nextAttemptAt: f.nextAttemptAt,
        leaseOwner: null,
        leaseUntil: null,
        lastError: f.lastError,
        updatedAt: f.now,
      },
    );
    return r.affected === 1;
  }

  // Withdraws the jobs of `ids` that no worker holds (queued with a free or lapsed lease, or
  // failed) in the caller's transaction; a held job is left to finish. Returns each job's state
  // afterwards ('queued' = held by a worker now; absent = no job).
  async cancel(m: EntityManager, ids: string[], now: Date): Promise<Map<string, DeliveryJobEntity['state']>> {
    if (ids.length === 0) return new Map();
    const nowSql = sqlDate(now);
    await m.query(
      `UPDATE delivery_jobs SET state = 'canceled', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE recording_id IN (${marks(ids.length)}) AND (state = 'failed' OR (state = 'queued' AND (lease_until IS NULL OR lease_until < ?)))`,
      [nowSql, ...ids, nowSql],
    );
    const rows = (await m.query(`SELECT recording_id, state FROM delivery_jobs WHERE recording_id IN (${marks(ids.length)})`, ids)) as {
      recording_id: string;
      state: DeliveryJobEntity['state'];
    }[];
    return new Map(rows.map((r) => [r.recording_id, r.state]));
  }

  // For the metrics: jobs per state.
  async countByState(): Promise<{ state: string; n: number }[]> {
    const rows = (await this.db.query('SELECT state, COUNT(*) AS n FROM delivery_jobs GROUP BY state')) as { state: string; n: number | string }[];
    return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
  }
}
