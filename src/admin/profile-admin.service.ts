import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { containsCardNumber } from '../common/redact-card-data';
import { cardNumberMessage } from '../common/validators';
import { CompanyDirectory } from '../company/company-directory';
import { DataSource } from 'typeorm';
import { checkFilenameTemplate, FilenameTemplateError, TranscriptFormat } from '../transcript/filename-template';
import { ProfileRow, ProfileService } from '../transcript/profile.service';

export interface ProfileBody {
  filenameTemplate: string;
  format: TranscriptFormat;
  sidecar?: boolean;
  metadataSidecar?: boolean;
  manifest?: boolean;
}

// The administrator's profiles (contract section 6). Every change is audited. Reading a company's
// profiles first makes sure the company exists (with its built-in "agent" profile).
@Injectable()
export class ProfileAdminService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly profiles: ProfileService,
    private readonly companies: CompanyDirectory,
    private readonly audit: AuditService,
  ) {}

  async list(p: Principal) {
    await this.companies.facts(p.company);
    return (await this.profiles.list(p.company)).map(profileView);
  }

  async get(p: Principal, name: string) {
    await this.companies.facts(p.company);
    const row = await this.profiles.findRow(p.company, name);
    if (!row) throw AppException.notFound(`profile "${name}" not found`);
    return profileView(row);
  }

  async preview(p: Principal, template: string, format: TranscriptFormat) {
    const company = await this.companies.facts(p.company);
    return { example: checkTemplate(template, format, company.timeZone) };
  }

  async create(p: Principal, dto: ProfileBody & { name: string }) {
    const company = await this.companies.facts(p.company);
    checkTemplate(dto.filenameTemplate, dto.format, company.timeZone);
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      if (await this.profiles.findRow(p.company, dto.name, m)) throw AppException.conflict(`profile "${dto.name}" already exists`);
      await this.profiles.insert(m, {
        companyId: p.company,
        name: dto.name,
        filenameTemplate: dto.filenameTemplate,
        format: dto.format,
        sidecar: dto.sidecar ?? dto.metadataSidecar ?? false,
        manifest: dto.manifest ?? false,
        createdAt: now,
        updatedAt: now,
      });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.created', detail: { ...dto } }, m);
    });
    return this.get(p, dto.name);
  }

  async put(p: Principal, name: string, dto: ProfileBody) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw AppException.badRequest('name must be letters, digits, . _ - (up to 64)');
    if (containsCardNumber(name)) throw AppException.badRequest(cardNumberMessage('name'));
    const company = await this.companies.facts(p.company);
    checkTemplate(dto.filenameTemplate, dto.format, company.timeZone);
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const createdAt = await this.profiles.createdAt(m, p.company, name);
      await this.profiles.save(m, {
        companyId: p.company,
        name,
        filenameTemplate: dto.filenameTemplate,
        format: dto.format,
        sidecar: dto.sidecar ?? dto.metadataSidecar ?? false,
        manifest: dto.manifest ?? false,
        createdAt: createdAt ?? now,
        updatedAt: now,
      });
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.updated', detail: { name, ...dto } }, m);
    });
    return this.get(p, name);
  }

  async delete(p: Principal, name: string) {
    if (name === 'agent') throw AppException.conflict('the built-in profile "agent" can be edited but not deleted');
    await this.get(p, name);
    await this.db.transaction(async (m) => {
      await this.profiles.delete(m, p.company, name);
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'profile.deleted', detail: { name } }, m);
    });
  }
}

function checkTemplate(template: string, format: TranscriptFormat, timeZone: string): string {
  // A literal in the template ends up in every delivered file name.
  if (containsCardNumber(template)) throw AppException.badRequest(cardNumberMessage('filenameTemplate'));
  try {
    return checkFilenameTemplate(template, format, timeZone).example;
  } catch (err) {
    if (err instanceof FilenameTemplateError) throw AppException.badRequest(`filenameTemplate: ${err.reason}`);
    throw err;
  }
}

function profileView(r: ProfileRow) {
  return {
    name: r.name,
    filenameTemplate: r.filenameTemplate,
    format: r.format,
    sidecar: r.sidecar,
    metadataSidecar: r.sidecar,
    manifest: r.manifest,
    builtin: r.name === 'agent',
  };
}
