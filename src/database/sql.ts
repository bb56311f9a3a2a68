import { DataSource, EntityManager, SelectQueryBuilder, ObjectLiteral } from 'typeorm';

// The few places that write raw SQL (hot paths) need a date literal both dialects read as UTC, in
// the same form TypeORM itself writes.
export function sqlDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
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
