import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { ROOT } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';

// The built service's data source on MariaDB, in a process of its own (jest replaces Node's module
// loader, so what is checked here can only be seen outside it): opened as the service opens it (the
// server probed for its flavour first), a query must not make Node resolve a module path again.
// mysql2's PoolConnection#promise(), which TypeORM calls for every query, require()s its wrapper each
// time; when 'mysql2/promise' had loaded that wrapper first (the probe used it), every query resolved
// the path again, file system included.
const SCRIPT = `
const Module = require('node:module');
require('reflect-metadata');
const { DataSource } = require('typeorm');
const { loadConfig } = require('./dist/src/config/app-config');
const { resolveDataSourceOptions } = require('./dist/src/database/resolve-options');
const { ENTITIES } = require('./dist/src/wiring/entities');
(async () => {
  const options = await resolveDataSourceOptions(loadConfig(), ENTITIES);
  const ds = new DataSource(options);
  await ds.initialize();
  await ds.query('SELECT 1');
  const resolve = Module._resolveFilename;
  let resolutions = 0;
  Module._resolveFilename = function (...args) { resolutions++; return resolve.apply(this, args); };
  let rows = 0;
  for (let i = 0; i < 20; i++) rows += (await ds.query('SELECT 1 AS one')).length;
  Module._resolveFilename = resolve;
  await ds.destroy();
  process.stdout.write(JSON.stringify({ type: options.type, rows, resolutions }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

async function run(databaseUrl: string): Promise<{ type: string; rows: number; resolutions: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { type: string; rows: number; resolutions: number };
}

describe('the data source on MariaDB', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('driver');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is probed as MariaDB from a mysql:// URL, and its queries resolve no module path', async () => {
    const r = await run(db.url);
    expect(r.type).toBe('mariadb');
    expect(r.rows).toBe(20);
    expect(r.resolutions).toBe(0);
  });

  it('falls back to the URL flavour when the server cannot be reached for the probe', async () => {
    // A port that refuses: the probe's failed connect must neither crash the process nor hang.
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const probe = `
      const { loadConfig } = require('./dist/src/config/app-config');
      const { resolveDataSourceOptions } = require('./dist/src/database/resolve-options');
      resolveDataSourceOptions(loadConfig(), []).then((o) => process.stdout.write(o.type), (e) => { console.error(e); process.exit(1); });
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', probe], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: `mysql://root@127.0.0.1:${port}/nothing` },
      timeout: 30_000,
    });
    expect(stdout).toBe('mysql');
  });
});
