import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { AppConfig } from '../config/app-config';
import { ENTITIES } from './entities';

// One builder for the app and for the migration CLI, so both see the same database the same way.
export function dataSourceOptions(config: AppConfig, flavor?: 'mysql' | 'mariadb'): DataSourceOptions {
  const common = {
    entities: ENTITIES,
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
    extra: { connectionLimit: config.dbPoolSize, enableKeepAlive: true },
  };
}
