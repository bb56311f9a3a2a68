import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

// Tests run against the real MariaDB/MySQL on loopback; each suite gets its own database.
export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  name: string;
  url: string;
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'wcr'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const u = new URL(MYSQL_ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const conn = await createConnection({ uri: url, timezone: 'Z' });
  return {
    name,
    url,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await conn.query(sql, params);
      return rows as T[];
    },
    async drop() {
      await conn.end().catch(() => undefined);
      const a = await createConnection({ uri: MYSQL_ADMIN_URL });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    },
  };
}
