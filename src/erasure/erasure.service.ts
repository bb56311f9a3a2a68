import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { ChatErasureService } from '../chat/chat-erasure.service';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { RequestErasureDto } from './dto/erasure.dto';
import { ErasureEntity, ErasureStatus } from './erasure.entity';
import { ErasureRepository } from './erasure.repository';
import { ErasureRunner } from './erasure.runner';

export interface ErasureView {
  erasureId: string;
  status: ErasureStatus;
  requestedAt: string;
  finishedAt: string | null;
  chats: { chatId: string; action: 'erased' | 'held' }[];
  files: { recordingId: string; name: string; action: 'removed' | 'not_found' | 'failed'; error?: string }[];
  notices: { target: string; state: 'pending' | 'delivered' | 'failed'; error?: string }[];
}

// The administrator's side of erasures (contract section 10): request, status, retry. The work
// itself is the runner's.
@Injectable()
export class ErasureService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly repo: ErasureRepository,
    private readonly chats: ChatErasureService,
    private readonly runner: ErasureRunner,
    private readonly audit: AuditService,
  ) {}

  // The chats it covers are fixed now: those of the company with that customer id, or that chat.
  async request(p: Principal, dto: RequestErasureDto): Promise<{ erasureId: string; status: ErasureStatus }> {
    // A null is not given, as everywhere in the API (the DTO's @IsOptional lets it through).
    const customerId = dto.customerId ?? undefined;
    const chatId = dto.chatId ?? undefined;
    const byCustomer = customerId !== undefined;
    if (byCustomer === (chatId !== undefined)) throw AppException.badRequest('exactly one of customerId or chatId is required');
    let chatIds: string[];
    if (chatId !== undefined) {
      if (!(await this.chats.isCompanyChat(p.company, chatId))) throw AppException.notFound('chatId: chat not found');
      chatIds = [chatId];
    } else chatIds = await this.chats.chatIdsOfCustomer(p.company, customerId as string);
    const now = this.clock.now();
    const erasure = Object.assign(new ErasureEntity(), {
      id: newId(),
      companyId: p.company,
      scope: byCustomer ? 'customer' : 'chat',
      status: 'running',
      step: 'chats',
      requestedAt: now,
      requestedBy: p.sub,
      finishedAt: null,
      leaseOwner: null,
      leaseUntil: null,
      updatedAt: now,
    } satisfies ErasureEntity);
    await this.db.transaction(async (m) => {
      await this.repo.create(m, erasure, chatIds);
      // The customer id itself is not written anywhere: the erasure is about removing it.
      await this.audit.record(
        {
          companyId: p.company,
          chatId: dto.chatId ?? null,
          actorRole: p.role,
          actorId: p.sub,
          action: 'erasure.requested',
          detail: { erasureId: erasure.id, by: byCustomer ? 'customerId' : 'chatId', chats: chatIds.length },
        },
        m,
      );
    });
    this.runner.kick();
    return { erasureId: erasure.id, status: erasure.status };
  }

  async get(p: Principal, id: string): Promise<ErasureView> {
    const e = await this.repo.find(id);
    if (!e || e.companyId !== p.company) throw AppException.notFound('erasure not found');
    const [chats, files, notices] = await Promise.all([this.repo.chats(id), this.repo.files(id), this.repo.notices(id)]);
    // Chats and files not settled yet are left out until they are.
    return {
      erasureId: e.id,
      status: e.status,
      requestedAt: e.requestedAt.toISOString(),
      finishedAt: e.finishedAt?.toISOString() ?? null,
      chats: chats.flatMap((c) => (c.action ? [{ chatId: c.chatId, action: c.action }] : [])),
      files: files.flatMap((f) =>
        f.action ? [{ recordingId: f.recordingId, name: f.name, action: f.action, ...(f.action === 'failed' ? { error: f.error ?? 'failed' } : {}) }] : [],
      ),
      notices: notices.map((n) => ({ target: n.targetLabel, state: n.state, ...(n.error ? { error: n.error } : {}) })),
    };
  }

  // Tries a partial erasure's failed removals again and delivers its notices again; for a running
  // or done erasure it changes nothing.
  async retry(p: Principal, id: string): Promise<{ erasureId: string; status: ErasureStatus }> {
    const now = this.clock.now();
    const status = await this.db.transaction(async (m) => {
      const e = await this.repo.find(id, m);
      if (!e || e.companyId !== p.company) throw AppException.notFound('erasure not found');
      if (e.status !== 'partial' || !(await this.repo.reopen(m, id, now))) return e.status;
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'erasure.retried', detail: { erasureId: id } }, m);
      return 'running' as const;
    });
    if (status === 'running') this.runner.kick();
    return { erasureId: id, status };
  }
}
