import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { newId } from '../common/ids';
import { isDuplicateKey } from '../database/sql';
import { DeliveryFailureError } from '../export/delivery-failure';
import { DeliveredPlan, DeliveryPlan, DeliverySource, FailedAttempt, OutgoingFile } from '../export/delivery-source';
import { DeliverySpool } from '../export/delivery-spool';
import { DeliveryWorker } from '../export/delivery.worker';
import { fileSetKey } from '../transcript/filename-template';
import { recordingFileName, renderRecording, suffixedRecordingFileName } from '../transcript/recording-renderer';
import { RecordingSnapshot, SegmentView } from '../transcript/recording-snapshot';
import { ChainReadAhead, ChatFacts, MarkerRecord, ParticipantFacts, RecordingChatFacts } from './chat-facts.port';
import { INTEGRITY_FAILURE, translated } from './delivery-failures';
import { RecordingManifests } from './recording-manifests';
import { RecordingSnapshots } from './recording-snapshots';
import { RecordingRepository } from './recording.repository';
import { RecordingEntity } from './recording.entity';
import { DeliveredFileEntity } from './delivered-file.entity';
import { detached } from '../logging/log-context';

// "Large" is judged by the recording's span of messages: those are rendered a few at a time.
export const LARGE_RENDER_MESSAGES = 500;

// What a claim's prefetch read is dropped after this long if no plan took it (a claim handed back
// at a stop); a plan takes it only for a job claimed moments ago (the worker says so).
const PREFETCH_KEPT_MS = 30_000;

// A claim's read-ahead of its chats' chains takes at most this many rows in all (a body is at most
// 10,000 characters): chats past it, and chats too long for one page, are read by their own check.
export const PREFETCH_CHAIN_ROWS = 1_000;

type Found = {
  recording: RecordingEntity;
  segments: SegmentView[];
  facts: { chat: ChatFacts; participants: ParticipantFacts[] };
  chatMarkers: MarkerRecord[];
  chainAhead?: ChainReadAhead;
};

function isLarge(rec: RecordingEntity): boolean {
  return (rec.endSeq ?? Number.MAX_SAFE_INTEGER) - rec.startSeq > LARGE_RENDER_MESSAGES;
}

export interface RecordingDeliveryPlan extends DeliveryPlan {
  // Its fileName is set once the name is reserved: in plan(), or for a large recording once its
  // body has been rendered and its chain found intact (files()).
  recording: RecordingEntity;
}

// The delivery jobs' source: a job is a produced recording, its files its rendered snapshot, and
// its outcome is written on the recording (with an audit entry) in the outbox's transaction.
@Injectable()
export class RecordingDelivery extends DeliverySource<RecordingDeliveryPlan> implements OnModuleInit {
  constructor(
    private readonly recordings: RecordingRepository,
    private readonly snapshots: RecordingSnapshots,
    private readonly audit: AuditService,
    private readonly worker: DeliveryWorker,
    private readonly manifests: RecordingManifests,
    private readonly spool: DeliverySpool,
    private readonly chats: RecordingChatFacts,
  ) {
    super();
  }

  // Per claimed job: its recording with segments, its chat with participants and the chat's
  // markers, read for the whole claim in three statements instead of three per job.
  private readonly prefetched = new Map<string, { at: number; found: Promise<Found | null> }>();

  override prefetch(jobIds: string[]): void {
    const now = Date.now();
    for (const [id, p] of this.prefetched) if (now - p.at > PREFETCH_KEPT_MS) this.prefetched.delete(id);
    const read = (async () => {
      const recordings = await this.recordings.findManyWithSegments(jobIds);
      const chatIds = [...new Set([...recordings.values()].map((r) => r.recording.chatId))];
      const [facts, markers] = await Promise.all([this.chats.factsWithParticipantsOf(chatIds), this.chats.markersOfChats(chatIds)]);
      // The chains of the chats whose recordings are checked and rendered in one go (not large),
      // read after the chat rows they are checked against.
      const small = [...recordings.values()].filter((r) => !isLarge(r.recording)).map((r) => facts.get(r.recording.chatId)?.chat);
      const chains = await this.chats
        .chainReadAheadOf(
          [...new Set(small)].filter((c): c is ChatFacts => c !== undefined),
          PREFETCH_CHAIN_ROWS,
        )
        .catch(() => new Map<string, ChainReadAhead>());
      return { recordings, facts, markers, chains };
    })();
    for (const id of jobIds) {
      // A failed or missing read leaves the plan to read for itself.
      const found = read.then(
        ({ recordings, facts, markers, chains }) => {
          const r = recordings.get(id);
          const f = r ? facts.get(r.recording.chatId) : undefined;
          const m = r ? markers.get(r.recording.chatId) : undefined;
          return r && f && m ? { ...r, facts: f, chatMarkers: m, chainAhead: chains.get(r.recording.chatId) } : null;
        },
        () => null,
      );
      this.prefetched.set(id, { at: now, found });
    }
  }

