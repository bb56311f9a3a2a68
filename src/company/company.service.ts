import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { boundedCache } from '../common/bounded-cache';
import { Clock } from '../common/clock';
import { boolOf, isMysql } from '../database/sql';
import { ProfileService } from '../transcript/profile.service';
import { AgentEntity } from './agent.entity';
import { CompanyEntity } from './company.entity';

const SETTINGS_TTL_MS = 2000;
// Bounded: a flood of tokens naming new companies must not grow the memory without limit.
export const MAX_CACHED_COMPANIES = 10_000;

// Companies need no provisioning: the first token naming one creates it with the defaults.
// Settings are read on hot paths (every message), so they are cached briefly.
@Injectable()
export class CompanyService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly profiles: ProfileService,
  ) {}

  private readonly cache = boundedCache<CompanyEntity>({ max: MAX_CACHED_COMPANIES, ttlMs: SETTINGS_TTL_MS, clock: this.clock });

  async get(companyId: string): Promise<CompanyEntity> {
    const hit = this.cache.get(companyId);
    if (hit) return hit;
    let company = await this.db.getRepository(CompanyEntity).findOneBy({ id: companyId });
    if (!company) company = await this.create(companyId);
    this.cache.set(companyId, company);
    return company;
  }

  invalidate(companyId: string): void {
    this.cache.delete(companyId);
  }

  // The idle timeout as committed, read in the caller's transaction without the cache: for the
  // decision taken under a chat's lock (ending an idle chat), which must not act on a value up to
  // 2 s old. Null when the company has no row. Raw SQL sent at the call, so that it can go with
  // other reads in one query (readTogether).
  async idleTimeoutSecondsNow(m: EntityManager, companyId: string): Promise<number | null> {
    const rows = (await m.query('SELECT idle_timeout_seconds FROM companies WHERE id = ?', [companyId])) as { idle_timeout_seconds: number | string }[];
    return rows.length === 0 ? null : Number(rows[0].idle_timeout_seconds);
  }

  // The recording switch as a chat's creating transaction sees it, under a shared lock on the
  // company row: an admin's switch either committed before, or waits and then finds the new chat.
  async recordingSwitchForNewChat(m: EntityManager, companyId: string): Promise<boolean> {
    const rows = (await m.query(`SELECT recording_enabled FROM companies WHERE id = ?${isMysql(m) ? ' LOCK IN SHARE MODE' : ''}`, [companyId])) as {
      recording_enabled: number | boolean;
    }[];
    return rows.length === 0 || boolOf(rows[0].recording_enabled);
  }

  private async create(companyId: string): Promise<CompanyEntity> {
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(CompanyEntity)
        .values({
          id: companyId,
          recordingEnabled: true,
          timeZone: 'UTC',
          idleTimeoutSeconds: 1800,
          retentionDays: 30,
          redactCardData: true,
          createdAt: now,
          updatedAt: now,
        })
        .orIgnore()
        .execute();
      await this.profiles.ensureBuiltin(m, companyId, now);
    });
    return this.db.getRepository(CompanyEntity).findOneByOrFail({ id: companyId });
  }

  // Agent settings with defaults; the row is created when an agent is first seen so that admins
  // can list and configure them. The token's name and login are kept whether or not the admin
  // configured the agent (in their own columns: the admin's values are never overwritten).
  async agentSettings(m: EntityManager, companyId: string, agentId: string, seen?: { name?: string; login?: string }): Promise<AgentEntity> {
    const repo = m.getRepository(AgentEntity);
    const existing = await repo.findOneBy({ companyId, agentId });
    if (existing) {
      if (seen && ((seen.name && seen.name !== existing.tokenName) || (seen.login && seen.login !== existing.tokenLogin))) {
        // Only the token's columns: an admin's change committed meanwhile is not written over.
        const changes = { tokenName: seen.name ?? existing.tokenName, tokenLogin: seen.login ?? existing.tokenLogin, updatedAt: this.clock.now() };
        await repo.update({ companyId, agentId }, changes);
        Object.assign(existing, changes);
      }
      return existing;
    }
    const now = this.clock.now();
    await m
      .createQueryBuilder()
      .insert()
      .into(AgentEntity)
      .values({
        companyId,
        agentId,
        name: null,
        login: null,
        tokenName: seen?.name ?? null,
        tokenLogin: seen?.login ?? null,
        permitRecordings: true,
        samplingPercent: 100,
        configured: false,
        createdAt: now,
        updatedAt: now,
      })
      .orIgnore()
      .execute();
    return repo.findOneByOrFail({ companyId, agentId });
  }
}
