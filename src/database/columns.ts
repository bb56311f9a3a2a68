import { ColumnOptions } from 'typeorm';

// Column shapes shared by every entity, chosen to mean the same on MySQL/MariaDB and SQLite so that
// one set of migrations serves both (see migrations/). Times are UTC with millisecond precision.
export const timestampColumn = (name: string, nullable = false): ColumnOptions => ({
  name,
  type: 'datetime',
  precision: 3,
  nullable,
});

export const boolColumn = (name: string, dflt: boolean): ColumnOptions => ({
  name,
  type: 'boolean',
  default: dflt,
});

export const idColumn = (name: string) => ({ name, type: 'varchar', length: 36 }) as const;
