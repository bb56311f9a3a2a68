import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { ChatViewsService } from '../chat/chat-views.service';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { containsCardNumber } from '../common/redact-card-data';
import { cardNumberMessage } from '../common/validators';
import { CompanyService } from '../company/company.service';
import { DeliveryJobEntity } from '../export/delivery-job.entity';
import { DeliverySignal } from '../export/delivery-signal';
import { ExportTargetService } from '../export/export-target.service';
import { ExportTargetConfig, publicView, SftpTargetConfig } from '../export/export-target.types';
import { TargetAddressPolicy, TargetRefusedError } from '../export/target-address-policy';
import { DeliveryTransport } from '../export/transport';
import { RateLimiter } from '../auth/rate-limiter';
import { RecordingEntity } from '../recording/recording.entity';
import { CryptoService } from '../security/crypto.service';
import { checkFilenameTemplate, FilenameTemplateError } from '../transcript/filename-template';
import { ProfileEntity } from '../transcript/profile.entity';
import { AuditQueryDto, CreateProfileDto, ExportTargetDto, ProfileBodyDto, RecordingQueryDto } from './dto/admin.dto';

// The administrator's side (contract section 6) beyond the settings: profiles, the export target,
// the encryption key, recordings, chats and the audit trail. Every change is audited.
@Injectable()
export class AdminService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly companies: CompanyService,
    private readonly audit: AuditService,
    private readonly targets: ExportTargetService,
    private readonly transport: DeliveryTransport,
    private readonly delivery: DeliverySignal,
    private readonly crypto: CryptoService,
    private readonly chatViews: ChatViewsService,
    private readonly addresses: TargetAddressPolicy,
    private readonly limiter: RateLimiter,
  ) {}

  async profiles(p: Principal) {
    await this.companies.get(p.company);
    const rows = await this.db.getRepository(ProfileEntity).find({ where: { companyId: p.company }, order: { name: 'ASC' } });
    return rows.map(profileView);
  }

  async profile(p: Principal, name: string) {
    await this.companies.get(p.company);
    const row = await this.db.getRepository(ProfileEntity).findOneBy({ companyId: p.company, name });
    if (!row) throw AppException.notFound(`profile "${name}" not found`);
    return profileView(row);
  }

  async preview(p: Principal, template: string, format: 'text' | 'json' | 'html') {
    const company = await this.companies.get(p.company);
    return { example: this.checkTemplate(template, format, company.timeZone) };
  }

  async createProfile(p: Principal, dto: CreateProfileDto) {
    const company = await this.companies.get(p.company);
    this.checkTemplate(dto.filenameTemplate, dto.format, company.timeZone);
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const repo = m.getRepository(ProfileEntity);
      if (await repo.findOneBy({ companyId: p.company, name: dto.name })) throw AppException.conflict(`profile "${dto.name}" already exists`);
      await repo.insert({
        companyId: p.company,
        name: dto.name,
        filenameTemplate: dto.filenameTemplate,
        format: dto.format,
        sidecar: dto.sidecar ?? dto.metadataSidecar ?? false,
        createdAt: now,
        updatedAt: now,
      });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.created', detail: { ...dto } }, m);
    });
    return this.profile(p, dto.name);
  }

  async putProfile(p: Principal, name: string, dto: ProfileBodyDto) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw AppException.badRequest('name must be letters, digits, . _ - (up to 64)');
    if (containsCardNumber(name)) throw AppException.badRequest(cardNumberMessage('name'));
    const company = await this.companies.get(p.company);
    this.checkTemplate(dto.filenameTemplate, dto.format, company.timeZone);
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const repo = m.getRepository(ProfileEntity);
      const existing = await repo.findOneBy({ companyId: p.company, name });
      await repo.save({
        companyId: p.company,
        name,
        filenameTemplate: dto.filenameTemplate,
        format: dto.format,
        sidecar: dto.sidecar ?? dto.metadataSidecar ?? false,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.updated', detail: { name, ...dto } }, m);
    });
    return this.profile(p, name);
  }

  async deleteProfile(p: Principal, name: string) {
    if (name === 'agent') throw AppException.conflict('the built-in profile "agent" can be edited but not deleted');
    await this.profile(p, name);
    await this.db.transaction(async (m) => {
      await m.getRepository(ProfileEntity).delete({ companyId: p.company, name });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.deleted', detail: { name } }, m);
    });
  }

  private checkTemplate(template: string, format: 'text' | 'json' | 'html', timeZone: string): string {
    // A literal in the template ends up in every delivered file name.
    if (containsCardNumber(template)) throw AppException.badRequest(cardNumberMessage('filenameTemplate'));
    try {
      return checkFilenameTemplate(template, format, timeZone).example;
    } catch (err) {
      if (err instanceof FilenameTemplateError) throw AppException.badRequest(`filenameTemplate: ${err.reason}`);
      throw err;
    }
  }

  async exportTarget(p: Principal) {
    await this.companies.get(p.company);
    return publicView(await this.targets.get(p.company));
  }

  async putExportTarget(p: Principal, dto: ExportTargetDto) {
    await this.companies.get(p.company);
    let target: ExportTargetConfig;
    if (dto.type === 'local') target = { type: 'local' };
    else {
      if (!dto.password && !dto.privateKey) {
        // Secrets are write-only: an update without one keeps the stored one, but only for the
        // same host, port and user it was given for; it never follows the target elsewhere.
        const prev = await this.targets.get(p.company);
        if (prev.type !== 'sftp' || (!prev.password && !prev.privateKey))
          throw AppException.badRequest('password or privateKey is required for an sftp target');
        const moved = secretBoundFieldChanged(prev, dto);
        if (moved) throw AppException.badRequest(`password or privateKey is required again when ${moved} changes`);
        dto.password = prev.password;
        dto.privateKey = prev.privateKey;
      }
      // The same address policy as every connection: refused here already, naming the field.
      try {
        await this.addresses.assertAllowed(dto.host as string);
      } catch (err) {
        if (err instanceof TargetRefusedError) throw AppException.badRequest(`host: ${err.message}`);
        throw err;
      }
      target = {
        type: 'sftp',
        host: dto.host as string,
        port: dto.port as number,
        username: dto.username as string,
        ...(dto.password ? { password: dto.password } : {}),
        ...(dto.privateKey ? { privateKey: dto.privateKey } : {}),
        remoteDir: dto.remoteDir as string,
        hostKeySha256: dto.hostKeySha256 as string,
      };
    }
    await this.targets.put(p.company, target);
    await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'export_target.updated', detail: publicView(target) });
    return publicView(target);
  }

  async checkExportTarget(p: Principal) {
    if (!this.limiter.takeExportTargetCheck(p.company)) throw new AppException('rate_limited', 'too many export target checks, try again in a minute');
    await this.companies.get(p.company);
    const target = await this.targets.get(p.company);
    try {
      await this.transport.check(target, p.company);
      return { ok: true };
    } catch (err) {
      // The same shape as a refused socket event: a failed check is an answer, not an HTTP error.
      // Network failures all carry one message (the transport's); see docs/security.md.
      if (err instanceof TargetRefusedError) return { ok: false, error: { code: 'forbidden', message: err.message } };
      return { ok: false, error: { code: 'unavailable', message: (err as Error).message } };
    }
  }

  async encryptionKey(p: Principal) {
    await this.companies.get(p.company);
    return this.crypto.keyStatus(p.company);
  }

  // Crypto-shredding: the company's stored message bodies become unreadable for good.
  async eraseEncryptionKey(p: Principal) {
    await this.companies.get(p.company);
    await this.db.transaction(async (m) => {
      await this.crypto.eraseCompanyKey(p.company, m);
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'encryption_key.erased' }, m);
    });
    this.crypto.forget(p.company);
    return { erased: true };
  }

  async recordings(p: Principal, q: RecordingQueryDto) {
    const where: Record<string, unknown> = { companyId: p.company };
    if (q.chatId) where.chatId = q.chatId;
    if (q.status) where.status = q.status;
    const rows = await this.db.getRepository(RecordingEntity).find({ where, order: { createdAt: 'DESC' }, take: Math.min(Number(q.limit ?? 100), 1000) });
    return rows.map(recordingView);
  }

  async recording(p: Principal, id: string) {
    const row = await this.db.getRepository(RecordingEntity).findOneBy({ id });
    if (!row || row.companyId !== p.company) throw AppException.notFound('recording not found');
    return recordingView(row);
  }

  async retry(p: Principal, id: string) {
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const rec = await m.getRepository(RecordingEntity).findOneBy({ id });
      if (!rec || rec.companyId !== p.company) throw AppException.notFound('recording not found');
      if (rec.status !== 'failed') throw AppException.conflict(`only a failed recording can be retried (this one is ${rec.status})`);
      await m.getRepository(RecordingEntity).update({ id }, { status: 'pending', lastError: null, updatedAt: now });
      await m
        .getRepository(DeliveryJobEntity)
        .update({ recordingId: id }, { state: 'queued', attempts: 0, nextAttemptAt: now, leaseOwner: null, leaseUntil: null, updatedAt: now });
      await this.audit.record(
        { companyId: p.company, chatId: rec.chatId, actorRole: p.role, actorId: p.sub, action: 'recording.retried', detail: { recordingId: id } },
        m,
      );
    });
    this.delivery.wake();
    return this.recording(p, id);
  }

  async chat(p: Principal, chatId: string) {
    const { chat, participants, events } = await this.chatViews.adminView(p.company, chatId);
    const recordings = await this.db.getRepository(RecordingEntity).find({ where: { chatId }, order: { createdAt: 'ASC' } });
    return { ...chat, participants, recordings: recordings.map(recordingView), events };
  }

  async auditLog(p: Principal, q: AuditQueryDto) {
    return this.audit.list({
      companyId: p.company,
      chatId: q.chatId,
      from: q.from ? parseDate(q.from, 'from') : undefined,
      to: q.to ? parseDate(q.to, 'to') : undefined,
      limit: Math.min(Number(q.limit ?? 500), 5000),
    });
  }
}

