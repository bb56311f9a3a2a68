import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { AppHandle, http, ROOT } from './app';

// Helpers for the manifest tests: the verifier run as an operator runs it, and a watch on a
// delivery folder that records the order in which final names appear.

const VERIFY = join(ROOT, 'dist', 'src', 'cli', 'verify.js');

export interface ManifestJson {
  version: number;
  recordingId: string;
  chatId: string;
  companyId: string;
  files: { name: string; bytes: number; sha256: string }[];
  chainHead: string | null;
  previousManifestSha256: string | null;
  createdAt: string;
  keyId: string;
  signature: string;
}

export interface SigningKeyJson {
  keyId: string;
  algorithm: string;
  publicKeyPem: string;
  createdAt: string;
}

// The compiled verifier (what `npm run verify --` runs); exit code and everything it printed.
export function verifyCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY, ...args], { cwd: ROOT, timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

export async function signingKeys(app: AppHandle): Promise<SigningKeyJson[]> {
  const r = await http<{ keys: SigningKeyJson[] }>(app, 'GET', '/v1/signing-keys', null);
  if (r.status !== 200) throw new Error(`GET /v1/signing-keys answered ${r.status}`);
  return r.body.keys;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// Final (non-temporary) names in the order they first appear in `dir` (inotify reports renames
// and links in the order they happen).
export function watchArrivals(dir: string): { order: string[]; close(): void } {
  const order: string[] = [];
  const w: FSWatcher = watch(dir, (_event, name) => {
    if (name && !name.startsWith('.') && !order.includes(name)) order.push(name);
  });
  return { order, close: () => w.close() };
}
