import { createHash, hash } from 'node:crypto';
import type { SenderRole } from './message.entity';

// The chain of a chat's stored messages (contract section 9, docs/integrity.md "Chained messages"):
// link(n) = SHA-256(link(n-1) || UTF-8 of the canonical form of message n), link(0) = 32 zero bytes.
// The canonical form holds the body's digest, not the body: the service removes bodies by design
// (purges, retention, crypto-shredding), and the chain must still verify afterwards.

export const CHAIN_ORIGIN = Buffer.alloc(32);
export const CHAIN_ORIGIN_HEX = CHAIN_ORIGIN.toString('hex');

export interface ChainFields {
  seq: number;
  at: Date;
  senderRole: SenderRole;
  senderId: string;
  // Lowercase hex SHA-256 of the stored text, or null when the message was stored while paused.
  bodySha256: string | null;
}

// One-shot hashing (crypto.hash, Node >= 20.12) skips the Hash object a createHash() call builds:
// these run for every stored message. createHash stays as the fallback.
const sha256 = (data: string | Buffer, encoding: 'hex' | 'buffer'): string | Buffer =>
  typeof hash === 'function'
    ? hash('sha256', data, encoding)
    : encoding === 'hex'
      ? createHash('sha256').update(data).digest('hex')
      : createHash('sha256').update(data).digest();

// Lowercase hex SHA-256 of the UTF-8 bytes of a body as stored (after card masking, before sealing).
export function bodyDigest(text: string | null): string | null {
  return text === null ? null : (sha256(text, 'hex') as string);
}

// RFC 8785 (JCS) canonical JSON of {seq, at, senderRole, senderId, bodySha256}. Every value is a
// string, an integer or null, for which JCS is JSON.stringify with the keys in UTF-16 order:
// {"at":..,"bodySha256":..,"senderId":..,"senderRole":..,"seq":..}. Written out with the keys
// already in that order (the spec checks it against canonicalJson). The middle three members are
// the "tail" here: a message's tail is known when it is queued, its `at` and `seq` only under the
// chat's lock, so the store builds the tail outside the commit's critical path.
export function canonicalTail(f: Pick<ChainFields, 'senderRole' | 'senderId' | 'bodySha256'>): string {
  const body = f.bodySha256 === null ? 'null' : JSON.stringify(f.bodySha256);
  return `"bodySha256":${body},"senderId":${JSON.stringify(f.senderId)},"senderRole":${JSON.stringify(f.senderRole)}`;
}

// `at` as its JSON string (quotes included), shared by every message of a batch.
export const canonicalAt = (at: Date): string => `"${at.toISOString()}"`;

export function canonicalMessage(f: ChainFields): string {
  if (!Number.isSafeInteger(f.seq)) throw new TypeError('a message seq must be an integer');
  return `{"at":${canonicalAt(f.at)},${canonicalTail(f)},"seq":${f.seq}}`;
}

// The previous link and the canonical text are laid out in one reused buffer and hashed in one
// call: no Buffer per message. Canonical forms longer than it (a very long sender id) take a
// buffer of their own.
const scratch = Buffer.allocUnsafe(32 + 16 * 1024);

function linkOf(previous: Buffer | string, canonical: string, encoding: 'hex' | 'buffer'): string | Buffer {
  // A previous link that is not 32 bytes (a head changed in the database) is hashed as it is: the
  // chain then breaks where the verifier will find it, and messages are still stored.
  if (typeof previous !== 'string' && previous.length !== 32) return sha256(Buffer.concat([previous, Buffer.from(canonical, 'utf8')]), encoding);
  if (typeof previous === 'string' && !/^[0-9a-f]{64}$/i.test(previous)) return linkOf(Buffer.from(previous, 'hex'), canonical, encoding);
  // UTF-8 takes at most three bytes per UTF-16 unit.
  const buf = canonical.length * 3 <= scratch.length - 32 ? scratch : Buffer.allocUnsafe(32 + canonical.length * 3);
  if (typeof previous === 'string') buf.write(previous, 0, 32, 'hex');
  else previous.copy(buf, 0);
  const n = buf.write(canonical, 32, 'utf8');
  return sha256(buf.subarray(0, 32 + n), encoding);
}

export function nextLink(previous: Buffer, f: ChainFields): Buffer {
  return linkOf(previous, canonicalMessage(f), 'buffer') as Buffer;
}

// The same link, from and to lowercase hex, from the parts the store has at hand: the batch's
// `at` (canonicalAt), the message's tail (canonicalTail) and its seq.
export function nextLinkHex(previousHex: string, at: string, tail: string, seq: number): string {
  if (!Number.isSafeInteger(seq)) throw new TypeError('a message seq must be an integer');
  return linkOf(previousHex, `{"at":${at},${tail},"seq":${seq}}`, 'hex') as string;
}
