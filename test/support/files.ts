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
