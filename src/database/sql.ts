import { DataSource, EntityManager, SelectQueryBuilder, ObjectLiteral } from 'typeorm';

// The few places that write raw SQL (hot paths) need a date literal both dialects read as UTC, in
// the same form TypeORM itself writes.
// `?, ?, ?` for an IN list or a row of n values (raw SQL's parameters).
export function marks(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

export function sqlDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

// A datetime column as raw queries return it: a Date on mysql2 (timezone 'Z'), UTC text
// ('YYYY-MM-DD HH:MM:SS.SSS', written by sqlDate or TypeORM) on SQLite, read as UTC as TypeORM does.
export function dateOf(v: Date | string): Date {
  if (v instanceof Date) return v;
  return new Date(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(v) ? `${v.replace(' ', 'T')}Z` : v);
}

export function dateOrNull(v: Date | string | null): Date | null {
  return v === null ? null : dateOf(v);
}

// A boolean column as raw queries return it: 0/1 on both (TINYINT on MySQL/MariaDB).
export function boolOf(v: number | string | boolean): boolean {
  return typeof v === 'boolean' ? v : !!Number(v);
}

export function boolOrNull(v: number | string | boolean | null): boolean | null {
  return v === null ? null : boolOf(v);
}

// Runs a raw write and answers how many rows it changed (m.query alone does not say so on SQLite).
// In a transaction's manager it runs there; otherwise on a connection of its own.
export async function runWrite(db: DataSource | EntityManager, sql: string, params: unknown[]): Promise<number> {
  const inTransaction = db instanceof DataSource ? undefined : db.queryRunner;
  const runner = inTransaction ?? (db instanceof DataSource ? db : db.connection).createQueryRunner();
  try {
    return (await runner.query(sql, params, true)).affected ?? 0;
  } finally {
    if (!inTransaction) await runner.release();
  }
}

export function isMysql(db: DataSource | EntityManager): boolean {
  const t = (db instanceof DataSource ? db : db.connection).options.type;
  return t === 'mysql' || t === 'mariadb';
}

// Row locks exist on MySQL/MariaDB; SQLite serialises writers, so no lock is needed there.
export function forUpdate<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, m: EntityManager): SelectQueryBuilder<T> {
  return isMysql(m) ? qb.setLock('pessimistic_write') : qb;
}

export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === 'ER_DUP_ENTRY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed|Duplicate entry/.test(e?.message ?? '')
  );
}

// A condition true when the datetime `column` lies at least `amount` units before the time in the
// parameter `now` (a placeholder, bound to sqlDate(...)). `amount` is SQL too, typically another
// table's column, so each row is judged by its own setting. Both dialects hold UTC: MySQL/MariaDB in
// DATETIME(3), SQLite as 'YYYY-MM-DD HH:MM:SS.SSS' text (src/database/columns.ts), which compares
// in time order and is what strftime's %f writes.
export function atLeastBefore(db: DataSource | EntityManager, column: string, amount: string, unit: 'second' | 'day', now: string): string {
  return isMysql(db)
    ? `${column} <= DATE_SUB(CAST(${now} AS DATETIME(3)), INTERVAL (${amount}) ${unit.toUpperCase()})`
    : `${column} <= strftime('%Y-%m-%d %H:%M:%f', ${now}, '-' || (${amount}) || ' ${unit}s')`;
}
