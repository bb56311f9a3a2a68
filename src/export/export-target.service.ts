import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppException } from '../common/app.exception';
import { boundedCache } from '../common/bounded-cache';
import { Clock } from '../common/clock';
import { CryptoService, DecryptionError } from '../security/crypto.service';
import { ExportTargetEntity } from './export-target.entity';
import { ExportTargetConfig } from './export-target.types';

const CACHE_MS = 2000;
export const MAX_CACHED_TARGETS = 10_000;

@Injectable()
export class ExportTargetService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly crypto: CryptoService,
  ) {}

  // Read for every delivered file; a change on another instance is seen within CACHE_MS.
  private readonly cache = boundedCache<ExportTargetConfig>({ max: MAX_CACHED_TARGETS, ttlMs: CACHE_MS, clock: this.clock });

  // Companies without a configured target deliver to the local folder (the embedded default).
  async get(companyId: string): Promise<ExportTargetConfig> {
    const hit = this.cache.get(companyId);
    if (hit) return hit;
    const row = await this.db.getRepository(ExportTargetEntity).findOneBy({ companyId });
    const target: ExportTargetConfig = row ? this.open(JSON.parse(row.config) as ExportTargetConfig) : { type: 'local' };
    this.cache.set(companyId, target);
    return target;
  }

  // Secrets are stored sealed; the rest of the config stays readable for operators.
  async put(companyId: string, target: ExportTargetConfig): Promise<void> {
    const stored: ExportTargetConfig =
      target.type === 'sftp'
        ? {
            ...target,
            ...(target.password ? { password: this.crypto.sealSecret(target.password) } : {}),
            ...(target.privateKey ? { privateKey: this.crypto.sealSecret(target.privateKey) } : {}),
          }
        : target;
    await this.db.getRepository(ExportTargetEntity).save({ companyId, type: target.type, config: JSON.stringify(stored), updatedAt: this.clock.now() });
    this.cache.delete(companyId);
  }

  // Rows written before secrets were sealed hold them in plain text; they still read.
  private open(target: ExportTargetConfig): ExportTargetConfig {
    if (target.type !== 'sftp') return target;
    try {
      return {
        ...target,
        ...(target.password ? { password: this.crypto.openSecret(target.password) } : {}),
        ...(target.privateKey ? { privateKey: this.crypto.openSecret(target.privateKey) } : {}),
      };
    } catch (err) {
      if (err instanceof DecryptionError) throw AppException.conflict(`export target: ${err.message}`);
      throw err;
    }
  }
}
