import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ChatErasureService } from '../chat/chat-erasure.service';
import { Clock } from '../common/clock';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { AppConfig } from '../config/app-config';
import { TargetPlace } from '../export/transport';
import { RecordingErasureService } from '../recording/recording-erasure.service';
import { ErasureRemoval } from './erasure-removal';
import { ErasureEntity } from './erasure.entity';
import { ErasureRepository } from './erasure.repository';
import { detached } from '../logging/log-context';

// How often, at most, one run goes back to chats whose recording a worker is delivering right now,
// and how long it waits between: then the run stops and a later sweep resumes.
const BUSY_ROUNDS = 50;
const BUSY_WAIT_MS = 200;

// Runs erasures: a sweep (at start, then every ERASURE_SWEEP_MS, and at once after a request)
// takes running erasures whose lease is free or lapsed, so one killed in the middle is resumed by
// whichever instance comes next, and two instances never run one at the same time. Every step is
// idempotent: a resumed run does again only what is not recorded as done.
@Injectable()
export class ErasureRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ErasureRunner.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private again = false;
  private stopped = false;
  // The erasure this instance runs now (its lease is ours).
  private current: string | null = null;
  // Set when a graceful stop handed a busy run's lease back: nothing is left to wait for.
  private handedBack = false;

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly repo: ErasureRepository,
    private readonly chats: ChatErasureService,
    private readonly recordings: RecordingErasureService,
    private readonly removal: ErasureRemoval,
    private readonly audit: AuditService,
    shutdown: GracefulShutdown,
  ) {
    // At a stop: no new sweep; a run stops at its next step and hands its lease back, or is handed
    // back at the work step's end if it is still busy (a removal on a slow target).
    shutdown.register({ step: 'intake', name: 'erasure sweeps', run: () => this.stop() });
    shutdown.register({ step: 'work', name: 'erasure in progress', run: (until) => this.finishOrRelease(until) });
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async finishOrRelease(until: number): Promise<void> {
    if (await waitUntil(() => !this.sweeping, until)) return;
    const id = this.current;
    if (id === null) return;
    await this.repo.release(id, this.config.instanceId);
    this.handedBack = true;
    this.logger.log({ msg: `erasure ${id} handed back, to be resumed by another instance`, phase: 'work' });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.erasure.sweepMs);
    this.timer.unref();
    setTimeout(() => void this.sweep(), 100).unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stop();
    if (!this.handedBack) await waitUntil(() => !this.sweeping, Date.now() + 10_000);
  }

  kick(): void {
    detached(() => setImmediate(() => void this.sweep()));
  }

  async sweep(): Promise<void> {
    if (this.stopped) return;
    if (this.sweeping) {
      this.again = true;
      return;
    }
    this.sweeping = true;
    try {
      do {
        this.again = false;
        const now = this.clock.now();
        for (const id of await this.repo.due(now, 20)) {
          if (this.stopped) break;
          const until = new Date(this.clock.now().getTime() + this.config.erasure.leaseMs);
          if (await this.repo.claim(id, this.config.instanceId, this.clock.now(), until)) await this.run(id);
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.logger.warn(`erasure sweep failed: ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  private async run(id: string): Promise<void> {
    const owner = this.config.instanceId;
    this.current = id;
    let alive = true;
    const isAlive = () => alive && !this.stopped;
    const heartbeat = setInterval(
      () =>
        void this.repo
          .renew(id, owner, new Date(this.clock.now().getTime() + this.config.erasure.leaseMs))
          .then((ours) => {
            if (!ours) alive = false;
          })
          .catch((err: Error) => this.logger.warn(`erasure ${id}: lease renewal failed: ${err.message}`)),
      Math.max(200, Math.floor(this.config.erasure.leaseMs / 3)),
    );
    heartbeat.unref();
    let finished = false;
    try {
      const e = await this.repo.find(id);
      if (!e || e.status !== 'running') return;
      if (e.step === 'chats') {
        if (!(await this.eraseChats(e, isAlive))) return;
        await this.listFiles(e);
        if (!(await this.repo.setStep(id, owner, 'files', this.clock.now()))) return;
      }
      await this.removal.removeFiles(e, isAlive);
      if (!isAlive() || !(await this.repo.setStep(id, owner, 'notices', this.clock.now()))) return;
      await this.removal.deliverNotices(e, isAlive);
      if (!isAlive()) return;
      finished = await this.finish(e);
    } catch (err) {
      this.logger.warn(`erasure ${id} stopped, to be resumed: ${(err as Error).message}`);
    } finally {
      clearInterval(heartbeat);
      if (!finished) await this.repo.release(id, owner).catch(() => undefined);
      this.current = null;
    }
  }

  // Step 1: each chat erased (or found held) in its own transaction, recorded with it.
  private async eraseChats(e: ErasureEntity, alive: () => boolean): Promise<boolean> {
    for (let round = 0; round < BUSY_ROUNDS && alive(); round++) {
      const pending = await this.repo.pendingChats(e.id);
      if (pending.length === 0) return true;
      for (const chatId of pending) {
        if (!alive()) return false;
        await this.chats.erase(chatId, e.id, (m, action) => this.repo.setChatAction(m, e.id, chatId, action, this.clock.now()));
      }
      if ((await this.repo.pendingChats(e.id)).length === 0) return true;
      await new Promise((r) => setTimeout(r, BUSY_WAIT_MS));
    }
    return false;
  }

  // The files delivered for the erased chats, listed once (again after a restart: rows already
  // listed stay as they are).
  private async listFiles(e: ErasureEntity): Promise<void> {
    const files = await this.recordings.deliveredFiles(await this.repo.erasedChats(e.id));
    // Files delivered before their place was recorded are looked for on the current target.
    const current = files.some((f) => f.targetFingerprint === null) ? await this.removal.currentPlace(e.companyId) : null;
    await this.repo.addFiles(
      e.id,
      files.map((f) => ({
        deliveredFileId: f.id,
        recordingId: f.recordingId,
        name: f.name,
        targetFingerprint: f.targetFingerprint ?? (current as TargetPlace).fingerprint,
        targetLabel: f.targetLabel ?? (current as TargetPlace).label,
      })),
      this.clock.now(),
    );
  }

  private async finish(e: ErasureEntity): Promise<boolean> {
    const [chats, files, notices] = await Promise.all([this.repo.chats(e.id), this.repo.files(e.id), this.repo.notices(e.id)]);
    const count = <T>(xs: T[], p: (x: T) => boolean) => xs.filter(p).length;
    const failed = count(files, (f) => f.action === 'failed') + count(notices, (n) => n.state === 'failed');
    const status = failed > 0 ? 'partial' : 'done';
    const now = this.clock.now();
    return this.db.transaction(async (m) => {
      if (!(await this.repo.finish(m, e.id, this.config.instanceId, status, now))) return false;
      await this.audit.record(
        {
          companyId: e.companyId,
          actorRole: 'system',
          action: 'erasure.completed',
          detail: {
            erasureId: e.id,
            status,
            chats: { erased: count(chats, (c) => c.action === 'erased'), held: count(chats, (c) => c.action === 'held') },
            files: {
              removed: count(files, (f) => f.action === 'removed'),
              notFound: count(files, (f) => f.action === 'not_found'),
              failed: count(files, (f) => f.action === 'failed'),
            },
            notices: { delivered: count(notices, (n) => n.state === 'delivered'), failed: count(notices, (n) => n.state === 'failed') },
          },
        },
        m,
      );
      this.logger.log(`erasure ${e.id} finished: ${status}`);
      return true;
    });
  }
}