// The fields a stored secret is bound to; the first one the update changes, or null.
function secretBoundFieldChanged(prev: SftpTargetConfig, dto: ExportTargetDto): 'host' | 'port' | 'username' | null {
  if ((dto.host ?? '').trim().toLowerCase() !== prev.host.trim().toLowerCase()) return 'host';
  if (dto.port !== prev.port) return 'port';
  if (dto.username !== prev.username) return 'username';
  return null;
}

function parseDate(v: string, field: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw AppException.badRequest(`${field} must be an ISO date`);
  return d;
}

function profileView(r: ProfileEntity) {
  return { name: r.name, filenameTemplate: r.filenameTemplate, format: r.format, sidecar: r.sidecar, metadataSidecar: r.sidecar, builtin: r.name === 'agent' };
}

export function recordingView(r: RecordingEntity) {
  return {
    id: r.id,
    chatId: r.chatId,
    kind: r.kind,
    profile: r.profileName,
    recordingName: r.profileName,
    label: r.label,
    agentId: r.agentId,
    status: r.status,
    outcome: r.outcomeReason ? { produced: !['suppressed'].includes(r.status), reason: r.outcomeReason, explanation: r.outcomeDetail } : null,
    sampling: r.kind === 'agent' ? { sampledIn: r.sampledIn, reason: r.samplingReason } : null,
    startedAt: r.startedAt.toISOString(),
    stoppedAt: r.stoppedAt?.toISOString() ?? null,
    fileName: r.fileName,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    attempts: r.attempts,
    lastError: r.lastError,
  };
}
