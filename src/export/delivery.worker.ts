import { createHash, randomInt } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { isDuplicateKey, isMysql, sqlDate } from '../database/sql';
import { RecordingEntity } from '../recording/recording.entity';
import { FilenameTemplateError, sidecarFilename, suffixedFilename, TranscriptFormat } from '../transcript/filename-template';
import { TranscriptService } from '../transcript/transcript.service';
import { DeliveryJobEntity } from './delivery-job.entity';
import { DeliverySignal } from './delivery-signal';
import { ExportTargetService } from './export-target.service';
import { HostKeyMismatchError } from './sftp.transport';
import { bufferFile, DeliveryFile, DeliveryTransport, PermanentDeliveryError } from './transport';

// Large recordings render (twice, streaming) and upload at most this many at a time, so that a few
// huge chats neither take every lane's share of the event loop nor add up in memory; small ones
// are never held behind them. "Large" is judged by the recording's span of messages.
export const LARGE_RENDER_SLOTS = 2;
export const LARGE_RENDER_MESSAGES = 500;

// A counting semaphore: run() waits for a free slot.
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export function backoffMs(attempt: number, baseMs: number, maxMs: number, rand: (n: number) => number = (n) => randomInt(Math.max(1, n))): number {
  // Exponential with full jitter over the upper half, so retries of many files spread out.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  const half = Math.floor(ceiling / 2);
  return half + rand(ceiling - half + 1);
}

