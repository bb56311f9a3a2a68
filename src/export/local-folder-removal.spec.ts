import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFolderTransport } from './local-folder.transport';

describe('LocalFolderTransport.remove', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wcr-remove-'));
    mkdirSync(join(root, 'acme', 'day'), { recursive: true });
    writeFileSync(join(root, 'acme', 'day', 'a.txt'), 'a');
    writeFileSync(join(root, 'acme', 'day', 'a.meta.json'), '{}');
    writeFileSync(join(root, 'outside.txt'), 'not ours');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('removes each file, says which were not there, and never leaves the company folder', async () => {
    const t = new LocalFolderTransport(root);
    const results = await t.remove('acme', ['day/a.meta.json', 'day/a.txt', 'day/gone.txt', '../outside.txt', 'day']);
    expect(results).toEqual([
      { outcome: 'removed' },
      { outcome: 'removed' },
      { outcome: 'not_found' },
      { outcome: 'failed', error: 'path escapes the export folder: ../outside.txt' },
      { outcome: 'failed', error: expect.stringMatching(/^day: E/) as unknown },
    ]);
    expect(existsSync(join(root, 'acme', 'day', 'a.txt'))).toBe(false);
    expect(existsSync(join(root, 'outside.txt'))).toBe(true);
    // again: nothing left, nothing fails
    expect(await t.remove('acme', ['day/a.txt'])).toEqual([{ outcome: 'not_found' }]);
  });
});
