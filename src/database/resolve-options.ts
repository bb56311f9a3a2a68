import { createConnection } from 'mysql2/promise';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, EntityList } from './data-source-options';

// MariaDB and MySQL answer schema questions differently; TypeORM needs to know which it talks to.
// A mysql:// URL is probed once; mariadb:// says so itself.
export async function resolveDataSourceOptions(config: AppConfig, entities: EntityList): Promise<DataSourceOptions> {
  const db = config.database;
  if (db.type === 'mysql' && db.flavor === 'mysql') {
    try {
      const conn = await createConnection({ uri: db.url, connectTimeout: 5000 });
      try {
        const [rows] = await conn.query('SELECT VERSION() AS v');
        const version = String((rows as { v: string }[])[0]?.v ?? '');
        if (/mariadb/i.test(version)) return dataSourceOptions(config, entities, 'mariadb');
      } finally {
        await conn.end();
      }
    } catch {
      // Unreachable now: TypeORM's own connection retries will report it.
    }
  }
  return dataSourceOptions(config, entities);
}
