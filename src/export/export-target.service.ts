import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { ExportTargetEntity } from './export-target.entity';
import { ExportTargetConfig } from './export-target.types';

const CACHE_MS = 2000;

@Injectable()
export class ExportTargetService {
  // Read for every delivered file; a change on another instance is seen within CACHE_MS.
  private readonly cache = new Map<string, { target: ExportTargetConfig; until: number }>();

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  // Companies without a configured target deliver to the local folder (the embedded default).
  async get(companyId: string): Promise<ExportTargetConfig> {
    const hit = this.cache.get(companyId);
    if (hit && hit.until > Date.now()) return hit.target;
    const row = await this.db.getRepository(ExportTargetEntity).findOneBy({ companyId });
    const target: ExportTargetConfig = row ? (JSON.parse(row.config) as ExportTargetConfig) : { type: 'local' };
    this.cache.set(companyId, { target, until: Date.now() + CACHE_MS });
    return target;
  }

  async put(companyId: string, target: ExportTargetConfig): Promise<void> {
    await this.db.getRepository(ExportTargetEntity).save({ companyId, type: target.type, config: JSON.stringify(target), updatedAt: this.clock.now() });
    this.cache.delete(companyId);
  }
}
