import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';

// The newest migration this build knows, as TypeORM records it (its `name`).
const NEWEST_MIGRATION = ((): string => {
  const Newest = MIGRATIONS[MIGRATIONS.length - 1];
  return (new Newest() as { name?: string }).name ?? Newest.name;
})();

// Whether the database holds this build's schema: its newest migration is recorded as applied. A
// database that answers but lacks the schema (never migrated, dropped, or behind this build during
// an upgrade) serves every route with errors; readiness says so. An instance of an older build
// still finds its own newest migration there, so an upgrade keeps it ready.
export async function schemaIsCurrent(db: DataSource): Promise<boolean> {
  const rows = (await db.query('SELECT 1 AS ok FROM schema_migrations WHERE name = ?', [NEWEST_MIGRATION])) as unknown[];
  return rows.length > 0;
}
