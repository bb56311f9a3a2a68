import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { DeliveryOutbox } from '../export/delivery-outbox';
import { DeliverySignal } from '../export/delivery-signal';
import { RecordingRepository } from './recording.repository';
import { RecordingStatus } from './recording.entity';
import { recordingView, RecordingView } from './recording.view';

export interface RecordingQuery {
  chatId?: string;
  status?: string;
  limit?: string;
}

// The administrator's view of recordings and the retry of a failed delivery (contract section 6).
@Injectable()
export class RecordingAdminService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly recordings: RecordingRepository,
    private readonly outbox: DeliveryOutbox,
    private readonly delivery: DeliverySignal,
    private readonly audit: AuditService,
  ) {}

  async list(p: Principal, q: RecordingQuery): Promise<RecordingView[]> {
    const rows = await this.recordings.search(
      { companyId: p.company, chatId: q.chatId, status: q.status as RecordingStatus | undefined },
      Math.min(Number(q.limit ?? 100), 1000),
    );
    return rows.map(recordingView);
  }

  async get(p: Principal, id: string): Promise<RecordingView> {
    const row = await this.recordings.find(id);
    if (!row || row.companyId !== p.company) throw AppException.notFound('recording not found');
    return recordingView(row);
  }

  // In creation order; the caller has checked the chat is the company's.
  async ofChat(chatId: string): Promise<RecordingView[]> {
    return (await this.recordings.listForChat(this.db.manager, chatId)).map(recordingView);
  }

  async retry(p: Principal, id: string): Promise<RecordingView> {
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const rec = await this.recordings.find(id, m);
      if (!rec || rec.companyId !== p.company) throw AppException.notFound('recording not found');
      if (rec.status !== 'failed') throw AppException.conflict(`only a failed recording can be retried (this one is ${rec.status})`);
      await this.recordings.update(m, id, { status: 'pending', lastError: null, updatedAt: now });
      await this.outbox.requeue(m, id, now);
      await this.audit.record(
        { companyId: p.company, chatId: rec.chatId, actorRole: p.role, actorId: p.sub, action: 'recording.retried', detail: { recordingId: id } },
        m,
      );
    });
    this.delivery.wake();
    return this.get(p, id);
  }
}
