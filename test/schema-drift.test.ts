import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { resolveDataSourceOptions } from '../src/database/resolve-options';
import { createTestDatabase, TestDatabase } from './support/database';
import { ENTITIES } from '../src/wiring/entities';

// The migrations are the schema; the entities must describe exactly what they build, on both
// databases the service supports. Any difference here means a migration is missing.
async function pendingSchemaChanges(databaseUrl: string): Promise<{ up: string[]; downWorks: boolean }> {
  const ds = new DataSource(await resolveDataSourceOptions(loadConfig({ DATABASE_URL: databaseUrl, NODE_ENV: 'test' }), ENTITIES));
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    expect(applied.length).toBeGreaterThan(0);
    const log = await ds.driver.createSchemaBuilder().log();
    // Every migration can be undone, and redone.
    for (let i = 0; i < applied.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    const qr = ds.createQueryRunner();
    let downWorks = true;
    for (const md of ds.entityMetadatas) if (await qr.hasTable(md.tableName)) downWorks = false;
    await qr.release();
    await ds.runMigrations({ transaction: 'each' });
    return { up: log.upQueries.map((q) => q.query), downWorks };
  } finally {
    await ds.destroy();
  }
}

describe('entities and migrations agree', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('drift');
    dir = mkdtempSync(join(tmpdir(), 'wcr-drift-'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on MariaDB/MySQL', async () => {
    const { up, downWorks } = await pendingSchemaChanges(db.url);
    expect(up).toEqual([]);
    expect(downWorks).toBe(true);
  });

  it('on the embedded SQLite default', async () => {
    const { up, downWorks } = await pendingSchemaChanges(`sqlite:${join(dir, 'drift.sqlite')}`);
    expect(up).toEqual([]);
    expect(downWorks).toBe(true);
  });
});
