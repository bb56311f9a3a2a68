import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

// The signed manifest of a delivery (contract section 9): plain functions, no key or database.
// Signing is handed in as a function, so this file never holds a private key.

export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  // As delivered, relative to the target folder.
  name: string;
  bytes: number;
  sha256: string;
}

export interface UnsignedManifest {
  version: typeof MANIFEST_VERSION;
  recordingId: string;
  chatId: string;
  companyId: string;
  files: ManifestFile[];
  chainHead: string | null;
  previousManifestSha256: string | null;
  createdAt: string;
  keyId: string;
}

export interface Manifest extends UnsignedManifest {
  // Ed25519, base64, over canonicalManifestBytes(the manifest without `signature`).
  signature: string;
}

export interface ManifestSigner {
  keyId: string;
  // Returns the base64 signature of `data`.
  sign(data: Buffer): string;
}

// RFC 8785 (JCS) canonical JSON of the manifest without its signature: the signed bytes.
export function canonicalManifestBytes(m: UnsignedManifest | Manifest): Buffer {
  const unsigned: Partial<Manifest> = { ...m };
  delete unsigned.signature;
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

// The manifest file's bytes: indented JSON in the contract's field order, with a final newline.
// A verifier parses it and canonicalises again, so the layout is free; it is fixed here so that
// the same manifest is always the same bytes.
export function buildManifest(fields: Omit<UnsignedManifest, 'version' | 'keyId'>, signer: ManifestSigner): Buffer {
  const unsigned: UnsignedManifest = {
    version: MANIFEST_VERSION,
    recordingId: fields.recordingId,
    chatId: fields.chatId,
    companyId: fields.companyId,
    files: fields.files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 })),
    chainHead: fields.chainHead,
    previousManifestSha256: fields.previousManifestSha256,
    createdAt: fields.createdAt,
    keyId: signer.keyId,
  };
  const manifest: Manifest = { ...unsigned, signature: signer.sign(canonicalManifestBytes(unsigned)) };
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

// Reads a manifest file's bytes, checking its shape; throws an Error naming what is wrong.
export function parseManifest(data: Buffer): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw new Error('the manifest is not JSON');
  }
  const m = v as Record<string, unknown>;
  const fail = (field: string): never => {
    throw new Error(`the manifest's ${field} is missing or malformed`);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('the manifest is not a JSON object');
  if (m.version !== MANIFEST_VERSION) fail('version');
  for (const k of ['recordingId', 'chatId', 'companyId', 'createdAt', 'keyId', 'signature']) if (typeof m[k] !== 'string' || m[k] === '') fail(k);
  for (const k of ['chainHead', 'previousManifestSha256']) if (m[k] !== null && !(typeof m[k] === 'string' && HEX64.test(m[k]))) fail(k);
  if (!Array.isArray(m.files) || m.files.length === 0) fail('files');
  for (const f of m.files as Record<string, unknown>[]) {
    if (typeof f !== 'object' || f === null) fail('files');
    if (typeof f.name !== 'string' || f.name === '' || f.name.startsWith('/') || f.name.split('/').some((s) => s === '..' || s === '.' || s === ''))
      fail('files[].name');
    if (typeof f.bytes !== 'number' || !Number.isSafeInteger(f.bytes) || f.bytes < 0) fail('files[].bytes');
    if (typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) fail('files[].sha256');
  }
  return m as unknown as Manifest;
}
