import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { forUpdate } from '../database/sql';
import { AgentEntity } from './agent.entity';
import { CompanyEntity } from './company.entity';

export interface CompanySettingsView {
  recordingEnabled: boolean;
  timeZone: string;
  idleTimeoutSeconds: number;
  retentionDays: number;
  redactCardData: boolean;
}

export type CompanySettingsChanges = Partial<CompanySettingsView>;

export interface AgentSettingsView {
  agentId: string;
  name: string | null;
  login: string | null;
  permitRecordings: boolean;
  samplingPercent: number;
}

export type AgentSettingsChanges = Partial<Omit<AgentSettingsView, 'agentId'>>;

// The administrator's view and changes of the companies and agents tables. The caller holds the
// transaction (an admin's change is audited in it, and a flip of the recording switch goes on to
// the chats under the same lock), so the writes take its EntityManager.
@Injectable()
export class CompanySettingsService {
  constructor(private readonly db: DataSource) {}

  // Locks the company row (FOR UPDATE: the first lock of a switch, before any chat) and writes the
  // changes; returns the recording switch as it was before.
  async updateLocked(m: EntityManager, companyId: string, changes: CompanySettingsChanges, now: Date): Promise<{ recordingEnabled: boolean }> {
    const before = await forUpdate(m.getRepository(CompanyEntity).createQueryBuilder('c').where('c.id = :id', { id: companyId }), m).getOneOrFail();
    await m.getRepository(CompanyEntity).update({ id: companyId }, { ...changes, updatedAt: now });
    return { recordingEnabled: before.recordingEnabled };
  }

  async agents(companyId: string): Promise<AgentSettingsView[]> {
    const rows = await this.db.getRepository(AgentEntity).find({ where: { companyId }, order: { agentId: 'ASC' } });
    return rows.map(agentView);
  }

  async agent(companyId: string, agentId: string): Promise<AgentSettingsView | null> {
    const row = await this.db.getRepository(AgentEntity).findOneBy({ companyId, agentId });
    return row ? agentView(row) : null;
  }

  // Creates the agent's row with the defaults if it was never seen, and marks it configured.
  async putAgent(m: EntityManager, companyId: string, agentId: string, changes: AgentSettingsChanges, now: Date): Promise<void> {
    const repo = m.getRepository(AgentEntity);
    const existing = await repo.findOneBy({ companyId, agentId });
    const merged = Object.assign(
      existing ?? { companyId, agentId, name: null, login: null, permitRecordings: true, samplingPercent: 100, createdAt: now },
      changes,
      { configured: true, updatedAt: now },
    );
    await repo.save(merged);
  }
}

export function settingsView(c: CompanySettingsView): CompanySettingsView {
  return {
    recordingEnabled: c.recordingEnabled,
    timeZone: c.timeZone,
    idleTimeoutSeconds: c.idleTimeoutSeconds,
    retentionDays: c.retentionDays,
    redactCardData: c.redactCardData,
  };
}

// The name and login the files use: the admin's, else the agent's latest token's.
function agentView(a: AgentEntity): AgentSettingsView {
  return {
    agentId: a.agentId,
    name: a.name ?? a.tokenName,
    login: a.login ?? a.tokenLogin,
    permitRecordings: a.permitRecordings,
    samplingPercent: a.samplingPercent,
  };
}
