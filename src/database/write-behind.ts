import { DataSource, EntityManager, QueryResult, QueryRunner } from 'typeorm';

// On MySQL/MariaDB every statement is a round trip, and on the machines measured each one cost the
// service more in the socket write that wakes the database (`writeBuffer`) than building it did.
// Inside a transaction, a statement whose result nobody reads need not be sent on its own: it can
// ride with the transaction's next statement, in one packet (the connection allows several
// statements per query). So:
// - a transaction's START TRANSACTION (and isolation level) goes with its first statement;
// - `deferWrite` queues a write (an UPDATE or INSERT whose result the caller does not need) to go
//   with the next statement, at the latest the COMMIT;
// - the server runs them in order and stops at the first that fails, so a read carried with them
//   sees their effects, exactly as if each had been sent alone.
// A write that fails when it is finally sent fails the statement that carried it. The caller of
// that statement may catch its own errors and go on, so such a failure also marks the transaction:
// every later statement but ROLLBACK fails with the same error, and it can never commit. A ROLLBACK
// drops what is still queued. SQLite is left as it is (its statements are function calls).
// `readTogether` does the same for reads that do not depend on each other: the statements its
// function starts at once go in one query, each caller getting its own statement's result.

const PENDING = Symbol('writeBehind');
const GATHER = Symbol('readTogether');

interface Gathered {
  sql: string;
  params: unknown[] | undefined;
  structured: boolean;
  resolve: (r: unknown) => void;
  reject: (e: unknown) => void;
}

// While `open`, the runner's statements are gathered instead of sent (readTogether).
interface Gather {
  open: boolean;
  items: Gathered[];
  flush: () => Promise<void>;
}

interface Pending {
  // Formatted statements (their values already escaped by the connection, as mysql2 does for a
  // query with values), in the order they were queued.
  statements: string[];
  // Whether a queued statement is a write (not only the transaction's start).
  writes: boolean;
  // The error of a failed batch of queued writes: the transaction cannot commit.
  poisoned: unknown;
}

type Runner = QueryRunner & {
  [PENDING]?: Pending;
  [GATHER]?: Gather;
  transactionDepth?: number;
  databaseConnection?: { format(sql: string, values: unknown[]): string };
};

// One statement's result as TypeORM's runner answers it: the raw result, or a QueryResult.
function shaped(raw: { affectedRows?: number } | unknown[], structured: boolean): unknown {
  if (!structured) return raw;
  const result = new QueryResult();
  result.raw = raw;
  if (Array.isArray(raw)) result.records = raw;
  if (raw && !Array.isArray(raw) && typeof raw.affectedRows === 'number') result.affected = raw.affectedRows;
  return result;
}

// Installs write-behind on a MySQL/MariaDB data source's query runners (answers the data source).
export function installWriteBehind(ds: DataSource): DataSource {
  const t = ds.options.type;
  if (t !== 'mysql' && t !== 'mariadb') return ds;
  const create = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = (mode?: 'master' | 'slave'): QueryRunner => wrap(create(mode) as Runner);
  return ds;
}

// Queues a write to go with the transaction's next statement (or its COMMIT). Outside a
// write-behind transaction (SQLite, no transaction) it runs at once. The caller gets no result:
// only for writes whose effect the rest of the transaction does not need to check.
export async function deferWrite(m: EntityManager, sql: string, params: unknown[] = []): Promise<void> {
  const runner = m.queryRunner as Runner | undefined;
  const pending = runner?.[PENDING];
  if (!runner || !pending || !runner.isTransactionActive) {
    await m.query(sql, params);
    return;
  }
  if (pending.poisoned) throw pending.poisoned;
  // Queued, it would go before reads gathered earlier: readTogether is for reads only.
  if (runner[GATHER]?.open) throw new Error('deferWrite inside readTogether');
  const connection = runner.databaseConnection ?? ((await runner.connect()) as Runner['databaseConnection']);
  pending.statements.push(params.length > 0 && connection ? connection.format(sql, params) : sql);
  pending.writes = true;
}

