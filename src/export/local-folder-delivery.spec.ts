import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFolderTransport } from './local-folder.transport';
import { bufferFile } from './transport';

describe('LocalFolderTransport.deliverOne', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wcr-local-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("names a failure's path from the company folder, never with the server's export folder", async () => {
    // A file where the day's folder should be: the folder cannot be made.
    mkdirSync(join(root, 'acme'));
    writeFileSync(join(root, 'acme', '20261201'), 'in the way');
    const t = new LocalFolderTransport(root);
    const failure = await t.deliverOne(bufferFile({ companyId: 'acme', relPath: '20261201/x.txt', tempTag: 'tag' }, 'body')).catch((e: Error) => e);
    const message = (failure as Error).message;
    expect(message).toMatch(/^E[A-Z]+/);
    expect(message).toContain('acme/20261201');
    expect(message).not.toContain(root);
  });
});
