import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir } from './support/app';

// Every state change of a chat, the company switch's marker included, is given a time after the
// chat's latest marker: a file takes the markers between an agent's join and leave by time, so two
// changes in the same millisecond must still keep their order. The service's modules run in a
// process of their own (test/support/frozen-clock-run.ts) with a clock that stands still.
describe('state change times with a clock that stands still (SQLite)', () => {
  it("keep the chat's markers in the order the changes happened, the company switch's included", () => {
    const dir = mkdtempSync(join(tmpdir(), 'wcr-still-clock-'));
    try {
      const out = execFileSync(process.execPath, [join(__dirname, '..', 'dist', 'test', 'support', 'frozen-clock-run.js'), dir], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const markers = JSON.parse(out.trim().split('\n').pop() as string) as { kind: string; at: string }[];
      expect(markers.map((m) => m.kind)).toEqual(['assign', 'join', 'leave', 'recording_off', 'join']);
      const times = markers.map((m) => new Date(`${m.at.replace(' ', 'T')}Z`).getTime());
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
    } finally {
      cleanupDir(dir);
    }
  });
});
