import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { ExportTargetService } from '../export/export-target.service';
import { ExportTargetConfig } from '../export/export-target.types';
import { bufferFile, DeliveryTransport, PermanentDeliveryError, TargetPlace } from '../export/transport';
import { RecordingErasureService } from '../recording/recording-erasure.service';
import { ErasureEntity } from './erasure.entity';
import { ErasureRepository } from './erasure.repository';

// The target no longer points where the files went: retrying cannot help.
class TargetMovedError extends Error {}

type Attempted<T> = { ok: true; value: T } | { ok: false; error: string };

// Steps 2 and 3 of an erasure: remove each delivered file from the target it went to, then
// deliver the notice erasures/<erasureId>.json to every such target. Each file and notice is tried
// with a bounded backoff within the run; what still fails is recorded as failed (the erasure ends
// `partial`, and a retry tries those again).
@Injectable()
export class ErasureRemoval {
  private readonly logger = new Logger(ErasureRemoval.name);

  constructor(
    private readonly repo: ErasureRepository,
    private readonly targets: ExportTargetService,
    private readonly transport: DeliveryTransport,
    private readonly recordings: RecordingErasureService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async removeFiles(e: ErasureEntity, alive: () => boolean): Promise<void> {
    await this.removeUnfinishedUploads(e);
    const pending = (await this.repo.files(e.id)).filter((f) => f.action === null);
    for (const [fingerprint, files] of groupBy(pending, (f) => f.targetFingerprint)) {
      if (!alive()) return;
      // A manifest says its set is complete: it goes first.
      let todo = [...files].sort((a, b) => Number(b.name.endsWith('.manifest.json')) - Number(a.name.endsWith('.manifest.json')));
      const errors = new Map<string, string>();
      // Each attempt records what it settled; the files that failed are tried again.
      const result = await this.attempt(alive, async () => {
        const target = await this.targetAt(e.companyId, fingerprint, files[0].targetLabel);
        const results = await this.transport.remove(
          target,
          e.companyId,
          todo.map((f) => f.name),
        );
        const settled = todo.flatMap((f, i) => {
          const r = results[i];
          if (r.outcome === 'failed') errors.set(f.deliveredFileId, r.error);
          return r.outcome === 'failed' ? [] : [{ deliveredFileId: f.deliveredFileId, action: r.outcome, error: null }];
        });
        await this.repo.setFileResults(e.id, settled, this.clock.now());
        todo = todo.filter((_, i) => results[i].outcome === 'failed');
        if (todo.length > 0) throw new Error(errors.get(todo[0].deliveredFileId));
      });
      if (result.ok || !alive()) continue;
      this.logger.warn(`erasure ${e.id}: removing ${todo.length} file(s) from ${files[0].targetLabel} failed: ${result.error}`);
      await this.repo.setFileResults(
        e.id,
        todo.map((f) => ({ deliveredFileId: f.deliveredFileId, action: 'failed' as const, error: errors.get(f.deliveredFileId) ?? result.error })),
        this.clock.now(),
      );
    }
  }

  // The temporary files that failed or interrupted uploads of the erased recordings may have left
  // on the company's current target (the partial bodies of files never delivered): removed once,
  // best effort. They are not listed in the status or the notice (nothing was delivered); a
  // failure is logged.
  private async removeUnfinishedUploads(e: ErasureEntity): Promise<void> {
    try {
      const paths = await this.recordings.unfinishedUploads(await this.repo.erasedChats(e.id));
      if (paths.length === 0) return;
      const results = await this.transport.remove(await this.targets.get(e.companyId), e.companyId, paths);
      const removed = results.filter((r) => r.outcome === 'removed').length;
      const failed = results.filter((r) => r.outcome === 'failed');
      if (removed > 0) this.logger.log(`erasure ${e.id}: removed ${removed} partial upload(s) of erased recordings`);
      if (failed.length > 0) this.logger.warn(`erasure ${e.id}: could not remove ${failed.length} partial upload(s): ${failed[0].error}`);
    } catch (err) {
      this.logger.warn(`erasure ${e.id}: looking for partial uploads of erased recordings failed: ${(err as Error).message}`);
    }
  }

  async deliverNotices(e: ErasureEntity, alive: () => boolean): Promise<void> {
    const files = await this.repo.files(e.id);
    const pending = (await this.repo.notices(e.id)).filter((x) => x.state === 'pending');
    // Each file's sha256 as delivered (an addition to the contract's {name, removed}): a removed
    // manifest leaves a gap in the company chain, and the next manifest names it by this digest.
    const digests = pending.length > 0 ? await this.recordings.deliveredFileDigests(files.map((f) => f.deliveredFileId)) : new Map<string, string>();
    for (const n of pending) {
      if (!alive()) return;
      const relPath = `erasures/${e.id}.json`;
      const notice = {
        erasureId: e.id,
        companyId: e.companyId,
        requestedAt: e.requestedAt.toISOString(),
        files: files
          .filter((f) => f.targetFingerprint === n.targetFingerprint)
          .map((f) => {
            const sha256 = digests.get(f.deliveredFileId);
            return { name: f.name, removed: f.action === 'removed', ...(sha256 ? { sha256 } : {}) };
          }),
      };
      const file = bufferFile({ companyId: e.companyId, relPath, tempTag: `erasure:${e.id}` }, JSON.stringify(notice, null, 2) + '\n');
      const result = await this.attempt(alive, async () => {
        const target = await this.targetAt(e.companyId, n.targetFingerprint, n.targetLabel);
        try {
          await this.transport.deliver(target, [file]);
        } catch (err) {
          // An earlier notice of this erasure (before a retry changed its list) is replaced.
          if (!(err instanceof PermanentDeliveryError)) throw err;
          await this.transport.remove(target, e.companyId, [relPath]);
          await this.transport.deliver(target, [file]);
        }
      });
      if (!result.ok && !alive()) return;
      if (!result.ok) this.logger.warn(`erasure ${e.id}: the notice to ${n.targetLabel} failed: ${result.error}`);
      await this.repo.setNotice(e.id, n.targetFingerprint, result.ok ? 'delivered' : 'failed', result.ok ? null : result.error, this.clock.now());
    }
  }

  // Where the company's files go now.
  async currentPlace(companyId: string): Promise<TargetPlace> {
    return this.transport.placeOf(await this.targets.get(companyId), companyId);
  }

  // The company's target, if it still points where the files went.
  private async targetAt(companyId: string, fingerprint: string, label: string): Promise<ExportTargetConfig> {
    const target = await this.targets.get(companyId);
    const place = this.transport.placeOf(target, companyId);
    if (place.fingerprint !== fingerprint) {
      throw new TargetMovedError(`the export target changed since the file was delivered: it went to ${label}, the target is now ${place.label}`);
    }
    return target;
  }

  private async attempt<T>(alive: () => boolean, fn: () => Promise<T>): Promise<Attempted<T>> {
    const { attempts, retryBaseMs } = this.config.erasure;
    let error = 'not tried';
    for (let i = 1; i <= attempts && alive(); i++) {
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        error = (err as Error).message || String(err);
        if (err instanceof TargetMovedError) break;
      }
      if (i < attempts) {
        const wait = Math.min(retryBaseMs * 2 ** (i - 1), 60_000);
        await new Promise((r) => setTimeout(r, wait / 2 + Math.random() * (wait / 2)));
      }
    }
    return { ok: false, error };
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) out.set(key(it), [...(out.get(key(it)) ?? []), it]);
  return out;
}
