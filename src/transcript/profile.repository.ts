import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ProfileEntity } from './profile.entity';
import { ProfileSnapshot } from './recording-snapshot';

// profiles belong to transcript: a profile is how a recording is rendered and named.
@Injectable()
export class ProfileRepository {
  constructor(private readonly db: DataSource) {}

  async find(companyId: string, name: string, m: EntityManager = this.db.manager): Promise<ProfileSnapshot | null> {
    const p = await m.getRepository(ProfileEntity).findOneBy({ companyId, name });
    return p ? { filenameTemplate: p.filenameTemplate, format: p.format, sidecar: p.sidecar } : null;
  }
}
