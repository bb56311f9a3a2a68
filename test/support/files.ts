import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

// Regular files under a folder, recursively (none if it does not exist yet): absolute paths.
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

// The same, relative to the folder with '/' separators, sorted.
export function relativeFilesUnder(dir: string): string[] {
  return filesUnder(dir)
    .map((f) => relative(dir, f).split('\\').join('/'))
    .sort();
}

// The files under a folder once no upload is in progress there: none while a temporary name
// (".<hex>.part", see src/export/transport.ts) is present, since the local folder transport writes
// the temporary file, links it to its final name and only then removes it.
export function settledFilesUnder(dir: string): string[] {
  const files = filesUnder(dir);
  return files.some((f) => /(^|[\\/])\.[^\\/]*\.part$/.test(f)) ? [] : files;
}
