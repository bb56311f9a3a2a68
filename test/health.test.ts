import { AppHandle, cleanupDir, http, migrate, startApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';

// Readiness means the database answers with this build's schema. It once said 200 whenever the
// database answered `SELECT 1`: on a database never migrated, or dropped under the service, every
// route failed with 500 while /health (and the probes that route traffic by it) said ready.
describe('/health on MariaDB', () => {
  let db: TestDatabase;
  let app: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase('health');
    await migrate(db.url);
    app = await startApp({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  it("is ready with the build's schema, not ready when it is behind or gone", async () => {
    expect(await http(app, 'GET', '/health', null)).toEqual({ status: 200, body: { status: 'ok', database: 'up' } });

    // The newest migration not applied (an upgrade's pods started before its migration ran).
    const [newest] = await db.query<{ id: number; timestamp: number; name: string }>(
      'SELECT id, timestamp, name FROM schema_migrations ORDER BY id DESC LIMIT 1',
    );
    await db.query('DELETE FROM schema_migrations WHERE id = ?', [newest.id]);
    expect(await http(app, 'GET', '/health', null)).toEqual({
      status: 503,
      body: { statusCode: 503, code: 'unavailable', message: "the database's schema is behind this build: run the migrations" },
    });
    await db.query('INSERT INTO schema_migrations (id, timestamp, name) VALUES (?, ?, ?)', [newest.id, newest.timestamp, newest.name]);
    expect((await http(app, 'GET', '/health', null)).status).toBe(200);

    // No schema at all: the tables dropped under the running service.
    await db.query('DROP TABLE schema_migrations');
    expect(await http(app, 'GET', '/health', null)).toEqual({
      status: 503,
      body: { statusCode: 503, code: 'unavailable', message: 'database is unavailable' },
    });
  });
});
