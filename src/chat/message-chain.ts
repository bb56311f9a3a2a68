import { createHash } from 'node:crypto';
import type { SenderRole } from './message.entity';

// The chain of a chat's stored messages (contract section 9, docs/integrity.md "Chained messages"):
// link(n) = SHA-256(link(n-1) || UTF-8 of the canonical form of message n), link(0) = 32 zero bytes.
// The canonical form holds the body's digest, not the body: the service removes bodies by design
// (purges, retention, crypto-shredding), and the chain must still verify afterwards.

export const CHAIN_ORIGIN = Buffer.alloc(32);

export interface ChainFields {
  seq: number;
  at: Date;
  senderRole: SenderRole;
  senderId: string;
  // Lowercase hex SHA-256 of the stored text, or null when the message was stored while paused.
  bodySha256: string | null;
}

// Lowercase hex SHA-256 of the UTF-8 bytes of a body as stored (after card masking, before sealing).
export function bodyDigest(text: string | null): string | null {
  return text === null ? null : createHash('sha256').update(text, 'utf8').digest('hex');
}

// RFC 8785 (JCS) canonical JSON of {seq, at, senderRole, senderId, bodySha256}. Every value is a
// string, an integer or null, for which JCS is JSON.stringify with the keys in UTF-16 order.
export function canonicalMessage(f: ChainFields): string {
  return canonicalJson({ seq: f.seq, at: f.at.toISOString(), senderRole: f.senderRole, senderId: f.senderId, bodySha256: f.bodySha256 });
}

export function nextLink(previous: Buffer, f: ChainFields): Buffer {
  return createHash('sha256').update(previous).update(canonicalMessage(f), 'utf8').digest();
}

// JCS for the JSON values used here (no floating point: integers serialise as ECMAScript does).
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('JCS: a number must be finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    // Default sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 asks.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`JCS: cannot serialise a ${typeof value}`);
}
