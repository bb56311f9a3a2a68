import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { CompanyEntity } from './company.entity';
import { CompanyService } from './company.service';
import { boolOf, marks } from '../database/sql';

export interface AgentFacts {
  agentId: string;
  login: string | null;
  name: string | null;
  permitRecordings: boolean;
}

export interface CompanyFacts {
  timeZone: string;
  retentionDays: number;
}

// What other features may know of companies and agents, as plain data (companies and agents
// belong to company).
@Injectable()
export class CompanyDirectory {
  constructor(
    private readonly db: DataSource,
    private readonly companies: CompanyService,
  ) {}

  // Cached settings (a couple of seconds old at most).
  async facts(companyId: string): Promise<CompanyFacts> {
    const c = await this.companies.get(companyId);
    return { timeZone: c.timeZone, retentionDays: c.retentionDays };
  }

  // The switch as it is now, read from the database (never a cache), without a lock: the admin's
  // switch holds the company row while it waits for chat rows.
  async recordingEnabledNow(m: EntityManager, companyId: string): Promise<boolean> {
    const fresh = (await m.query('SELECT recording_enabled FROM companies WHERE id = ?', [companyId])) as { recording_enabled: number | boolean }[];
    return fresh.length > 0 && boolOf(fresh[0].recording_enabled);
  }

  // Each company's retention as committed (no cache); a company without a row is left out.
  async retentionDays(companyIds: string[]): Promise<Map<string, number>> {
    if (companyIds.length === 0) return new Map();
    const rows = await this.db.getRepository(CompanyEntity).find({ select: { id: true, retentionDays: true }, where: { id: In(companyIds) } });
    return new Map(rows.map((c) => [c.id, c.retentionDays]));
  }

  // Raw SQL: read for every delivered recording. Login and name are each the admin's, else the
  // latest token's (contract section 5).
  async agents(companyId: string, agentIds: string[], m: EntityManager = this.db.manager): Promise<AgentFacts[]> {
    if (agentIds.length === 0) return [];
    const rows = (await m.query(
      `SELECT agent_id, COALESCE(login, token_login) AS login, COALESCE(name, token_name) AS name, permit_recordings
        FROM agents WHERE company_id = ? AND agent_id IN (${marks(agentIds.length)})`,
      [companyId, ...agentIds],
    )) as { agent_id: string; login: string | null; name: string | null; permit_recordings: number | string | boolean }[];
    return rows.map((a) => ({ agentId: a.agent_id, login: a.login, name: a.name, permitRecordings: boolOf(a.permit_recordings) }));
  }
}
