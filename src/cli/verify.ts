import { promises as fs } from 'node:fs';
import { servicePort } from '../config/app-config';
import { checkChain, fileProblems, keyFromPem, keysFromUrl, KeySource, readManifest, signatureProblems, targetRootOf } from './manifest-check';

// Checks a delivered recording against its signed manifest, or a folder's chain of manifests
// (docs/integrity.md). Needs nothing but the files and the public key (or the service's URL).
//   npm run verify -- MANIFEST [--key PEM_FILE | --url BASE_URL] [--root TARGET_DIR]
//   npm run verify -- --chain DIR [--key PEM_FILE | --url BASE_URL]
// Prints `ok` and exits 0, or prints each mismatch and exits 1; 2 for a usage or read error.
// A manifest without --key or --url is checked with the keys the service of this checkout lists
// (http://127.0.0.1:$PORT, PORT defaulting to 3000 as for the service).
const USAGE = [
  'usage: npm run verify -- MANIFEST [--key PEM_FILE | --url BASE_URL] [--root TARGET_DIR]',
  '       npm run verify -- --chain DIR [--key PEM_FILE | --url BASE_URL]',
].join('\n');

class UsageError extends Error {}

function parseArgs(argv: string[]): { manifest?: string; chain?: string; key?: string; url?: string; root?: string } {
  const out: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--key' || a === '--url' || a === '--root' || a === '--chain') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${a} needs a value`);
      out[a.slice(2)] = v;
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length > 1) throw new UsageError('give one manifest');
  if (out.key && out.url) throw new UsageError('give --key or --url, not both');
  if (out.chain && positional.length > 0) throw new UsageError('give a manifest or --chain DIR, not both');
  if (!out.chain && positional.length === 0) throw new UsageError('give a manifest or --chain DIR');
  return { ...out, manifest: positional[0] };
}

async function keySource(args: { key?: string; url?: string }): Promise<KeySource | null> {
  if (args.key) return { kind: 'file', ...keyFromPem(await fs.readFile(args.key, 'utf8')) };
  if (args.url) return keysFromUrl(args.url);
  return null;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const keys = await keySource(args);
  if (args.chain) {
    const report = await checkChain(args.chain, keys);
    for (const c of report.chains)
      console.log(`company ${c.companyId}: ${c.order.length} manifest(s)\n${c.order.map((p, i) => `  ${i + 1}. ${p}`).join('\n')}`);
    for (const e of report.erased) console.log(e);
    for (const p of report.problems) console.log(p);
    if (!keys) console.log('(signatures not checked: give --key or --url to check them too)');
    if (report.problems.length > 0) return 1;
    console.log('ok');
    return 0;
  }
  const path = args.manifest as string;
  const manifestKeys = keys ?? (await localServiceKeys());
  let read;
  try {
    read = await readManifest(path);
  } catch (err) {
    console.log(`${path}: ${(err as Error).message}`);
    return 1;
  }
  const problems = signatureProblems(read.manifest, manifestKeys);
  problems.push(...(await fileProblems(read.manifest, args.root ?? targetRootOf(path, read.manifest))));
  for (const p of problems) console.log(p);
  if (problems.length > 0) return 1;
  console.log('ok');
  return 0;
}

// The signature is what proves the manifest: with no key given, the local service's list.
async function localServiceKeys(): Promise<KeySource> {
  const url = `http://127.0.0.1:${servicePort()}`;
  try {
    return await keysFromUrl(url);
  } catch (err) {
    throw new UsageError(
      `no --key or --url given, and the keys of the service at ${url} could not be read (${(err as Error).message}): give --key PEM_FILE or --url BASE_URL`,
    );
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : `verify: ${(err as Error).message}`);
    process.exit(2);
  },
);
