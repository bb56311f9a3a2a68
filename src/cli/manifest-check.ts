import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { keyIdOf } from '../security/signing-key-material';
import { canonicalManifestBytes, Manifest, parseManifest, sha256Hex } from '../transcript/recording-manifest';

// What `npm run verify` checks (src/cli/verify.ts prints it): a manifest's signature and files,
// and a folder's chain of manifests. Plain functions over files; no database, no service.

export const MANIFEST_SUFFIX = '.manifest.json';

// Public keys by keyId: from one PEM file (--key) or from GET /v1/signing-keys (--url).
export type KeySource = { kind: 'file'; key: KeyObject; keyId: string } | { kind: 'url'; url: string; keys: Map<string, KeyObject> };

export function keyFromPem(pem: string): { key: KeyObject; keyId: string } {
  // A private key's PEM gives its public half too.
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519`);
  return { key, keyId: keyIdOf(key) };
}

export async function keysFromUrl(baseUrl: string): Promise<KeySource> {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/signing-keys`;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url} answered ${r.status}`);
  const body = (await r.json()) as { keys?: { keyId?: unknown; algorithm?: unknown; publicKeyPem?: unknown }[] };
  const keys = new Map<string, KeyObject>();
  for (const k of body.keys ?? []) {
    if (typeof k.keyId !== 'string' || typeof k.publicKeyPem !== 'string' || k.algorithm !== 'Ed25519') continue;
    const parsed = keyFromPem(k.publicKeyPem);
    // The id is derived from the key: a listed id that does not match its key is not trusted.
    if (parsed.keyId === k.keyId) keys.set(k.keyId, parsed.key);
  }
  return { kind: 'url', url, keys };
}

// Problems with the signature; empty when it verifies.
export function signatureProblems(m: Manifest, keys: KeySource): string[] {
  let key: KeyObject;
  if (keys.kind === 'file') {
    if (keys.keyId !== m.keyId) return [`wrong key: the manifest was signed with key ${m.keyId}, the key given is ${keys.keyId}`];
    key = keys.key;
  } else {
    const found = keys.keys.get(m.keyId);
    if (!found) return [`unknown key: ${m.keyId} is not listed at ${keys.url}`];
    key = found;
  }
  const signature = Buffer.from(m.signature, 'base64');
  const ok = signature.length === 64 && verify(null, canonicalManifestBytes(m), key, signature);
  return ok ? [] : [`bad signature: the manifest's signature does not verify with key ${m.keyId} (the manifest was altered, or not signed by it)`];
}

// The target folder the names are relative to: the manifest lies beside its recording's files, so
// the folder part of their names is the end of the manifest's own folder.
export function targetRootOf(manifestPath: string, m: Manifest): string {
  const dir = dirname(resolve(manifestPath));
  const sub = dirname(m.files[0].name);
  if (sub === '.') return dir;
  const tail = sep + sub.split('/').join(sep);
  if (!dir.endsWith(tail)) throw new Error(`the manifest is not in the folder ${sub} its files name; give the target folder with --root`);
  return dir.slice(0, dir.length - tail.length) || sep;
}

// Problems with the listed files; empty when every one is there with its bytes.
export async function fileProblems(m: Manifest, root: string): Promise<string[]> {
  const out: string[] = [];
  const top = resolve(root);
  for (const f of m.files) {
    const path = resolve(top, ...f.name.split('/'));
    if (!path.startsWith(top + sep)) {
      out.push(`${f.name}: the name leaves the target folder`);
      continue;
    }
    let measured: { bytes: number; sha256: string };
    try {
      measured = await measure(path);
    } catch (err) {
      out.push((err as NodeJS.ErrnoException).code === 'ENOENT' ? `missing file: ${f.name}` : `${f.name}: cannot be read (${(err as Error).message})`);
      continue;
    }
    if (measured.bytes !== f.bytes || measured.sha256 !== f.sha256) {
      out.push(`changed file: ${f.name} is ${measured.bytes} bytes with sha256 ${measured.sha256}; the manifest says ${f.bytes} bytes with sha256 ${f.sha256}`);
    }
  }
  return out;
}

export async function readManifest(path: string): Promise<{ manifest: Manifest; sha256: string }> {
  const data = await fs.readFile(path);
  return { manifest: parseManifest(data), sha256: sha256Hex(data) };
}

export interface ChainReport {
  // Per company, the manifests in chain order (paths relative to the folder).
  chains: { companyId: string; order: string[] }[];
  problems: string[];
  // Gaps an erasure notice in the folder explains (docs/erasure.md): not problems.
  erased: string[];
}

// What erasure notices (erasures/<erasureId>.json) under the folder say was removed, by sha256.
interface ErasedFile {
  erasureId: string;
  companyId: string;
  name: string;
  notice: string;
}

