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
// Written out with the keys already in that order: this runs for every stored message, inside the
// commit's critical path, and is the same text canonicalJson gives (the spec checks both agree).
export function canonicalMessage(f: ChainFields): string {
  if (!Number.isSafeInteger(f.seq)) throw new TypeError('a message seq must be an integer');
  const body = f.bodySha256 === null ? 'null' : JSON.stringify(f.bodySha256);
  return `{"at":${JSON.stringify(f.at.toISOString())},"bodySha256":${body},"senderId":${JSON.stringify(f.senderId)},"senderRole":${JSON.stringify(f.senderRole)},"seq":${f.seq}}`;
}

export function nextLink(previous: Buffer, f: ChainFields): Buffer {
  return createHash('sha256').update(previous).update(canonicalMessage(f), 'utf8').digest();
}
