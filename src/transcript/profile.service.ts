import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ProfileRepository, ProfileRow } from './profile.repository';
import { ProfileSnapshot } from './recording-snapshot';

export type { ProfileRow } from './profile.repository';

// The profile every company starts with, and the one a recording falls back to when the company
// has deleted its "agent" profile.
export const BUILTIN_AGENT_PROFILE = {
  name: 'agent',
  filenameTemplate: '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}',
  format: 'text' as const,
  sidecar: false,
  manifest: false,
};

type StoredProfile = ProfileRow & { companyId: string; createdAt: Date; updatedAt: Date };

// What other features may do with profiles; the table itself stays behind ProfileRepository,
// which only transcript uses.
@Injectable()
export class ProfileService {
  constructor(private readonly profiles: ProfileRepository) {}

  list(companyId: string): Promise<ProfileRow[]> {
    return this.profiles.list(companyId);
  }

  findRow(companyId: string, name: string, m?: EntityManager): Promise<ProfileRow | null> {
    return this.profiles.findRow(companyId, name, m);
  }

  find(companyId: string, name: string, m?: EntityManager): Promise<ProfileSnapshot | null> {
    return this.profiles.find(companyId, name, m);
  }

  insert(m: EntityManager, row: StoredProfile): Promise<void> {
    return this.profiles.insert(m, row);
  }

  save(m: EntityManager, row: StoredProfile): Promise<void> {
    return this.profiles.save(m, row);
  }

  createdAt(m: EntityManager, companyId: string, name: string): Promise<Date | null> {
    return this.profiles.createdAt(m, companyId, name);
  }

  delete(m: EntityManager, companyId: string, name: string): Promise<void> {
    return this.profiles.delete(m, companyId, name);
  }

  // A new company's built-in "agent" profile, in the company's creating transaction; a company
  // created concurrently (or a profile already there) leaves the row as it is.
  ensureBuiltin(m: EntityManager, companyId: string, now: Date): Promise<void> {
    return this.profiles.insertIgnore(m, { companyId, ...BUILTIN_AGENT_PROFILE, createdAt: now, updatedAt: now });
  }
}
