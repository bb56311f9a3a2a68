import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';

// With better-sqlite3 TypeORM hands every caller the same query runner over one connection. Two
// transactions that overlap in time then nest ("cannot start a transaction within a transaction"),
// and a plain query issued while another caller's transaction is open runs inside it (and is rolled
// back with it). MySQL gives each caller its own pooled connection; here one async mutex per data
// source lets one caller at a time use the connection:
// - DataSource.transaction() holds the mutex for the whole transaction, and code running inside
//   its callback (even through the data source rather than the transaction's manager) goes straight
//   to the connection, as it did before, instead of waiting for itself;
// - any other use (repository reads and writes, query builders, DataSource.query) takes the mutex
//   on its first statement and gives it back when TypeORM releases the query runner, so an implicit
//   transaction (save() of several rows) stays whole too.

class Mutex {
  private tail: Promise<void> = Promise.resolve();

  // Resolves, in call order, with the function that hands the mutex on.
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}

interface Holder {
  held: boolean;
}

// Query runner methods that talk to the database; the others are bookkeeping.
const STATEMENTS = new Set(['query', 'sql', 'stream', 'startTransaction', 'commitTransaction', 'rollbackTransaction']);

export function serialiseSqlite(ds: DataSource): DataSource {
  if (ds.options.type !== 'better-sqlite3') return ds;
  const mutex = new Mutex();
  const context = new AsyncLocalStorage<Holder>();
  const holding = () => context.getStore()?.held === true;

  const transaction = ds.manager.transaction.bind(ds.manager) as (...args: unknown[]) => Promise<unknown>;
  (ds.manager as { transaction: unknown }).transaction = async (...args: unknown[]) => {
    if (holding()) return transaction(...args);
    const release = await mutex.acquire();
    const holder: Holder = { held: true };
    try {
      return await context.run(holder, () => transaction(...args));
    } finally {
      // Work the callback left running after it returned no longer counts as the holder.
      holder.held = false;
      release();
    }
  };

  const createQueryRunner = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = (mode?: 'master' | 'slave'): QueryRunner => {
    const runner = createQueryRunner(mode);
    return holding() ? runner : lease(ds, runner, mutex);
  };
  return ds;
}

// The shared runner seen through one caller's lease: the mutex is taken at its first statement and
// given back at release().
function lease(ds: DataSource, runner: QueryRunner, mutex: Mutex): QueryRunner {
  let release: (() => void) | null = null;
  let acquiring: Promise<void> | null = null;
  const take = (): Promise<void> => {
    acquiring ??= mutex.acquire().then((r) => {
      release = r;
    });
    return acquiring;
  };
  let manager: EntityManager | null = null;
  const proxy: QueryRunner = new Proxy(runner, {
    get(target, prop, receiver) {
      if (prop === 'manager') return (manager ??= ds.createEntityManager(proxy));
      // Another caller's open transaction is not ours: before we hold the mutex there is none.
      if (prop === 'isTransactionActive') return release ? target.isTransactionActive : false;
      if (prop === 'release') {
        return async () => {
          try {
            if (release) await target.release();
          } finally {
            const r = release;
            release = null;
            acquiring = null;
            r?.();
          }
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !STATEMENTS.has(prop)) return (...args: unknown[]) => fn.apply(target, args);
      return async (...args: unknown[]) => {
        await take();
        return fn.apply(target, args);
      };
    },
  });
  return proxy;
}
