import 'reflect-metadata';
import { DataSource, EntityManager } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/database/data-source-options';
import { deferWrite, installWriteBehind, readTogether } from '../src/database/write-behind';
import { ENTITIES } from '../src/wiring/entities';
import { createTestDatabase, TestDatabase } from './support/database';

// Write-behind on MariaDB (src/database/write-behind.ts): a transaction's queued writes go with its
// next statement in one query. Counted here: the queries the pooled connection is sent (mysql2's
// own connection, observed, not replaced), and what the database holds afterwards.
// A value that would end the statement and start another if it were not escaped.
const HOSTILE = "x'); DROP TABLE wb; -- \\' \\\\ \" ? ?? ;";

describe('write-behind on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let sent: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('writebehind');
    ds = installWriteBehind(new DataSource(dataSourceOptions(loadConfig({ DATABASE_URL: db.url }), ENTITIES, 'mariadb')));
    await ds.initialize();
    await ds.query('CREATE TABLE wb (id INT PRIMARY KEY, v TEXT)');
    // Every pooled connection (those open now and those opened later) reports each query it is sent.
    const pool = (ds.driver as unknown as { pool: { on(e: string, f: (c: unknown) => void): void; _allConnections: { toArray(): unknown[] } } }).pool;
    const observe = (c: unknown) => {
      const conn = c as { query: (...args: unknown[]) => unknown };
      const query = conn.query.bind(conn);
      conn.query = (...args: unknown[]) => {
        const sql = args[0] as string | { sql: string };
        sent.push(typeof sql === 'string' ? sql : sql.sql);
        return query(...args);
      };
    };
    pool._allConnections.toArray().forEach(observe);
    pool.on('connection', observe);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  beforeEach(async () => {
    await ds.query('DELETE FROM wb');
    sent = [];
  });
  const values = async () => ((await ds.query('SELECT id, v FROM wb ORDER BY id')) as { id: number; v: string }[]).map((r) => [r.id, r.v]);

  it('sends queued writes with the next statement, which sees them, and the rest with the COMMIT', async () => {
    const seen = await ds.transaction(async (m) => {
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [1, "it's a ?; test"]);
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [2, 'ünïcødé 🙂']);
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [3, HOSTILE]);
      const rows = (await m.query('SELECT COUNT(*) AS n FROM wb')) as { n: number | string }[];
      await deferWrite(m, 'UPDATE wb SET v = ? WHERE id = ?', ['two', 2]);
      return Number(rows[0].n);
    });
    expect(seen).toBe(3);
    expect(await values()).toEqual([
      [1, "it's a ?; test"],
      [2, 'two'],
      [3, HOSTILE],
    ]);
    // START TRANSACTION with the three inserts and the count; the update with the COMMIT.
    const inTransaction = sent.slice(0, 2);
    expect(inTransaction).toHaveLength(2);
    expect(inTransaction[0]).toMatch(/^START TRANSACTION;\nINSERT INTO wb .*;\nINSERT INTO wb .*;\nINSERT INTO wb .*;\nSELECT COUNT/s);
    expect(inTransaction[1]).toMatch(/^UPDATE wb SET v = 'two' WHERE id = 2;\nCOMMIT$/);
  });

  it('answers a carried statement as TypeORM answers a single one (rows, affected counts)', async () => {
    await ds.query("INSERT INTO wb (id, v) VALUES (1, 'a'), (2, 'b')");
    sent = [];
    const r = await ds.transaction(async (m: EntityManager) => {
      await deferWrite(m, 'UPDATE wb SET v = ? WHERE id = ?', ['c', 1]);
      const structured = await m.queryRunner!.query('UPDATE wb SET v = ? WHERE id IN (?, ?)', ['d', 1, 2], true);
      await deferWrite(m, 'UPDATE wb SET v = ? WHERE id = ?', ['e', 2]);
      const rows = (await m.query('SELECT v FROM wb ORDER BY id')) as { v: string }[];
      return { affected: structured.affected, records: structured.records, rows: rows.map((x) => x.v) };
    });
    expect(r.affected).toBe(2);
    expect(r.records).toEqual([]);
    expect(r.rows).toEqual(['d', 'e']);
    expect(sent).toHaveLength(3);
  });

  it('cannot commit once a queued write failed, even if the caller of the carrying statement went on', async () => {
    await ds.query("INSERT INTO wb (id, v) VALUES (1, 'kept')");
    sent = [];
    let caught: unknown = null;
    const tx = ds.transaction(async (m) => {
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [2, 'before']);
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [1, 'duplicate']);
      try {
        await m.query('SELECT 1');
      } catch (err) {
        caught = err; // a caller that swallows its statement's error
      }
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [3, 'after']).catch(() => undefined);
      return 'done';
    });
    await expect(tx).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(caught).toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(await values()).toEqual([[1, 'kept']]);
    // The next transaction on a pooled connection starts clean.
    await ds.transaction(async (m) => deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [4, 'next']));
    expect(await values()).toEqual([
      [1, 'kept'],
      [4, 'next'],
    ]);
  });

  it('drops queued writes at a rollback: they were never sent', async () => {
    await expect(
      ds.transaction(async (m) => {
        await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [1, 'x']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await values()).toEqual([]);
    expect(sent.some((s) => s.includes('INSERT'))).toBe(false);
  });

  it("formats a query's values as mysql2 does, and sends a query without values as it is", async () => {
    const [row] = (await ds.query('SELECT ? AS a, ? AS b, ? AS c, ? AS d', [HOSTILE, 5, null, new Date('2026-01-02T03:04:05.678Z')])) as Record<
      string,
      unknown
    >[];
    expect(row).toMatchObject({ a: HOSTILE, b: 5, c: null });
    expect(new Date(row.d as string | Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
    const [plain] = (await ds.query("SELECT '?' AS q, 'a??b' AS r")) as Record<string, unknown>[];
    expect(plain).toEqual({ q: '?', r: 'a??b' });
    sent = [];
    await ds.query('SELECT ? AS x', ['y']);
    expect(sent).toEqual(['SELECT ? AS x']); // mysql2 formats after this point, in the connection
  });

  it('runs a write at once outside a transaction', async () => {
    await deferWrite(ds.manager, 'INSERT INTO wb (id, v) VALUES (?, ?)', [7, 'now']);
    expect(await values()).toEqual([[7, 'now']]);
  });

  it('sends the reads readTogether starts as one query, with what is queued, each answered with its own result', async () => {
    await ds.query("INSERT INTO wb (id, v) VALUES (1, 'a'), (2, 'b')");
    sent = [];
    const r = await ds.transaction(async (m: EntityManager) => {
      await deferWrite(m, 'UPDATE wb SET v = ? WHERE id = ?', [HOSTILE, 1]);
      const [one, count, structured, none] = await readTogether(m, () =>
        Promise.all([
          m.query('SELECT v FROM wb WHERE id = ?', [1]) as Promise<{ v: string }[]>,
          m.query('SELECT COUNT(*) AS n FROM wb') as Promise<{ n: number | string }[]>,
          m.queryRunner!.query('SELECT id FROM wb ORDER BY id', [], true),
          m.query('SELECT v FROM wb WHERE id = ?', [99]) as Promise<unknown[]>,
        ]),
      );
      // After it, statements go one by one as before.
      const after = (await m.query('SELECT v FROM wb WHERE id = ?', [2])) as { v: string }[];
      return { one: one[0].v, n: Number(count[0].n), records: structured.records, none, after: after[0].v };
    });
    expect(r).toEqual({ one: HOSTILE, n: 2, records: [{ id: 1 }, { id: 2 }], none: [], after: 'b' });
    // START TRANSACTION, the queued update and the four reads; the next read; the COMMIT.
    expect(sent).toHaveLength(3);
    expect(sent[0]).toMatch(
      /^START TRANSACTION;\nUPDATE wb SET v = .*;\nSELECT v FROM wb WHERE id = 1;\nSELECT COUNT\(\*\) AS n FROM wb;\nSELECT id FROM wb ORDER BY id;\nSELECT v FROM wb WHERE id = 99$/s,
    );
    expect(sent[2]).toBe('COMMIT');
  });

  it('fails every read gathered when one fails, and marks the transaction when queued writes went with them', async () => {
    await ds.query("INSERT INTO wb (id, v) VALUES (1, 'kept')");
    sent = [];
    const outcomes: string[] = [];
    const tx = ds.transaction(async (m) => {
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [2, 'queued']);
      await readTogether(m, () =>
        Promise.allSettled([m.query('SELECT 1 AS one'), m.query('SELECT no_such_column FROM wb'), m.query('SELECT 2 AS two')]).then((all) =>
          all.forEach((x) => outcomes.push(x.status === 'rejected' ? ((x.reason as { code?: string }).code ?? 'error') : 'ok')),
        ),
      );
      // A caller that went on: the transaction cannot commit.
      return 'done';
    });
    await expect(tx).rejects.toMatchObject({ code: 'ER_BAD_FIELD_ERROR' });
    expect(outcomes).toEqual(['ER_BAD_FIELD_ERROR', 'ER_BAD_FIELD_ERROR', 'ER_BAD_FIELD_ERROR']);
    expect(await values()).toEqual([[1, 'kept']]);
  });

  it('answers a function that fails before its reads after them, and refuses a deferred write inside it', async () => {
    const answer = await ds.transaction(async (m) => {
      const early = await readTogether(m, async () => {
        const read = m.query('SELECT 1 AS one');
        await Promise.reject(new Error('a check failed'));
        return read;
      }).catch((e: Error) => e.message);
      const refused = await readTogether(m, () => deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?)', [5, 'x'])).catch((e: Error) => e.message);
      return { early, refused };
    });
    expect(answer).toEqual({ early: 'a check failed', refused: 'deferWrite inside readTogether' });
    expect(await values()).toEqual([]);
  });

  it('runs the function as it is outside a transaction', async () => {
    await ds.query("INSERT INTO wb (id, v) VALUES (1, 'a')");
    sent = [];
    const [a, b] = await readTogether(ds.manager, () => Promise.all([ds.query('SELECT v FROM wb WHERE id = 1'), ds.query('SELECT 2 AS two')]));
    expect([a, b]).toEqual([[{ v: 'a' }], [{ two: 2 }]]);
    expect(sent).toEqual(['SELECT v FROM wb WHERE id = 1', 'SELECT 2 AS two']);
  });

  it('sends the queued writes before a stream of the same transaction', async () => {
    const streamed = await ds.transaction(async (m) => {
      await deferWrite(m, 'INSERT INTO wb (id, v) VALUES (?, ?), (?, ?)', [1, 'a', 2, 'b']);
      const stream = await m.queryRunner!.stream('SELECT id FROM wb ORDER BY id');
      const ids: number[] = [];
      for await (const row of stream) ids.push((row as { id: number }).id);
      return ids;
    });
    expect(streamed).toEqual([1, 2]);
  });
});
