import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { resolveDataSourceOptions } from '../database/resolve-options';
import { ENTITIES } from '../wiring/entities';

// npm run migration:run | migration:revert — the same config loader and options as the service.
async function main(): Promise<void> {
  const cmd = process.argv[2] ?? 'run';
  const ds = new DataSource(await resolveDataSourceOptions(loadConfig(), ENTITIES));
  await ds.initialize();
  try {
    if (cmd === 'run') {
      const done = await ds.runMigrations({ transaction: 'each' });
      console.log(done.length ? `applied: ${done.map((m) => m.name).join(', ')}` : 'schema is up to date');
    } else if (cmd === 'revert') {
      await ds.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
    } else {
      throw new Error(`unknown command ${cmd} (run | revert)`);
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