// Runs `start`, which starts several independent statements in the transaction of `m` (typically
// `Promise.all` of reads made by several features' services), and sends the statements it started
// before returning as one query, with anything queued before them; each caller gets its own
// statement's result. The server runs them in order and stops at the first that fails: then every
// one of them fails with that error (and, if queued writes went with them, the transaction is
// marked as for a failed deferWrite). Outside a write-behind transaction, `start` runs as it is.
export async function readTogether<T>(m: EntityManager, start: () => Promise<T>): Promise<T> {
  const runner = m.queryRunner as Runner | undefined;
  const gather = runner?.[GATHER];
  if (!runner || !gather || gather.open || !runner.isTransactionActive) return start();
  gather.open = true;
  let started: Promise<T>;
  try {
    started = start();
  } finally {
    gather.open = false;
  }
  // It may fail before the statements are answered (a check that throws before its read): it is
  // answered to the caller below, after them.
  started.catch(() => undefined);
  await gather.flush();
  return started;
}

function wrap(runner: Runner): Runner {
  const pending: Pending = { statements: [], writes: false, poisoned: null };
  runner[PENDING] = pending;
  // Nothing queued, nothing failed: after a ROLLBACK, and when the runner goes back to the pool.
  const reset = () => {
    pending.statements = [];
    pending.writes = false;
    pending.poisoned = null;
  };
  const query = runner.query.bind(runner) as (sql: string, params?: unknown[], structured?: boolean) => Promise<unknown>;
  const stream = runner.stream.bind(runner);

  // Sends what is queued, with the statements given, as one query; answers the results of the
  // statements given, each shaped as TypeORM shapes a single statement's.
  const sendAll = async (given: { sql: string; params: unknown[] | undefined; structured: boolean }[]): Promise<unknown[]> => {
    const statements = pending.statements;
    const writes = pending.writes;
    pending.statements = [];
    pending.writes = false;
    const carried = statements.length;
    if (given.length > 0) {
      const connection = runner.databaseConnection ?? ((await runner.connect()) as Runner['databaseConnection']);
      for (const g of given) statements.push(g.params && g.params.length > 0 && connection ? connection.format(g.sql, g.params) : g.sql);
    }
    let raw: unknown;
    try {
      raw = await query(statements.join(';\n'), undefined, false);
    } catch (err) {
      if (writes) pending.poisoned = err;
      throw err;
    }
    // Several statements answer one result each; a single one answers its own.
    const resultOf = (i: number) => (statements.length > 1 ? (raw as unknown[])[i] : raw) as { affectedRows?: number } | unknown[];
    if (given.length === 0) return [resultOf(statements.length - 1)];
    return given.map((g, i) => shaped(resultOf(carried + i), g.structured));
  };
  const send = async (sql: string | null, params: unknown[] | undefined, structured: boolean): Promise<unknown> =>
    (await sendAll(sql === null ? [] : [{ sql, params, structured }]))[0];

  const gather: Gather = {
    open: false,
    items: [],
    flush: async () => {
      const items = gather.items;
      gather.items = [];
      if (items.length === 0) return;
      try {
        const results = await sendAll(items);
        items.forEach((g, i) => g.resolve(results[i]));
      } catch (err) {
        for (const g of items) g.reject(err);
      }
    },
  };
  runner[GATHER] = gather;

  runner.query = (async (sql: string, params?: unknown[], structured: boolean = false) => {
    if (sql === 'ROLLBACK') {
      reset();
      return query(sql, params, structured);
    }
    if (pending.poisoned) throw pending.poisoned;
    if (gather.open) return new Promise<unknown>((resolve, reject) => gather.items.push({ sql, params, structured, resolve, reject }));
    // The outermost transaction's start is queued: it goes with the first statement.
    if ((runner.transactionDepth ?? 0) === 0 && (sql === 'START TRANSACTION' || sql.startsWith('SET TRANSACTION ISOLATION LEVEL '))) {
      pending.statements.push(sql);
      return structured ? new QueryResult() : undefined;
    }
    if (pending.statements.length === 0) return query(sql, params, structured);
    return send(sql, params, structured);
  }) as Runner['query'];

  // A stream is a statement of its own: what is queued goes first.
  runner.stream = (async (...args: Parameters<QueryRunner['stream']>) => {
    if (pending.poisoned) throw pending.poisoned;
    if (pending.statements.length > 0) await send(null, undefined, false);
    return stream(...args);
  }) as QueryRunner['stream'];

  // A runner released with statements still queued (a transaction abandoned without COMMIT or
  // ROLLBACK) drops them: they were never sent, so nothing of them happened.
  const release = runner.release.bind(runner);
  runner.release = () => {
    reset();
    return release();
  };
  return runner;
}