// Takes due jobs from the outbox under a lease (safe with several instances), renders and delivers
// each, and records the outcome. A chat end wakes it at once; otherwise it polls.
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryWorker.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;
  private active = 0;
  private readonly inFlight = new Set<string>();
  private heartbeat: NodeJS.Timeout | null = null;
  readonly stats = { delivered: 0, failed: 0, retried: 0 };
  private readonly largeRenders = new Slots(LARGE_RENDER_SLOTS);

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly transcripts: TranscriptService,
    private readonly targets: ExportTargetService,
    private readonly transport: DeliveryTransport,
    private readonly audit: AuditService,
    signal: DeliverySignal,
  ) {
    signal.onWake(() => this.kick());
  }

  onApplicationBootstrap(): void {
    if (!this.config.deliveryWorker) {
      this.stopped = true;
      this.logger.log('delivery worker is off on this instance (DELIVERY_WORKER=false)');
      return;
    }
    this.schedule(50);
    // Leases are short so that a crashed instance's jobs come back soon; live ones are renewed.
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(250, Math.floor(this.config.deliveryLeaseMs / 3)));
    this.heartbeat.unref();
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const until = new Date(this.clock.now().getTime() + this.config.deliveryLeaseMs);
    try {
      await this.db
        .createQueryBuilder()
        .update(DeliveryJobEntity)
        .set({ leaseUntil: until })
        .where('recording_id IN (:...ids) AND lease_owner = :me', { ids: [...this.inFlight], me: this.config.instanceId })
        .execute();
    } catch (err) {
      this.logger.warn(`lease renewal failed: ${(err as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const until = Date.now() + 10_000;
    while ((this.running || this.active > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  // Lanes take claimed jobs from a local queue; when it runs short, one claim (a single
  // transaction) refills it. Lanes never wait for each other, so a slow file holds up only itself.
  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      do {
        this.again = false;
        await this.refill();
        if (this.local.length > 0) {
          await Promise.all(Array.from({ length: this.config.deliveryConcurrency }, () => this.lane()));
          this.again = true;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.logger.warn(`delivery poll failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
      this.schedule(this.config.deliveryPollMs);
    }
  }

  private local: string[] = [];
  private refilling: Promise<void> | null = null;

  private refill(): Promise<void> {
    this.refilling ??= this.claim(this.config.deliveryConcurrency * 4)
      .then((ids) => {
        const known = new Set([...this.local, ...this.inFlight]);
        for (const id of ids) if (!known.has(id)) this.local.push(id);
      })
      .finally(() => {
        this.refilling = null;
      });
    return this.refilling;
  }

  private async lane(): Promise<void> {
    while (!this.stopped) {
      if (this.local.length <= this.config.deliveryConcurrency) {
        // Top up in the background while there is work; wait for it only when there is none.
        const pending = this.refill();
        if (this.local.length === 0) await pending;
      }
      const id = this.local.shift();
      if (id === undefined) return;
      this.active++;
      this.inFlight.add(id);
      try {
        await this.deliver(id);
      } finally {
        this.inFlight.delete(id);
        this.active--;
      }
    }
  }

  // One transaction claims a batch: rows locked by another instance's claim are skipped (SKIP
  // LOCKED on MySQL/MariaDB; SQLite has a single writer), and the conditional update makes a job
  // ours only if its lease was free.
  async claim(limit: number): Promise<string[]> {
    const now = this.clock.now();
    const nowSql = sqlDate(now);
    const leaseUntil = sqlDate(new Date(now.getTime() + this.config.deliveryLeaseMs));
    const mysql = isMysql(this.db);
    return this.db.transaction(async (m) => {
      const due = (await m.query(
        `SELECT recording_id FROM delivery_jobs WHERE state = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ${Math.floor(limit)}${mysql ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [nowSql, nowSql],
      )) as { recording_id: string }[];
      if (due.length === 0) return [];
      const ids = due.map((d) => d.recording_id);
      const marks = ids.map(() => '?').join(',');
      await m.query(
        `UPDATE delivery_jobs SET lease_owner = ?, lease_until = ?, updated_at = ? WHERE recording_id IN (${marks}) AND state = 'queued' AND (lease_until IS NULL OR lease_until < ?)`,
        [this.config.instanceId, leaseUntil, nowSql, ...ids, nowSql],
      );
      const mine = (await m.query(`SELECT recording_id FROM delivery_jobs WHERE recording_id IN (${marks}) AND lease_owner = ? AND lease_until = ?`, [
        ...ids,
        this.config.instanceId,
        leaseUntil,
      ])) as { recording_id: string }[];
      return mine.map((r) => r.recording_id);
    });
  }

  async deliver(recordingId: string): Promise<void> {
    const [job, rec] = await Promise.all([
      this.db.getRepository(DeliveryJobEntity).findOneBy({ recordingId }),
      this.db.getRepository(RecordingEntity).findOneBy({ id: recordingId }),
    ]);
    if (!job || job.state !== 'queued' || job.leaseOwner !== this.config.instanceId || !rec) return;
    try {
      const loaded = await this.transcripts.input(rec);
      const { format, sidecar } = loaded.profile;
      const fileName = rec.fileName ?? (await this.reserveName(rec, this.transcripts.nameOf(loaded), format, sidecar));
      const large = (rec.endSeq ?? Number.MAX_SAFE_INTEGER) - rec.startSeq > LARGE_RENDER_MESSAGES;
      const renderAndUpload = async () => {
        const rendered = await this.transcripts.renderLoaded(loaded, fileName);
        const target = await this.targets.get(rec.companyId);
        // The temporary upload names derive from the recording id and each file's path.
        const files: DeliveryFile[] = [
          { companyId: rec.companyId, relPath: fileName, content: rendered.content, bytes: rendered.bytes, sha256: rendered.sha256, tempTag: rec.id },
        ];
        if (rendered.sidecar) {
          files.unshift(bufferFile({ companyId: rec.companyId, relPath: sidecarFilename(fileName, rendered.format), tempTag: rec.id }, rendered.sidecar));
        }
        const results = await this.transport.deliver(target, files);
        return { sha256: rendered.sha256, how: results[results.length - 1] };
      };
      const done = large ? await this.largeRenders.run(renderAndUpload) : await renderAndUpload();
      await this.succeed(rec, done.sha256, done.how);
    } catch (err) {
      await this.fail(rec, job, err);
    }
  }

  // The name is fixed once and stored before the first upload, so every retry uses the same one;
  // the unique key makes two recordings never share a file.
  // A taken name gets a suffix (the recording id, short then long) before its extension; the name
  // is cut so that the suffixed name and its sidecar's still fit.
  private async reserveName(rec: RecordingEntity, fileName: string, format: TranscriptFormat, sidecar: boolean): Promise<string> {
    const candidates = [fileName];
    for (let i = 0; i < 3; i++) {
      const suffix = i === 0 ? rec.id.slice(0, 8) : rec.id;
      candidates.push(suffixedFilename(fileName, `${suffix}${i === 2 ? '_' + Date.now() : ''}`, format, { sidecar }));
    }
    for (const name of candidates) {
      try {
        const key = createHash('sha256').update(name).digest('hex');
        const r = await this.db
          .createQueryBuilder()
          .update(RecordingEntity)
          .set({ fileName: name, fileKey: key })
          .where('id = :id AND file_name IS NULL', { id: rec.id })
          .execute();
        if (r.affected === 1) {
          rec.fileName = name;
          return name;
        }
        const fresh = await this.db.getRepository(RecordingEntity).findOneByOrFail({ id: rec.id });
        if (fresh.fileName) return fresh.fileName;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    throw new PermanentDeliveryError('could not find a free file name');
  }

  // Outcomes of delivered files are recorded in batches: files finishing together share one
  // transaction (and one commit) instead of one each.
  private outcomes: { rec: RecordingEntity; sha256: string; how: 'delivered' | 'already_present'; done: (err?: unknown) => void }[] = [];
  private recordingOutcomes = false;

  private succeed(rec: RecordingEntity, sha256: string, how: 'delivered' | 'already_present'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.outcomes.push({ rec, sha256, how, done: (err?: unknown) => (err === undefined ? resolve() : reject(err)) });
      if (!this.recordingOutcomes) {
        this.recordingOutcomes = true;
        setImmediate(() => void this.recordOutcomes());
      }
    });
  }

  private async recordOutcomes(): Promise<void> {
    try {
      while (this.outcomes.length > 0) {
        const batch = this.outcomes.splice(0, 100);
        try {
          await this.db.transaction((m) => this.recordBatch(m, batch));
          batch.forEach((b) => b.done());
        } catch (err) {
          batch.forEach((b) => b.done(err));
        }
      }
    } finally {
      this.recordingOutcomes = false;
    }
  }

  private async recordBatch(m: EntityManager, batch: { rec: RecordingEntity; sha256: string; how: 'delivered' | 'already_present' }[]): Promise<void> {
    const now = sqlDate(this.clock.now());
    const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');
    // Only the lease holder records the outcome; a worker whose lease lapsed leaves it alone.
    const owned = (await m.query(
      `SELECT recording_id FROM delivery_jobs WHERE recording_id IN (${marks(batch.length)}) AND lease_owner = ?${isMysql(m) ? ' FOR UPDATE' : ''}`,
      [...batch.map((b) => b.rec.id), this.config.instanceId],
    )) as { recording_id: string }[];
    const mine = new Set(owned.map((o) => o.recording_id));
    const ok = batch.filter((b) => mine.has(b.rec.id));
    if (ok.length === 0) return;
    const ids = ok.map((b) => b.rec.id);
    await m.query(
      `UPDATE delivery_jobs SET state = 'done', attempts = attempts + 1, lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = ? WHERE recording_id IN (${marks(ids.length)})`,
      [now, ...ids],
    );
    await m.query(
      `UPDATE recordings SET status = 'delivered', delivered_at = ?, updated_at = ?, last_error = NULL, attempts = attempts + 1, file_sha256 = CASE id ${ids.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE id IN (${marks(ids.length)})`,
      [now, now, ...ok.flatMap((b) => [b.rec.id, b.sha256]), ...ids],
    );
    await this.audit.record(
      ok.map((b) => ({
        companyId: b.rec.companyId,
        chatId: b.rec.chatId,
        actorRole: 'system',
        action: 'recording.delivered',
        detail: { recordingId: b.rec.id, fileName: b.rec.fileName, sha256: b.sha256, how: b.how },
      })),
      m,
    );
    this.stats.delivered += ok.length;
  }

  private async fail(rec: RecordingEntity, job: DeliveryJobEntity, err: unknown): Promise<void> {
    const now = this.clock.now();
    const attempts = job.attempts + 1;
    const permanent = err instanceof PermanentDeliveryError || err instanceof FilenameTemplateError;
    const message = describe(err).slice(0, 2000);
    const giveUp = permanent || attempts >= this.config.deliveryMaxAttempts;
    const nextAttemptAt = new Date(now.getTime() + backoffMs(attempts, this.config.deliveryRetryBaseMs, this.config.deliveryRetryMaxMs));
    this.logger.warn(`delivery of recording ${rec.id} failed (attempt ${attempts}${giveUp ? ', giving up' : ''}): ${message}`);
    await this.db.transaction(async (m) => {
      const r = await m
        .getRepository(DeliveryJobEntity)
        .update(
          { recordingId: rec.id, leaseOwner: this.config.instanceId },
          { state: giveUp ? 'failed' : 'queued', attempts, nextAttemptAt, leaseOwner: null, leaseUntil: null, lastError: message, updatedAt: now },
        );
      if (r.affected !== 1) return;
      await m.getRepository(RecordingEntity).update({ id: rec.id }, { status: giveUp ? 'failed' : 'pending', attempts, lastError: message, updatedAt: now });
      if (giveUp) {
        await this.audit.record(
          {
            companyId: rec.companyId,
            chatId: rec.chatId,
            actorRole: 'system',
            action: 'recording.failed',
            detail: { recordingId: rec.id, attempts, error: message },
          },
          m,
        );
      }
    });
    if (giveUp) this.stats.failed++;
    else this.stats.retried++;
  }
}

function describe(err: unknown): string {
  if (err instanceof HostKeyMismatchError) return err.message;
  if (err instanceof FilenameTemplateError) return `file name: ${err.reason}`;
  const e = err as { message?: string; code?: string };
  return `${e?.code ? e.code + ': ' : ''}${e?.message ?? String(err)}`;
}