// Links every manifest under `dir` by previousManifestSha256: a manifest whose predecessor is not
// there, two with the same predecessor, or more than one first manifest of a company is reported.
export async function checkChain(dir: string, keys: KeySource | null): Promise<ChainReport> {
  const problems: string[] = [];
  const erased: string[] = [];
  const byCompany = new Map<string, { path: string; sha256: string; m: Manifest }[]>();
  const found = await filesUnder(dir);
  const removed = await erasedFiles(dir, found.notices);
  for (const path of found.manifests) {
    const rel = relative(dir, path);
    try {
      const { manifest, sha256 } = await readManifest(path);
      if (keys) for (const p of signatureProblems(manifest, keys)) problems.push(`${rel}: ${p}`);
      const list = byCompany.get(manifest.companyId) ?? [];
      list.push({ path: rel, sha256, m: manifest });
      byCompany.set(manifest.companyId, list);
    } catch (err) {
      problems.push(`${rel}: ${(err as Error).message}`);
    }
  }
  const chains: ChainReport['chains'] = [];
  for (const [companyId, list] of [...byCompany].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const bySha = new Map(list.map((e) => [e.sha256, e]));
    const next = new Map<string | null, typeof list>();
    for (const e of list) next.set(e.m.previousManifestSha256, [...(next.get(e.m.previousManifestSha256) ?? []), e]);
    const firsts = next.get(null) ?? [];
    if (firsts.length > 1) problems.push(`company ${companyId}: ${firsts.length} manifests claim to be the first: ${firsts.map((e) => e.path).join(', ')}`);
    for (const e of list) {
      const prev = e.m.previousManifestSha256;
      const gone = prev === null ? undefined : removed.get(prev);
      if (prev !== null && !bySha.has(prev) && gone?.companyId === companyId) {
        erased.push(
          `erased in company ${companyId}: the manifest before ${e.path} (recording ${e.m.recordingId}) was removed by erasure ${gone.erasureId}: ${gone.notice} lists ${gone.name} with sha256 ${prev}`,
        );
      } else if (prev !== null && !bySha.has(prev)) {
        problems.push(
          `gap in company ${companyId}: the manifest before ${e.path} (recording ${e.m.recordingId}) is missing: no manifest here has sha256 ${prev}`,
        );
      }
    }
    for (const [prev, after] of next) {
      if (prev !== null && after.length > 1) problems.push(`fork in company ${companyId}: ${after.map((e) => e.path).join(' and ')} follow the same manifest`);
    }
    // The chain order: from each first (or each manifest whose predecessor is missing) onwards.
    const order: string[] = [];
    const seen = new Set<string>();
    const starts = list.filter((e) => e.m.previousManifestSha256 === null || !bySha.has(e.m.previousManifestSha256));
    for (const start of starts.sort((a, b) => (a.m.createdAt < b.m.createdAt ? -1 : 1))) {
      let at: (typeof list)[number] | undefined = start;
      while (at && !seen.has(at.sha256)) {
        seen.add(at.sha256);
        order.push(at.path);
        at = next.get(at.sha256)?.[0];
      }
    }
    chains.push({ companyId, order });
  }
  return { chains, problems, erased };
}

// The manifests and the erasure notices (a file `erasures/<id>.json`) under the folder.
async function filesUnder(dir: string): Promise<{ manifests: string[]; notices: string[] }> {
  const manifests: string[] = [];
  const notices: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 64) return;
    for (const entry of await fs.readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path, depth + 1);
      // Temporary upload names start with "."; they are not delivered files.
      else if (!entry.isFile() || basename(entry.name).startsWith('.')) continue;
      else if (entry.name.endsWith(MANIFEST_SUFFIX)) manifests.push(path);
      else if (basename(d) === 'erasures' && entry.name.endsWith('.json')) notices.push(path);
    }
  };
  await walk(resolve(dir), 0);
  return { manifests: manifests.sort(), notices: notices.sort() };
}

// Files the notices say were removed, by their sha256 (notices without digests name none).
// A notice is not signed: it explains a gap, the service's erasure status confirms it.
async function erasedFiles(dir: string, notices: string[]): Promise<Map<string, ErasedFile>> {
  const out = new Map<string, ErasedFile>();
  for (const path of notices) {
    let n: { erasureId?: unknown; companyId?: unknown; files?: unknown };
    try {
      n = JSON.parse(await fs.readFile(path, 'utf8')) as typeof n;
    } catch {
      continue;
    }
    if (typeof n.erasureId !== 'string' || typeof n.companyId !== 'string' || !Array.isArray(n.files)) continue;
    for (const f of n.files as { name?: unknown; sha256?: unknown }[]) {
      if (typeof f?.name !== 'string' || typeof f.sha256 !== 'string' || !f.name.endsWith(MANIFEST_SUFFIX)) continue;
      out.set(f.sha256, { erasureId: n.erasureId, companyId: n.companyId, name: f.name, notice: relative(dir, path) });
    }
  }
  return out;
}

async function measure(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
