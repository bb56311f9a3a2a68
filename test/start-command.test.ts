import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The service's node options are written three times: `npm start`, `npm run start:prod` and the
// image's CMD (the bench reads them from start:prod). They must say the same, and this node must
// accept them (an option it does not know stops it before the service starts).
const ROOT = join(__dirname, '..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function optionsOf(command: string, prefix = ''): string[] {
  const m = new RegExp(`^${prefix}node\\s+(.*?)\\s*dist/src/main\\.js$`).exec(command);
  expect(m).not.toBeNull();
  return (m as RegExpExecArray)[1].split(/\s+/).filter(Boolean);
}

describe('the commands that start the service', () => {
  const production = optionsOf(scripts['start:prod']);

  it('start, start:prod and the Dockerfile CMD run the same node options', () => {
    expect(production).toContain('--max-semi-space-size=32');
    expect(optionsOf(scripts.start, 'npm run build && ')).toEqual(production);
    const cmds = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('CMD '));
    expect(JSON.parse(cmds[cmds.length - 1].slice(4))).toEqual(['node', ...production, 'dist/src/main.js']);
  });

  it('this node accepts them', () => {
    const r = spawnSync(process.execPath, [...production, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ok');
    const bad = spawnSync(process.execPath, ['--max-semi-space-sizes=32', '-e', '0'], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).not.toBe(0);
  });
});
