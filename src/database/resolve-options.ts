import { createConnection } from 'mysql2';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, EntityList } from './data-source-options';

// MariaDB and MySQL answer schema questions differently; TypeORM needs to know which it talks to.
// A mysql:// URL is probed once; mariadb:// says so itself.
export async function resolveDataSourceOptions(config: AppConfig, entities: EntityList): Promise<DataSourceOptions> {
  const db = config.database;
  if (db.type === 'mysql' && db.flavor === 'mysql') {
    try {
      if (/mariadb/i.test(await serverVersion(db.url))) return dataSourceOptions(config, entities, 'mariadb');
    } catch {
      // Unreachable now: TypeORM's own connection retries will report it.
    }
  }
  return dataSourceOptions(config, entities);
}

// The probe uses mysql2's callback API, not 'mysql2/promise'. TypeORM calls mysql2's
// PoolConnection#promise() for every query, which require()s lib/promise/pool_connection.js each
// time; Node answers such a require from its cache of resolutions only if the module was first
// loaded from that same folder. Loaded first by mysql2/promise.js (as this probe did), every query
// resolved the path again, file system included: about 3 us per query, 5% of a chat end's CPU.
function serverVersion(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection({ uri: url, connectTimeout: 5000 });
    // A failed connect reaches the query's callback and may also be emitted: never unhandled.
    conn.on('error', reject);
    conn.query('SELECT VERSION() AS v', (err, rows) => {
      if (err) {
        conn.destroy();
        reject(err);
        return;
      }
      conn.end(() => undefined);
      resolve(String((rows as { v?: unknown }[])[0]?.v ?? ''));
    });
  });
}
