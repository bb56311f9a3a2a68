import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { AppConfig } from '../config/app-config';
import { detached, withLogContext } from '../logging/log-context';
import { AppMetrics } from '../metrics/app-metrics';
import { DeliveryFailure, deliveryFailureOf } from './delivery-failure';
import { DeliveryJobRepository, DeliveryJobView } from './delivery-job.repository';
import { backoffMs, Slots } from './delivery-pacing';
import { DeliverySignal } from './delivery-signal';
import { DeliveredPlan, DeliveryPlan, DeliverySource, OutgoingFile } from './delivery-source';
import { ExportTargetService } from './export-target.service';
import { DeliveryFile, DeliveryTransport } from './transport';

// Large jobs produce (rendering once into the spool, streaming) and upload at most this many at a
// time, so that a few huge files neither take every lane's share of the event loop nor add up in
// memory or on the spool's disk; small ones are never held behind them.
export const LARGE_RENDER_SLOTS = 2;

// Outcomes of delivered files wait up to this long for others to share their transaction (a
// lane goes on to its next job meanwhile), unless this many are waiting, the worker is stopping,
// or no lane is busy (then at once).
export const OUTCOME_GATHER_MS = 50;
export const OUTCOME_BATCH_MAX = 100;

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
  // Jobs whose files are in place and whose outcome is not yet recorded (still held, still ours).
  private settling = 0;
  private readonly inFlight = new Set<string>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly largeRenders = new Slots(LARGE_RENDER_SLOTS);

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly jobs: DeliveryJobRepository,
    private readonly targets: ExportTargetService,
    private readonly transport: DeliveryTransport,
    signal: DeliverySignal,
    private readonly metrics: AppMetrics,
    shutdown: GracefulShutdown,
  ) {
    signal.onWake(() => this.kick());
    shutdown.register({ step: 'intake', name: 'delivery claims', run: () => this.stopClaiming() });
    shutdown.register({ step: 'work', name: 'deliveries in flight', run: (until) => this.finishOrRelease(until) });
  }

  // Set once a stop has handed back what was still held: nothing is left to wait for.
  private handedBack = false;

  private source: DeliverySource | null = null;

  // The feature whose files these are plugs itself in at start-up (export imports none of them).
  serve(source: DeliverySource): void {
    this.source = source;
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
      await this.jobs.renewLeases(this.config.instanceId, [...this.inFlight], until);
    } catch (err) {
      this.logger.warn(`lease renewal failed: ${(err as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.scheduleOutcomes();
    if (!this.handedBack) await waitUntil(() => !this.running && this.active === 0 && this.settling === 0, Date.now() + 10_000);
  }

  // A stop's intake step: no more claims; jobs claimed but not started are handed back at once.
  private async stopClaiming(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refilling?.catch(() => undefined);
    const unstarted = this.local.splice(0);
    this.claimed.clear();
    const n = await this.jobs.release(this.config.instanceId, unstarted, this.clock.now());
    if (n > 0) this.logger.log({ msg: `handed back ${n} claimed delivery job(s) not yet started`, phase: 'intake' });
  }

  // A stop's work step: deliveries under way finish until `until`; what is still going on then is
  // handed back (its lease released) for another instance to take at once. Leases stay renewed
  // meanwhile.
  private async finishOrRelease(until: number): Promise<void> {
    const inFlight = this.inFlight.size;
    this.scheduleOutcomes();
    await waitUntil(() => this.active === 0 && this.settling === 0, until);
    const held = [...this.inFlight];
    const n = await this.jobs.release(this.config.instanceId, held, this.clock.now());
    this.handedBack = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.logger.log({ msg: `deliveries: ${inFlight - held.length} of ${inFlight} in flight finished, ${n} handed back`, phase: 'work', released: n });
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
    this.timer = detached(() => setTimeout(() => void this.tick(), ms));
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
  // The jobs of `local` as the claim left them, and when: see deliverJob.
  private readonly claimed = new Map<string, { job: DeliveryJobView; at: number }>();

  private refill(): Promise<void> {
    // Taken before the claim: its leases run from a moment no earlier than this.
    const at = this.clock.now().getTime();
    this.refilling ??= this.claim(this.config.deliveryConcurrency * 4)
      .then((jobs) => {
        const known = new Set([...this.local, ...this.inFlight]);
        const taken: string[] = [];
        for (const job of jobs) {
          if (known.has(job.id)) continue;
          this.local.push(job.id);
          this.claimed.set(job.id, { job, at });
          taken.push(job.id);
        }
        if (taken.length > 0) this.source?.prefetch(taken);
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
      let recorded: Promise<void> | null = null;
      try {
        recorded = (await this.deliver(id))?.recorded ?? null;
      } finally {
        this.active--;
        if (recorded) {
          // The job stays held (its lease renewed) until its outcome is recorded.
          this.settling++;
          void recorded.finally(() => {
            this.settling--;
            this.inFlight.delete(id);
          });
        } else {
          this.inFlight.delete(id);
        }
        if (this.active === 0) this.scheduleOutcomes();
      }
    }
  }

  claim(limit: number): Promise<DeliveryJobView[]> {
    return this.jobs.claim(this.config.instanceId, limit, this.clock.now(), this.config.deliveryLeaseMs);
  }

  // A job's log lines carry its recording (the job id is the recording's) and company, and once
  // planned its chat. Resolves once the lane is free: with `recorded` when the files are in place
  // and their outcome waits for its batch (it then settles once recorded, or recorded as failed).
  deliver(jobId: string): Promise<{ recorded: Promise<void> } | null> {
    return withLogContext({ recordingId: jobId }, () => this.deliverJob(jobId));
  }

  private async deliverJob(jobId: string): Promise<{ recorded: Promise<void> } | null> {
    const source = this.source;
    // A job claimed less than half a lease ago is still ours as the claim left it: nobody else
    // takes or changes a job under a live lease, and once under way the heartbeat renews it
    // (every third of a lease). An older claim is read again.
    const claimed = this.claimed.get(jobId);
    this.claimed.delete(jobId);
    const fresh = claimed !== undefined && this.clock.now().getTime() - claimed.at < this.config.deliveryLeaseMs / 2;
    const job = fresh ? claimed.job : await this.jobs.find(jobId);
    if (!source || !job || job.state !== 'queued' || job.leaseOwner !== this.config.instanceId) return null;
    let chatId: string | undefined;
    const failed = (err: unknown) => withLogContext({ chatId, companyId: job.companyId }, () => this.fail(source, jobId, job.attempts, deliveryFailureOf(err)));
    try {
      const plan = await source.plan(jobId, { claimedMomentsAgo: fresh });
      if (!plan) return null;
      chatId = plan.chatId;
      const { recorded } = await withLogContext({ chatId, companyId: job.companyId }, () => this.move(source, plan));
      // An outcome that could not be recorded is recorded as a failed attempt (the retry finds
      // the files in place).
      return {
        recorded: recorded.catch((err: unknown) =>
          failed(err).catch((e: unknown) => this.logger.warn(`could not record the outcome of delivery ${jobId}: ${(e as Error).message}`)),
        ),
      };
    } catch (err) {
      await failed(err);
      return null;
    }
  }

  private async move(source: DeliverySource, plan: DeliveryPlan): Promise<{ recorded: Promise<void> }> {
    const produceAndMove = async () => {
      // The connection is opened while a large body renders, not after.
      if (plan.large) void this.warm(plan.companyId);
      const files = await plan.files();
      try {
        return await this.moveFiles(plan, files);
      } finally {
        // A spooled body goes with its attempt, delivered or not: a retry produces it again.
        await this.discard(files);
      }
    };
    const done = plan.large ? await this.largeRenders.run(produceAndMove) : await produceAndMove();
    const recorded = this.succeed(source, { plan, ...done }).then(() =>
      this.logger.log({ msg: done.how === 'delivered' ? 'recording delivered' : 'recording was already at the target', result: done.how }),
    );
    return { recorded };
  }

  private async moveFiles(plan: DeliveryPlan, files: OutgoingFile[]): Promise<Omit<DeliveredPlan, 'plan'>> {
    const jobId = plan.jobId;
    const target = await this.targets.get(plan.companyId);
    // The temporary upload names derive from the job id and each file's path.
    const outgoing: DeliveryFile[] = files.map((f) => ({
      companyId: plan.companyId,
      relPath: f.name,
      content: f.content,
      bytes: f.bytes,
      sha256: f.sha256,
      tempTag: jobId,
      replayed: f.replayed,
    }));
    const results = await this.transport.deliver(target, outgoing);
    const marked = files.findIndex((f) => f.main === true);
    const main = marked >= 0 ? marked : files.length - 1;
    return {
      sha256: files[main].sha256,
      how: results[main],
      files: files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })),
      place: this.transport.placeOf(target, plan.companyId),
    };
  }

  private async warm(companyId: string): Promise<void> {
    try {
      this.transport.warm(await this.targets.get(companyId));
    } catch {
      // The delivery reads the target again and reports what is wrong with it.
    }
  }

  private async discard(files: OutgoingFile[]): Promise<void> {
    for (const f of files) {
      try {
        await f.discard?.();
      } catch (err) {
        this.logger.warn(`could not free the body of ${f.name}: ${(err as Error).message}`);
      }
    }
  }

  // Outcomes of delivered files are recorded in batches: files finishing within OUTCOME_GATHER_MS
  // of each other share one transaction (and one commit) instead of one each.
  private outcomes: (DeliveredPlan & { source: DeliverySource; done: (err?: unknown) => void })[] = [];
  private recordingOutcomes = false;
  private outcomeTimer: NodeJS.Timeout | null = null;

  private succeed(source: DeliverySource, delivered: DeliveredPlan): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.outcomes.push({ source, ...delivered, done: (err?: unknown) => (err === undefined ? resolve() : reject(err)) });
      this.scheduleOutcomes();
    });
  }

  // One batch at a time: at once when it is full, when no lane is busy (nothing else is coming
  // soon) or at a stop; otherwise once the first waiting outcome has waited OUTCOME_GATHER_MS.
  private scheduleOutcomes(): void {
    if (this.recordingOutcomes || this.outcomes.length === 0) return;
    const now = this.outcomes.length >= OUTCOME_BATCH_MAX || this.active === 0 || this.stopped;
    if (now && this.outcomeTimer) clearTimeout(this.outcomeTimer);
    if (now || !this.outcomeTimer) this.outcomeTimer = setTimeout(() => this.startOutcomes(), now ? 0 : OUTCOME_GATHER_MS);
  }

  private startOutcomes(): void {
    this.outcomeTimer = null;
    if (this.recordingOutcomes || this.outcomes.length === 0) return;
    this.recordingOutcomes = true;
    void this.recordOutcomes();
  }

  private async recordOutcomes(): Promise<void> {
    const batch = this.outcomes.splice(0, OUTCOME_BATCH_MAX);
    try {
      await this.db.transaction(async (m) => {
        const now = this.clock.now();
        // Only the lease holder records the outcome; a worker whose lease lapsed leaves it alone.
        const mine = new Set(
          await this.jobs.complete(
            m,
            this.config.instanceId,
            batch.map((b) => b.plan.jobId),
            now,
          ),
        );
        const ok = batch.filter((b) => mine.has(b.plan.jobId));
        if (ok.length === 0) return;
        await batch[0].source.delivered(m, ok, now);
        for (const b of ok) {
          this.metrics.deliveries.inc({ result: b.how });
          if (b.plan.endedAt) this.metrics.endToDeliveredSeconds.observe(Math.max(0, now.getTime() - b.plan.endedAt.getTime()) / 1000);
        }
      });
      batch.forEach((b) => b.done());
    } catch (err) {
      batch.forEach((b) => b.done(err));
    } finally {
      this.recordingOutcomes = false;
      this.scheduleOutcomes();
    }
  }

  private async fail(source: DeliverySource, jobId: string, previousAttempts: number, failure: DeliveryFailure): Promise<void> {
    const now = this.clock.now();
    const attempts = previousAttempts + 1;
    const message = failure.message.slice(0, 2000);
    const giveUp = failure.permanent || attempts >= this.config.deliveryMaxAttempts;
    const nextAttemptAt = new Date(now.getTime() + backoffMs(attempts, this.config.deliveryRetryBaseMs, this.config.deliveryRetryMaxMs));
    this.logger.warn({ msg: `delivery failed (attempt ${attempts}${giveUp ? ', giving up' : ''}): ${message}`, recordingId: jobId, code: failure.code });
    await this.db.transaction(async (m) => {
      const held = await this.jobs.fail(m, this.config.instanceId, jobId, { giveUp, attempts, nextAttemptAt, lastError: message, now });
      if (held) await source.failed(m, jobId, { attempts, giveUp, failure: { ...failure, message }, at: now });
    });
    this.metrics.deliveries.inc({ result: giveUp ? 'failed' : 'retry' });
  }
}
