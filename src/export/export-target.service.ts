import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { ExportTargetEntity } from './export-target.entity';
import { ExportTargetConfig } from './export-target.types';

@Injectable()
export class ExportTargetService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  // Companies without a configured target deliver to the local folder (the embedded default).
  async get(companyId: string): Promise<ExportTargetConfig> {
    const row = await this.db.getRepository(ExportTargetEntity).findOneBy({ companyId });
    if (!row) return { type: 'local' };
    return JSON.parse(row.config) as ExportTargetConfig;
  }

  async put(companyId: string, target: ExportTargetConfig): Promise<void> {
    await this.db.getRepository(ExportTargetEntity).save({ companyId, type: target.type, config: JSON.stringify(target), updatedAt: this.clock.now() });
  }
}
