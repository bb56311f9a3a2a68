import { createHash } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';

// recordings.file_key reserved a recording's file name alone, so that another recording's file could
// take the name of its sidecar or manifest (a json file named x.meta.json beside x.txt and its
// x.meta.json). It now holds the key of the name's base (fileSetKey in
// src/transcript/filename-template.ts), which is the same for every file of a recording's set.
// Every named row gets its key recomputed, so that old and new keys are never mixed. When rows of a
// company already share a base (x.txt and x.html, say, delivered before), the oldest keeps the key
// and the others get one made from their id, which no name's key can equal (a name never holds a
// newline): their files are already there, and they must not stop the first from blocking its base.
// Down puts back the key of the whole name.
export class FileSetKeys1795360000000 implements MigrationInterface {
  name = 'FileSetKeys1795360000000';

  async up(q: QueryRunner): Promise<void> {
    await this.rekey(q, (rows) => {
      const taken = new Set<string>();
      return rows.map((r) => {
        const key = sha256(fileSetBase(r.file_name));
        const scoped = `${r.company_id}\n${key}`;
        if (taken.has(scoped)) return { id: r.id, key: sha256(`\n${r.id}`) };
        taken.add(scoped);
        return { id: r.id, key };
      });
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await this.rekey(q, (rows) => rows.map((r) => ({ id: r.id, key: sha256(r.file_name) })));
  }

  // Every key is cleared first, so that no new key meets an old one of another row on the way.
  private async rekey(q: QueryRunner, keys: (rows: NamedRow[]) => { id: string; key: string }[]): Promise<void> {
    const rows = (await q.query('SELECT id, company_id, file_name FROM recordings WHERE file_name IS NOT NULL ORDER BY created_at ASC, id ASC')) as NamedRow[];
    await q.query('UPDATE recordings SET file_key = NULL WHERE file_key IS NOT NULL');
    const all = keys(rows);
    for (let i = 0; i < all.length; i += 500) {
      const batch = all.slice(i, i + 500);
      await q.query(
        `UPDATE recordings SET file_key = CASE id ${batch.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE id IN (${batch.map(() => '?').join(', ')})`,
        [...batch.flatMap((b) => [b.id, b.key]), ...batch.map((b) => b.id)],
      );
    }
  }
}

interface NamedRow {
  id: string;
  company_id: string;
  file_name: string;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

// fileSetBase as of this migration (kept here so that a later change to it cannot change what
// this migration did): the name without .txt, .html or .json, then without every .meta, .manifest
// and .vcon at its end.
function fileSetBase(name: string): string {
  let base = name.replace(/\.(?:txt|html|json)$/, '');
  for (let next = base.replace(/\.(?:meta|manifest|vcon)$/, ''); next !== base; next = base.replace(/\.(?:meta|manifest|vcon)$/, '')) base = next;
  return base;
}
