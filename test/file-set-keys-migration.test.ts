import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { resolveDataSourceOptions } from '../src/database/resolve-options';
import { fileSetKey } from '../src/transcript/filename-template';
import { ENTITIES } from '../src/wiring/entities';
import { createTestDatabase, TestDatabase } from './support/database';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// Migration 1795360000000: recordings named before it had file_key = SHA-256 of their file's name;
// it gives every named row the key of its set (fileSetKey), the oldest of rows that already share a
// base keeping it and the others getting one that blocks nothing; down puts the old keys back.
describe.each(['mariadb', 'sqlite'] as const)('file set keys of existing recordings on %s', (kind) => {
  let db: TestDatabase | null = null;
  let dir: string;
  let ds: DataSource;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wcr-setkeys-'));
    if (kind === 'mariadb') db = await createTestDatabase('setkeys');
    const url = db?.url ?? `sqlite:${join(dir, 'setkeys.sqlite')}`;
    ds = new DataSource(await resolveDataSourceOptions(loadConfig({ DATABASE_URL: url, NODE_ENV: 'test' }), ENTITIES));
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  // id, company, file name (null: not named yet), in the order they were created.
  const ROWS: [string, string, string | null][] = [
    ['00000000-0000-4000-8000-000000000001', 'c1', 'x.txt'],
    ['00000000-0000-4000-8000-000000000002', 'c1', 'x.html'], // same base as x.txt: delivered beside it before
    ['00000000-0000-4000-8000-000000000003', 'c1', 'x.meta.json'], // a json file named like x.txt's sidecar
    ['00000000-0000-4000-8000-000000000004', 'c1', 'a/b.vcon.json'],
    ['00000000-0000-4000-8000-000000000005', 'c1', 'q.json'],
    ['00000000-0000-4000-8000-000000000006', 'c1', 'q.json.txt'], // its new key is q.json's old one
    ['00000000-0000-4000-8000-000000000007', 'c2', 'x.txt'], // another company
    ['00000000-0000-4000-8000-000000000008', 'c1', null],
  ];

  const keys = async () =>
    Object.fromEntries(
      ((await ds.query('SELECT id, file_key FROM recordings ORDER BY id')) as { id: string; file_key: string | null }[]).map((r) => [r.id, r.file_key]),
    );

  it('recomputes the key of every named row, keeps the first of a shared base, and goes down and up again', async () => {
    await ds.runMigrations({ transaction: 'each' });
    const [last] = ds.migrations.slice(-1);
    expect(last.name).toBe('FileSetKeys1795360000000');
    await ds.undoLastMigration({ transaction: 'each' });
    for (const [i, [id, company, name]] of ROWS.entries()) {
      const at = `2030-01-01 00:00:0${i}.000`;
      await ds.query(
        `INSERT INTO recordings (id, chat_id, company_id, kind, profile_name, status, start_seq, started_at, file_name, file_key, attempts, purged, created_at, updated_at)
         VALUES (?, ?, ?, 'flow', 'p', ?, 1, ?, ?, ?, 0, 0, ?, ?)`,
        [id, id, company, name ? 'delivered' : 'pending', at, name, name ? sha256(name) : null, at, at],
      );
    }
    const before = await keys();

    await ds.runMigrations({ transaction: 'each' });
    const [r1, r2, r3, r4, r5, r6, r7, r8] = ROWS.map(([id]) => id);
    expect(await keys()).toEqual({
      [r1]: fileSetKey('x.txt'),
      [r2]: sha256(`\n${r2}`),
      [r3]: sha256(`\n${r3}`),
      [r4]: fileSetKey('a/b.vcon.json'),
      [r5]: fileSetKey('q.json'),
      [r6]: fileSetKey('q.json.txt'),
      [r7]: fileSetKey('x.txt'),
      [r8]: null,
    });
    // The keys the service computes now: x.txt's blocks its sidecar's name and a json file named so.
    expect(fileSetKey('x.txt')).toBe(sha256('x'));
    expect(fileSetKey('x.meta.json')).toBe(sha256('x'));
    expect(fileSetKey('q.json.txt')).toBe(sha256('q.json'));
    // A new recording of c1 whose set meets x.txt's is refused by the unique index.
    await expect(
      ds.query(`UPDATE recordings SET file_name = 'x.manifest.json', file_key = ? WHERE id = ?`, [fileSetKey('x.manifest.json'), r8]),
    ).rejects.toThrow();

    await ds.undoLastMigration({ transaction: 'each' });
    expect(await keys()).toEqual(before);
    await ds.runMigrations({ transaction: 'each' });
    expect((await keys())[r1]).toBe(sha256('x'));
  });
});