  onModuleInit(): void {
    this.worker.serve(this);
  }

  async plan(recordingId: string, opts: { claimedMomentsAgo?: boolean } = {}): Promise<RecordingDeliveryPlan | null> {
    const pre = this.prefetched.get(recordingId);
    this.prefetched.delete(recordingId);
    const early = opts.claimedMomentsAgo && pre ? await pre.found : null;
    const found = early ?? (await this.recordings.findWithSegments(recordingId));
    if (!found) return null;
    const { recording: rec, segments } = found;
    const large = isLarge(rec);
    return translated(async () => {
      // A small recording's messages are read once, with the chain check; a large one's are paged.
      const snapshot = await this.snapshots.of(rec, {
        keepMessages: !large,
        segments,
        facts: early?.facts,
        chatMarkers: early?.chatMarkers,
        chainAhead: early?.chainAhead,
      });
      // A large recording's chain is checked while its body renders (files()): its name is reserved
      // after that, as a small one's is after its check here.
      const fileName = rec.fileName ?? (large ? () => this.reserveName(rec, snapshot) : await this.reserveName(rec, snapshot));
      return {
        jobId: rec.id,
        companyId: rec.companyId,
        chatId: rec.chatId,
        endedAt: snapshot.chat.endedAt,
        large,
        recording: rec,
        files: () => translated(() => this.filesOf(rec, snapshot, fileName)),
      };
    });
  }

  // The sidecar (if any), the recording's file, and, for a manifest profile, the signed manifest
  // last: the transports put files in place in this order, so the manifest's presence means the
  // set is complete.
  private async filesOf(rec: RecordingEntity, snapshot: RecordingSnapshot, name: string | (() => Promise<string>)): Promise<OutgoingFile[]> {
    const rendered = await renderRecording(snapshot, name, this.spool);
    const body = rendered[rendered.length - 1];
    const fileName = body.name;
    const files: OutgoingFile[] = rendered.map((f) => (f === body ? { ...f, main: true } : f));
    try {
      if (snapshot.profile.manifest) files.push(await this.manifests.manifestFor(rec, snapshot, fileName, rendered));
    } catch (err) {
      // No attempt takes the files: their spool goes now.
      await Promise.all(rendered.map((f) => f.discard?.()));
      throw err;
    }
    return files;
  }

