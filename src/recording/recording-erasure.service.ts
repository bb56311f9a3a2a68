import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { DeliveryOutbox } from '../export/delivery-outbox';
import { temporaryPath } from '../export/transport';
import { manifestFilename, sidecarFilename } from '../transcript/filename-template';
import { RecordingRepository } from './recording.repository';

const FINAL = ['delivered', 'suppressed'];

export interface DeliveredFileView {
  id: string;
  recordingId: string;
  name: string;
  // null: delivered before the files were recorded (the place is not known; the caller assumes
  // the company's current target).
  targetFingerprint: string | null;
  targetLabel: string | null;
}

// What an erasure (contract section 10) does to a chat's recordings, and what it reads of them.
@Injectable()
export class RecordingErasureService {
  constructor(
    private readonly repo: RecordingRepository,
    private readonly outbox: DeliveryOutbox,
    private readonly audit: AuditService,
  ) {}

  // In the chat's transaction, with the chat row locked: every recording not delivered yet is
  // suppressed with reason `erased` and its delivery job withdrawn, and labels are cleared. A
  // recording whose delivery a worker holds right now is left alone and named in `busy`: its
  // outcome is about to be written (delivered: its files are then removed; failed: it is erased
  // on the next pass), so the caller comes back for it.
  async eraseChat(m: EntityManager, chat: { id: string; companyId: string; nextSeq: number }, erasureId: string, now: Date): Promise<{ busy: string[] }> {
    const recordings = await this.repo.listForChat(m, chat.id);
    const open = recordings.filter((r) => !FINAL.includes(r.status));
    // The jobs first, then the recordings: the order the worker's outcome transaction locks them in.
    const jobs = await this.outbox.cancel(
      m,
      open.map((r) => r.id),
      now,
    );
    const busy = open.filter((r) => jobs.get(r.id) === 'queued' || jobs.get(r.id) === 'done').map((r) => r.id);
    const erased = open.filter((r) => !busy.includes(r.id));
    await this.repo.markErased(
      m,
      erased.map((r) => r.id),
      chat.nextSeq,
      `erased by erasure ${erasureId}`,
      now,
    );
    await this.repo.clearLabels(m, chat.id);
    await this.audit.record(
      erased.map((r) => ({
        companyId: chat.companyId,
        chatId: chat.id,
        actorRole: 'system',
        action: 'recording.suppressed',
        detail: { recordingId: r.id, reason: 'erased', erasureId },
      })),
      m,
    );
    return { busy };
  }

  // Every file delivered for the recordings of these chats, and where it went. A recording
  // delivered before delivered_files existed gets its file and sidecar by name, place unknown.
  async deliveredFiles(chatIds: string[]): Promise<DeliveredFileView[]> {
    const rows = await this.repo.deliveredFilesOfChats(chatIds);
    const out: DeliveredFileView[] = rows.map((f) => ({
      id: f.id,
      recordingId: f.recordingId,
      name: f.name,
      targetFingerprint: f.targetFingerprint,
      targetLabel: f.targetLabel,
    }));
    const recorded = new Set(rows.map((f) => f.recordingId));
    for (const r of await this.repo.deliveredOfChats(chatIds)) {
      if (recorded.has(r.id) || !r.fileName) continue;
      const names = r.profileSidecar && r.profileFormat ? [sidecarFilename(r.fileName, r.profileFormat), r.fileName] : [r.fileName];
      for (const name of names) out.push({ id: stableId(r.id, name), recordingId: r.id, name, targetFingerprint: null, targetLabel: null });
    }
    return out;
  }

  // Where an upload of these chats' undelivered recordings would have left its temporary files (the
  // recording's file, its sidecar and manifest if its profile makes them), relative to the target
  // folder: a delivery that failed or was cut off mid-upload leaves its partial body there until a
  // retry replaces it, and an erased recording is never retried.
  async unfinishedUploads(chatIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const r of await this.repo.namedUndeliveredOfChats(chatIds)) {
      const name = r.fileName as string;
      const names = [name];
      if (r.profileFormat && r.profileSidecar) names.push(sidecarFilename(name, r.profileFormat));
      if (r.profileFormat && r.profileManifest) names.push(manifestFilename(name, r.profileFormat));
      for (const n of names) out.push(temporaryPath({ tempTag: r.id, relPath: n }));
    }
    return out;
  }

  // The SHA-256 (lowercase hex) of delivered files, by their id: the erasure notice names them with
  // it, so that a recipient can tell which manifest of the company chain an erasure removed.
  // Files delivered before delivered_files existed have none.
  async deliveredFileDigests(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const f of await this.repo.deliveredFileDigests(ids.slice(i, i + 500))) out.set(f.id, f.sha256);
    }
    return out;
  }
}

// A UUID-shaped id that is the same every time for the same recording and name.
function stableId(recordingId: string, name: string): string {
  const h = createHash('sha256').update(`${recordingId}\n${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
