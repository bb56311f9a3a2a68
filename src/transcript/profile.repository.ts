import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ProfileEntity } from './profile.entity';
import { ProfileSnapshot } from './recording-snapshot';

export interface ProfileRow extends ProfileSnapshot {
  name: string;
}

function rowOf(p: ProfileEntity): ProfileRow {
  return { name: p.name, filenameTemplate: p.filenameTemplate, format: p.format, sidecar: p.sidecar, manifest: p.manifest };
}

// profiles belong to transcript: a profile is how a recording is rendered and named.
@Injectable()
export class ProfileRepository {
  constructor(private readonly db: DataSource) {}

  async list(companyId: string): Promise<ProfileRow[]> {
    const rows = await this.db.getRepository(ProfileEntity).find({ where: { companyId }, order: { name: 'ASC' } });
    return rows.map(rowOf);
  }

  async findRow(companyId: string, name: string, m: EntityManager = this.db.manager): Promise<ProfileRow | null> {
    const p = await m.getRepository(ProfileEntity).findOneBy({ companyId, name });
    return p ? rowOf(p) : null;
  }

  async insert(m: EntityManager, row: ProfileRow & { companyId: string; createdAt: Date; updatedAt: Date }): Promise<void> {
    await m.getRepository(ProfileEntity).insert(row);
  }

  async insertIgnore(m: EntityManager, row: ProfileRow & { companyId: string; createdAt: Date; updatedAt: Date }): Promise<void> {
    await m.createQueryBuilder().insert().into(ProfileEntity).values(row).orIgnore().execute();
  }

  async save(m: EntityManager, row: ProfileRow & { companyId: string; createdAt: Date; updatedAt: Date }): Promise<void> {
    await m.getRepository(ProfileEntity).save(row);
  }

  async createdAt(m: EntityManager, companyId: string, name: string): Promise<Date | null> {
    return (await m.getRepository(ProfileEntity).findOneBy({ companyId, name }))?.createdAt ?? null;
  }

  async delete(m: EntityManager, companyId: string, name: string): Promise<void> {
    await m.getRepository(ProfileEntity).delete({ companyId, name });
  }

  async find(companyId: string, name: string, m: EntityManager = this.db.manager): Promise<ProfileSnapshot | null> {
    const p = await m.getRepository(ProfileEntity).findOneBy({ companyId, name });
    return p ? { filenameTemplate: p.filenameTemplate, format: p.format, sidecar: p.sidecar, manifest: p.manifest } : null;
  }
}
