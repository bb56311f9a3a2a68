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

const PENDING = Symbol('writeBehind');

interface Pending {
  // Formatted statements (their values already escaped by the connection, as mysql2 does for a
  // query with values), in the order they were queued.
  statements: string[];
  // Whether a queued statement is a write (not only the transaction's start).
  writes: boolean;
  // The error of a failed batch of queued writes: the transaction cannot commit.
  poisoned: unknown;
}

type Runner = QueryRunner & { [PENDING]?: Pending; transactionDepth?: number; databaseConnection?: { format(sql: string, values: unknown[]): string } };

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
  const connection = runner.databaseConnection ?? ((await runner.connect()) as Runner['databaseConnection']);
  pending.statements.push(params.length > 0 && connection ? connection.format(sql, params) : sql);
  pending.writes = true;
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

  // Sends what is queued, with the statement given (if any), as one query; answers the result of
  // the last statement, shaped as TypeORM shapes a single statement's.
  const send = async (sql: string | null, params: unknown[] | undefined, structured: boolean): Promise<unknown> => {
    const statements = pending.statements;
    const writes = pending.writes;
    pending.statements = [];
    pending.writes = false;
    if (sql !== null) {
      const connection = runner.databaseConnection ?? ((await runner.connect()) as Runner['databaseConnection']);
      statements.push(params && params.length > 0 && connection ? connection.format(sql, params) : sql);
    }
    let raw: unknown;
    try {
      raw = await query(statements.join(';\n'), undefined, false);
    } catch (err) {
      if (writes) pending.poisoned = err;
      throw err;
    }
    // Several statements answer one result each; a single one answers its own.
    const last = (statements.length > 1 ? (raw as unknown[])[statements.length - 1] : raw) as { affectedRows?: number } | unknown[];
    if (!structured) return last;
    const result = new QueryResult();
    result.raw = last;
    if (Array.isArray(last)) result.records = last;
    if (last && !Array.isArray(last) && typeof last.affectedRows === 'number') result.affected = last.affectedRows;
    return result;
  };

  runner.query = (async (sql: string, params?: unknown[], structured: boolean = false) => {
    if (sql === 'ROLLBACK') {
      reset();
      return query(sql, params, structured);
    }
    if (pending.poisoned) throw pending.poisoned;
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