  // The name is fixed once and stored before the first upload, so every retry uses the same one.
  // It is reserved by its key (fileSetKey), which is the same for the file, its sidecar and its
  // manifest: the unique key makes two recordings of a company never share a file of their sets.
  // A taken name gets a suffix (the recording id, short then long) before its extension; the name
  // is cut so that the suffixed name and its sidecar's still fit.
  private async reserveName(rec: RecordingEntity, snapshot: RecordingSnapshot): Promise<string> {
    const fileName = recordingFileName(snapshot);
    const candidates = [fileName];
    for (let i = 0; i < 3; i++) {
      const suffix = i === 0 ? rec.id.slice(0, 8) : rec.id;
      candidates.push(suffixedRecordingFileName(snapshot, fileName, `${suffix}${i === 2 ? '_' + Date.now() : ''}`));
    }
    for (const [i, name] of candidates.entries()) {
      try {
        const key = fileSetKey(name);
        // The first choice goes with other lanes' (one statement, one commit for all of them).
        if (await (i === 0 ? this.names.claim(rec.id, name, key) : this.recordings.claimFileName(rec.id, name, key))) {
          rec.fileName = name;
          return name;
        }
        const fresh = await this.recordings.find(rec.id);
        if (fresh?.fileName) {
          rec.fileName = fresh.fileName;
          return fresh.fileName;
        }
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    throw new DeliveryFailureError(true, 'no_free_name', 'could not find a free file name');
  }

  private readonly names = new NameReservations(this.recordings);

  async delivered(m: EntityManager, done: DeliveredPlan<RecordingDeliveryPlan>[], at: Date): Promise<void> {
    await this.recordings.markDelivered(
      m,
      done.map((d) => ({ id: d.plan.recording.id, sha256: d.sha256 })),
      at,
    );
    // Every file of each plan (sidecars and manifests too), and where it went: an erasure
    // removes them from there.
    await this.recordings.insertDeliveredFiles(
      m,
      done.flatMap(({ plan, files, place }) =>
        files.map((f) =>
          Object.assign(new DeliveredFileEntity(), {
            id: newId(),
            recordingId: plan.recording.id,
            companyId: plan.recording.companyId,
            name: f.name,
            bytes: f.bytes,
            sha256: f.sha256,
            targetFingerprint: place.fingerprint,
            targetLabel: place.label.slice(0, 1024),
            deliveredAt: at,
          }),
        ),
      ),
    );
    await this.audit.record(
      done.map(({ plan, sha256, how }) => ({
        companyId: plan.recording.companyId,
        chatId: plan.recording.chatId,
        actorRole: 'system',
        action: 'recording.delivered',
        detail: { recordingId: plan.recording.id, fileName: plan.recording.fileName, sha256, how },
      })),
      m,
    );
  }

  async failed(m: EntityManager, recordingId: string, { attempts, giveUp, failure, at }: FailedAttempt): Promise<void> {
    const rec = await this.recordings.find(recordingId, m);
    if (!rec) return;
    if (failure.code === INTEGRITY_FAILURE) {
      // Permanent (giveUp): the outcome says why, so that GET /v1/admin/chats/:chatId explains it.
      await this.recordings.update(m, recordingId, {
        status: 'failed',
        outcomeReason: INTEGRITY_FAILURE,
        outcomeDetail: failure.message.slice(0, 1000),
        attempts,
        lastError: failure.message,
        updatedAt: at,
      });
      await this.audit.record(
        {
          companyId: rec.companyId,
          chatId: rec.chatId,
          actorRole: 'system',
          action: 'recording.integrity_failed',
          detail: { recordingId, error: failure.message },
        },
        m,
      );
      return;
    }
    await this.recordings.update(m, recordingId, { status: giveUp ? 'failed' : 'pending', attempts, lastError: failure.message, updatedAt: at });
    if (giveUp) {
      await this.audit.record(
        {
          companyId: rec.companyId,
          chatId: rec.chatId,
          actorRole: 'system',
          action: 'recording.failed',
          detail: { recordingId, attempts, error: failure.message },
        },
        m,
      );
    }
  }
}

// First-choice names reserved by lanes at about the same time go to the database in one UPDATE, a
// group commit like the message store's: one statement at a time, and what came in meanwhile goes
// in the next. When a statement cannot name them all (a name taken, by another recording or by two
// of the batch; a row named meanwhile), each is reserved on its own, as it would have been alone:
// the answers are the same, only slower.
class NameReservations {
  private waiting: { id: string; name: string; key: string; settle: (r: boolean | Promise<boolean>) => void }[] = [];
  private flushing = false;

  constructor(private readonly recordings: RecordingRepository) {}

  claim(id: string, name: string, key: string): Promise<boolean> {
    const claimed = new Promise<boolean>((settle) => this.waiting.push({ id, name, key, settle }));
    if (!this.flushing) {
      this.flushing = true;
      detached(() => setImmediate(() => void this.flush()));
    }
    return claimed;
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.reserve(this.waiting.splice(0));
    } finally {
      this.flushing = false;
    }
  }

  private async reserve(batch: NameReservations['waiting']): Promise<void> {
    const alone = async () => {
      const each = batch.map((w) => this.recordings.claimFileName(w.id, w.name, w.key));
      batch.forEach((w, i) => w.settle(each[i]));
      await Promise.allSettled(each);
    };
    if (batch.length === 1) return alone();
    try {
      const named = await this.recordings.claimFileNames(batch);
      if (named === batch.length) return batch.forEach((w) => w.settle(true));
    } catch (err) {
      if (!isDuplicateKey(err)) return batch.forEach((w) => w.settle(Promise.reject(err)));
    }
    await alone();
  }
}
