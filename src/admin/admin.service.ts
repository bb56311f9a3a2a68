import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEntity } from '../audit/audit.entity';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { ChatEventEntity } from '../chat/chat-event.entity';
import { ChatEntity } from '../chat/chat.entity';
import { ChatService } from '../chat/chat.service';
import { ParticipantEntity } from '../chat/participant.entity';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { containsCardNumber, redactCardData } from '../common/redact-card-data';
import { cardNumberMessage } from '../common/validators';
import { AgentEntity } from '../company/agent.entity';
import { CompanyEntity } from '../company/company.entity';
import { CompanyService } from '../company/company.service';
import { forUpdate, sqlDate } from '../database/sql';
import { DeliverySignal } from '../export/delivery-signal';
import { ExportTargetService } from '../export/export-target.service';
import { ExportTargetConfig, publicView, SftpTargetConfig } from '../export/export-target.types';
import { TargetAddressPolicy, TargetRefusedError } from '../export/target-address-policy';
import { DeliveryTransport } from '../export/transport';
import { RateLimiter } from '../common/rate-limiter';
import { RecordingAdminService } from '../recording/recording-admin.service';
import { CryptoService } from '../security/crypto.service';
import { AgentSettingsDto, AuditQueryDto, ExportTargetDto, SettingsDto } from './dto/admin.dto';

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// The administrator's side (contract section 6). Every change is audited.
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
    private readonly recordingAdmin: RecordingAdminService,
    private readonly crypto: CryptoService,
    private readonly chats: ChatService,
    private readonly addresses: TargetAddressPolicy,
    private readonly limiter: RateLimiter,
  ) {}

  async settings(p: Principal) {
    const c = await this.companies.get(p.company);
    return settingsView(c);
  }

  async putSettings(p: Principal, dto: SettingsDto) {
    if (dto.timeZone !== undefined && !isValidTimeZone(dto.timeZone)) throw AppException.badRequest(`timeZone "${dto.timeZone}" is not an IANA time zone`);
    await this.companies.get(p.company);
    // null means "not given", like a missing field: no setting can be null.
    const changes = Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined && v !== null));
    const switched = await this.db.transaction(async (m) => {
      // The company row first, then (for a flip of the switch) every open chat in id order: the one
      // lock order every writer of both keeps.
      const before = await forUpdate(m.getRepository(CompanyEntity).createQueryBuilder('c').where('c.id = :id', { id: p.company }), m).getOneOrFail();
      const now = this.clock.now();
      await m.getRepository(CompanyEntity).update({ id: p.company }, { ...changes, updatedAt: now });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'settings.updated', detail: changes }, m);
      if (typeof dto.recordingEnabled !== 'boolean' || dto.recordingEnabled === before.recordingEnabled) return [];
      return this.chats.applyCompanySwitch(m, p.company, dto.recordingEnabled, { role: 'system', id: p.sub, name: `admin ${p.name ?? p.sub}` }, now);
    });
    this.companies.invalidate(p.company);
    this.chats.announceRecordingStates(switched);
    return this.settings(p);
  }

  async agents(p: Principal) {
    await this.companies.get(p.company);
    const rows = await this.db.getRepository(AgentEntity).find({ where: { companyId: p.company }, order: { agentId: 'ASC' } });
    return rows.map(agentView);
  }

  async agent(p: Principal, agentId: string) {
    const row = await this.db.getRepository(AgentEntity).findOneBy({ companyId: p.company, agentId });
    if (row) return agentView(row);
    // An agent never seen has the defaults.
    return { agentId, name: null, login: null, permitRecordings: true, samplingPercent: 100 };
  }

  async putAgent(p: Principal, agentId: string, dto: AgentSettingsDto) {
    if (agentId.length > 128) throw AppException.badRequest('agentId is longer than 128 characters');
    if (containsCardNumber(agentId)) throw AppException.badRequest(cardNumberMessage('agentId'));
    const company = await this.companies.get(p.company);
    // The name is free text: masked (contract section 8); the login is an identifier, refused by the DTO.
    if (typeof dto.name === 'string' && company.redactCardData) dto.name = redactCardData(dto.name);
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const repo = m.getRepository(AgentEntity);
      const existing = await repo.findOneBy({ companyId: p.company, agentId });
      const merged = Object.assign(
        existing ?? { companyId: p.company, agentId, name: null, login: null, permitRecordings: true, samplingPercent: 100, createdAt: now },
        Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined && v !== null)),
        { configured: true, updatedAt: now },
      );
      await repo.save(merged);
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'agent.updated', detail: { agentId, ...dto } }, m);
    });
    return this.agent(p, agentId);
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

  async chat(p: Principal, chatId: string) {
    const chat = await this.db.getRepository(ChatEntity).findOneBy({ id: chatId });
    if (!chat || chat.companyId !== p.company) throw AppException.notFound('chat not found');
    const recordings = await this.recordingAdmin.ofChat(chatId);
    const participants = await this.db.getRepository(ParticipantEntity).find({ where: { chatId }, order: { joinedAt: 'ASC' } });
    const events = await this.db.getRepository(ChatEventEntity).find({ where: { chatId }, order: { afterSeq: 'ASC', at: 'ASC' }, take: 1000 });
    return {
      chatId: chat.id,
      externalId: chat.externalId,
      service: chat.service,
      customer: { id: chat.customerId, name: chat.customerName },
      status: chat.status,
      assignedAgentId: chat.assignedAgentId,
      startedAt: chat.startedAt.toISOString(),
      endedAt: chat.endedAt?.toISOString() ?? null,
      endReason: chat.endReason,
      messageCount: chat.nextSeq - 1,
      flags: {
        paused: chat.paused,
        recordingOff: chat.recordingOff,
        consent: chat.consent,
        discarded: chat.discarded,
        abusive: chat.abusive,
        deletionRequested: chat.deletionRequested,
        deletionConfirmed: chat.deletionConfirmed,
      },
      participants: participants.map((x) => ({
        agentId: x.agentId,
        role: x.role,
        name: x.name,
        permitRecordings: x.permitRecordings,
        joinedAt: x.joinedAt.toISOString(),
        leftAt: x.leftAt?.toISOString() ?? null,
      })),
      recordings,
      events: events.map((e) => ({
        kind: e.kind,
        afterSeq: e.afterSeq,
        actor: { role: e.actorRole, id: e.actorId, name: e.actorName },
        detail: e.detail,
        at: e.at.toISOString(),
      })),
    };
  }

  async auditLog(p: Principal, q: AuditQueryDto) {
    const qb = this.db.getRepository(AuditEntity).createQueryBuilder('a').where('a.company_id = :c', { c: p.company });
    if (q.chatId) qb.andWhere('a.chat_id = :chat', { chat: q.chatId });
    if (q.from) qb.andWhere('a.at >= :from', { from: sqlDate(parseDate(q.from, 'from')) });
    if (q.to) qb.andWhere('a.at <= :to', { to: sqlDate(parseDate(q.to, 'to')) });
    const rows = await qb
      .orderBy('a.at', 'ASC')
      .addOrderBy('a.id', 'ASC')
      .limit(Math.min(Number(q.limit ?? 500), 5000))
      .getMany();
    return rows.map((a) => ({
      id: a.id,
      at: a.at.toISOString(),
      chatId: a.chatId,
      actor: { role: a.actorRole, id: a.actorId },
      action: a.action,
      detail: a.detail ? (JSON.parse(a.detail) as unknown) : null,
    }));
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

function settingsView(c: CompanyEntity) {
  return {
    recordingEnabled: c.recordingEnabled,
    timeZone: c.timeZone,
    idleTimeoutSeconds: c.idleTimeoutSeconds,
    retentionDays: c.retentionDays,
    redactCardData: c.redactCardData,
  };
}

function agentView(a: AgentEntity) {
  return { agentId: a.agentId, name: a.name, login: a.login, permitRecordings: a.permitRecordings, samplingPercent: a.samplingPercent };
}
