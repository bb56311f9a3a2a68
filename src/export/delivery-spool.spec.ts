import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/app-config';
import { DeliverySpool } from './delivery-spool';

describe('DeliverySpool', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wcr-spool-spec-'));
    dir = join(root, 'spool');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const spoolIn = (d: string) => new DeliverySpool(loadConfig({ DELIVERY_SPOOL_DIR: d }, root));

  it('keeps a body in a private file, reads it back as often as asked, and removes it', async () => {
    const spool = spoolIn(dir);
    const body = await spool.create();
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.from(`chunk ${i} `.repeat(5000)));
    for (const c of chunks) await body.write(c);
    await body.close();
    const [name] = readdirSync(dir);
    expect(name).toMatch(new RegExp(`^${process.pid}\\.[0-9a-f]{16}\\.spool$`));
    expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (let i = 0; i < 2; i++) {
      const back: Buffer[] = [];
      for await (const c of body.read()) back.push(c);
      expect(Buffer.concat(back).equals(Buffer.concat(chunks))).toBe(true);
    }
    await body.remove();
    await body.remove();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("at start removes the files of processes that no longer run and its own pid's, and nothing else", async () => {
    mkdirSync(dir);
    const names = ['999999999.0123456789abcdef.spool', `${process.pid}.0123456789abcdef.spool`, `${process.ppid}.0123456789abcdef.spool`, 'notes.txt'];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    await spoolIn(dir).onModuleInit();
    // The parent process runs: its file may be in use.
    expect(readdirSync(dir).sort()).toEqual([`${process.ppid}.0123456789abcdef.spool`, 'notes.txt'].sort());
  });

  it('a folder that cannot be made does not stop the start; creating a file then fails', async () => {
    writeFileSync(join(root, 'file'), 'x');
    const spool = spoolIn(join(root, 'file', 'spool'));
    await expect(spool.onModuleInit()).resolves.toBeUndefined();
    await expect(spool.create()).rejects.toThrow();
  });
});
