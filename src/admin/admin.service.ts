import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { ChatViewsService } from '../chat/chat-views.service';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { CompanyService } from '../company/company.service';
import { DeliverySignal } from '../export/delivery-signal';
import { ExportTargetService } from '../export/export-target.service';
import { ExportTargetConfig, publicView, SftpTargetConfig } from '../export/export-target.types';
import { privateKeyProblem } from '../export/sftp-private-key';
import { TargetAddressPolicy, TargetRefusedError } from '../export/target-address-policy';
import { DeliveryTransport } from '../export/transport';
import { RateLimiter } from '../auth/rate-limiter';
import { RecordingAdminService } from '../recording/recording-admin.service';
import { CryptoService } from '../security/crypto.service';
import { AuditQueryDto, ExportTargetDto } from './dto/admin.dto';

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
    private readonly recordingAdmin: RecordingAdminService,
    private readonly crypto: CryptoService,
    private readonly chatViews: ChatViewsService,
    private readonly addresses: TargetAddressPolicy,
    private readonly limiter: RateLimiter,
  ) {}

  async exportTarget(p: Principal) {
    await this.companies.get(p.company);
    return publicView(await this.targets.get(p.company));
  }

  async putExportTarget(p: Principal, dto: ExportTargetDto) {
    await this.companies.get(p.company);
    let target: ExportTargetConfig;
    if (dto.type === 'local') target = { type: 'local' };
    else {
      let prevKeyKept: string | undefined;
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
        prevKeyKept = prev.privateKey;
      }
      // A new key is read as the connection will read it: an unusable one is refused now.
      const keyProblem = dto.privateKey && dto.privateKey !== prevKeyKept ? privateKeyProblem(dto.privateKey) : null;
      if (keyProblem) throw AppException.badRequest(`privateKey: ${keyProblem}`);
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
    if (!(await this.limiter.takeExportTargetCheck(p.company))) throw new AppException('rate_limited', 'too many export target checks, try again in a minute');
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
    const { chat, participants, events } = await this.chatViews.adminView(p.company, chatId);
    const recordings = await this.recordingAdmin.ofChat(chatId);
    return { ...chat, participants, recordings, events };
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
