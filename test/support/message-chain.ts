import { createHash } from 'node:crypto';

// A chat's chain recomputed from its rows exactly as docs/integrity.md ("Chained messages") says,
// written again here without the service's code: a third party's check.
export interface ChainRow {
  seq: number;
  at: Date;
  sender_role: string;
  sender_id: string;
  text: string | null;
  body_sha256: string | null;
  chain: string | null;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

// null when every row checks out, else the first seq that does not; `head` is the chat row's.
export function firstBreak(rows: ChainRow[], head: string | null, opened: (r: ChainRow) => string | null = (r) => r.text): number | null {
  let link = Buffer.alloc(32);
  for (const [i, r] of rows.entries()) {
    if (r.seq !== i + 1) return i + 1;
    const body = opened(r);
    if (body !== null && sha256(Buffer.from(body, 'utf8')).toString('hex') !== r.body_sha256) return r.seq;
    // Keys in code-unit order; every value a string, an integer or null: JSON.stringify is JCS here.
    const canonical = `{"at":${JSON.stringify(r.at.toISOString())},"bodySha256":${JSON.stringify(r.body_sha256)},"senderId":${JSON.stringify(r.sender_id)},"senderRole":${JSON.stringify(r.sender_role)},"seq":${r.seq}}`;
    link = sha256(Buffer.concat([link, Buffer.from(canonical, 'utf8')]));
    if (link.toString('hex') !== r.chain) return r.seq;
  }
  return link.toString('hex') === (head ?? Buffer.alloc(32).toString('hex')) ? null : rows.length;
}
