import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { format as formatSql } from 'mysql2';
import { DataSourceOptions, EntitySchema } from 'typeorm';

// The entity classes, each owned by its feature; the composition root (src/wiring/entities.ts)
// lists them, so that the database layer imports no feature.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityList = (Function | EntitySchema)[];
import { MIGRATIONS } from '../../migrations';
import { AppConfig } from '../config/app-config';

// One builder for the app and for the migration CLI, so both see the same database the same way.
export function dataSourceOptions(config: AppConfig, entities: EntityList, flavor?: 'mysql' | 'mariadb'): DataSourceOptions {
  const common = {
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
  } as const;
  if (config.database.type === 'sqlite') {
    if (config.database.path !== ':memory:') mkdirSync(dirname(config.database.path), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: config.database.path,
      enableWAL: true,
      // A busy single-file database waits instead of failing at once.
      timeout: 10_000,
    };
  }
  return {
    ...common,
    type: flavor ?? config.database.flavor,
    url: config.database.url,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    poolSize: config.dbPoolSize,
    connectTimeout: 5000,
    // trace: false: mysql2's promise API otherwise captures a stack trace for every query (an
    // Error.captureStackTrace through async frames, the largest single mysql2 item in the relay's
    // and the delivery worker's profiles). A failed query still says what failed: TypeORM wraps it
    // in a QueryFailedError with its own stack, the SQL and the driver's code and message.
    // multipleStatements: a transaction's queued writes go with its next statement in one query
    // (write-behind.ts). Every value reaches SQL through placeholders, escaped by mysql2.
    extra: { connectionLimit: config.dbPoolSize, enableKeepAlive: true, trace: false, multipleStatements: true, queryFormat: formatQuery },
  };
}

// mysql2's formatting of a query's values, as by default, except that a query without values is sent
// as it is: by default mysql2 scans it whole for placeholders it has no values for, and a
// transaction's queued writes (already formatted, write-behind.ts) go as one long query without
// values (the scan and mysql2's format were about 70 us of a chat end's CPU in its profile).
function formatQuery(this: { config: { stringifyObjects?: boolean } }, sql: string, values: unknown, timezone?: string): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return formatSql(sql, values as Parameters<typeof formatSql>[1], this.config.stringifyObjects, timezone);
}
