import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { RecordingControlsService } from '../chat/recording-controls.service';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { containsCardNumber, redactCardData } from '../common/redact-card-data';
import { cardNumberMessage } from '../common/validators';
import { AgentSettingsChanges, CompanySettingsChanges, CompanySettingsService, settingsView } from '../company/company-settings.service';
import { CompanyService } from '../company/company.service';
import { AgentSettingsDto, SettingsDto } from './dto/admin.dto';

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// The administrator's company settings and agent settings (contract section 6). Every change is
// audited; flipping the recording switch tells every open chat after the commit.
@Injectable()
export class AdminSettingsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly companies: CompanyService,
    private readonly companySettings: CompanySettingsService,
    private readonly audit: AuditService,
    private readonly chats: RecordingControlsService,
  ) {}

  async settings(p: Principal) {
    const c = await this.companies.get(p.company);
    return settingsView(c);
  }

  async putSettings(p: Principal, dto: SettingsDto) {
    if (dto.timeZone !== undefined && !isValidTimeZone(dto.timeZone)) throw AppException.badRequest(`timeZone "${dto.timeZone}" is not an IANA time zone`);
    await this.companies.get(p.company);
    // null means "not given", like a missing field: no setting can be null.
    const changes = Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined && v !== null)) as CompanySettingsChanges;
    const switched = await this.db.transaction(async (m) => {
      // The company row first, then (for a flip of the switch) every open chat in id order: the one
      // lock order every writer of both keeps.
      const now = this.clock.now();
      const before = await this.companySettings.updateLocked(m, p.company, changes, now);
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
    return this.companySettings.agents(p.company);
  }

  async agent(p: Principal, agentId: string) {
    const row = await this.companySettings.agent(p.company, agentId);
    if (row) return row;
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
      const changes = Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined && v !== null)) as AgentSettingsChanges;
      await this.companySettings.putAgent(m, p.company, agentId, changes, now);
      await this.audit.record({ companyId: p.company, actorRole: p.role, actorId: p.sub, action: 'agent.updated', detail: { agentId, ...dto } }, m);
    });
    return this.agent(p, agentId);
  }
}
