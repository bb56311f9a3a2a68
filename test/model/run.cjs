// `npm run test:model -- [--runs N] [--seed S] [--db mariadb|sqlite|both] [--path P --replay R]
//                        [--time-limit SECONDS] [--max-commands N] [--survey] [--verbose] [--no-clash]`
// Runs the model-based test (test/model/mbt.test.ts) with these options, passed to jest as
// MBT_* environment variables. A failing run prints the command that replays it.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const flags = {
  runs: 'MBT_RUNS',
  seed: 'MBT_SEED',
  db: 'MBT_DB',
  path: 'MBT_PATH',
  replay: 'MBT_REPLAY',
  'time-limit': 'MBT_TIME_LIMIT_S',
  'max-commands': 'MBT_MAX_COMMANDS',
};
const switches = { survey: 'MBT_SURVEY', verbose: 'MBT_VERBOSE', 'no-clash': 'MBT_NO_CLASH' };
const env = { ...process.env };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const name = args[i].replace(/^--/, '');
  if (switches[name]) env[switches[name]] = '1';
  else if (flags[name] && i + 1 < args.length) env[flags[name]] = args[++i];
  else {
    console.error(`unknown option ${args[i]}`);
    process.exit(2);
  }
}
// Enough jest time for the property's own bound plus the services' start.
const root = join(__dirname, '..', '..');
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), 'test/model/mbt.test.ts', '--runInBand'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
