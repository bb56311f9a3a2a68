import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import type { ProfileService } from '../transcript/profile.service';
import { CompanyEntity } from './company.entity';
import { CompanyService, MAX_CACHED_COMPANIES } from './company.service';

class MovableClock extends Clock {
  at = Date.parse('2026-03-01T10:00:00Z');
  override now(): Date {
    return new Date(this.at);
  }
}

// A database that knows every company and counts the reads.
function countingDb(): { db: DataSource; reads: string[] } {
  const reads: string[] = [];
  const repo = {
    findOneBy: ({ id }: { id: string }) => {
      reads.push(id);
      return Promise.resolve(Object.assign(new CompanyEntity(), { id, recordingEnabled: true, timeZone: 'UTC' }));
    },
  };
  return { db: { getRepository: () => repo } as unknown as DataSource, reads };
}

describe('CompanyService settings cache', () => {
  it('serves settings from the cache for two seconds, then reads them again', async () => {
    const { db, reads } = countingDb();
    const clock = new MovableClock();
    const companies = new CompanyService(db, clock, {} as ProfileService);
    await companies.get('acme');
    clock.at += 1999;
    await companies.get('acme');
    expect(reads).toEqual(['acme']);
    clock.at += 2;
    await companies.get('acme');
    expect(reads).toEqual(['acme', 'acme']);
  });

  it('reads again at once after an admin change invalidated the entry', async () => {
    const { db, reads } = countingDb();
    const companies = new CompanyService(db, new MovableClock(), {} as ProfileService);
    await companies.get('acme');
    companies.invalidate('acme');
    await companies.get('acme');
    expect(reads).toEqual(['acme', 'acme']);
  });

  it(`keeps at most ${MAX_CACHED_COMPANIES} companies: the least recently used one is read again`, async () => {
    const { db, reads } = countingDb();
    const companies = new CompanyService(db, new MovableClock(), {} as ProfileService);
    await companies.get('first');
    await companies.get('second');
    for (let i = 0; i < MAX_CACHED_COMPANIES - 1; i++) await companies.get(`c${i}`);
    // 'first' was the least recently used: out. 'second' and the newest ones stay.
    reads.length = 0;
    await companies.get('second');
    await companies.get(`c${MAX_CACHED_COMPANIES - 2}`);
    expect(reads).toEqual([]);
    await companies.get('first');
    expect(reads).toEqual(['first']);
  });
});
