import { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = [
  'companies',
  'agents',
  'profiles',
  'export_targets',
  'chats',
  'messages',
  'chat_events',
  'participants',
  'recordings',
  'delivery_jobs',
  'audit_log',
  'company_keys',
];

// Identifiers (company, agent and client message ids) are compared exactly: "ACME" is not "acme"
// and "a-1 " is not "a-1". MySQL/MariaDB's default collations ignore case (and trailing spaces),
// which let one credential match another's rows. Everything moves to a binary, no-pad collation,
// the database default too so that later tables follow. SQLite compares bytes already.
export class BinaryIdentifiers1795293600000 implements MigrationInterface {
  name = 'BinaryIdentifiers1795293600000';

  async up(q: QueryRunner): Promise<void> {
    if (!isMysql(q)) return;
    const collation = (await isMariaDb(q)) ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
    await q.query(`ALTER DATABASE CHARACTER SET utf8mb4 COLLATE ${collation}`);
    for (const t of TABLES) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`);
  }

  async down(q: QueryRunner): Promise<void> {
    if (!isMysql(q)) return;
    await q.query('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    for (const t of TABLES) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  }
}

function isMysql(q: QueryRunner): boolean {
  const t = q.connection.options.type;
  return t === 'mysql' || t === 'mariadb';
}

async function isMariaDb(q: QueryRunner): Promise<boolean> {
  const rows = (await q.query('SELECT VERSION() AS v')) as { v: string }[];
  return /mariadb/i.test(rows[0]?.v ?? '');
}
