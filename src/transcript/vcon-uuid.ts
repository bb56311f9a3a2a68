import { createHash } from 'node:crypto';
import { redactCardData } from '../common/redact-card-data';

const MAX_UNIX_MS = 2 ** 48 - 1;

// The uuid of a recording's vCon. The draft (draft-ietf-vcon-vcon-core-04, "uuid") asks for a
// version 8 UUID laid out like version 7: 48 bits of Unix time in milliseconds, then custom bits,
// which it fills from SHA-1 of the host's name. Here the time is the recording's start and the
// custom bits come from SHA-1 of the recording's identity: the same recording always gets the same
// uuid (a retried or re-rendered delivery keeps it) and two recordings never share one.
// Like our own ids (common/ids.ts), a uuid that the card-data masking would alter is drawn again
// (the next counter value), so that it reads the same wherever it is copied.
export function vconUuid(companyId: string, recordingId: string, startedAt: Date): string {
  let candidate = '';
  for (let attempt = 0; attempt < 32; attempt++) {
    candidate = layout(startedAt, createHash('sha1').update(`webchat-recording\u0000${companyId}\u0000${recordingId}\u0000${attempt}`).digest());
    if (redactCardData(candidate) === candidate) return candidate;
  }
  return candidate;
}

function layout(startedAt: Date, hash: Buffer): string {
  const ms = Math.min(Math.max(Math.floor(startedAt.getTime()) || 0, 0), MAX_UNIX_MS);
  const b = Buffer.alloc(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x80 | (hash[0] & 0x0f); // version 8, then custom_a
  b[7] = hash[1];
  b[8] = 0x80 | (hash[2] & 0x3f); // the RFC 9562 variant, then custom_c
  hash.copy(b, 9, 3, 10);
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
