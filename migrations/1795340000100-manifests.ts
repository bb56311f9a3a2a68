import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

// Signed manifests (contract section 9):
// - profiles.manifest, and its snapshot on the recording (profile_manifest) like format and sidecar;
// - recordings.manifest_json: the manifest as built once, delivered byte for byte on every retry;
// - manifest_chain: per company, the SHA-256 of its last manifest (the next one's
//   previousManifestSha256), locked while a manifest is built so the chain has one order;
// - signing_keys: every public key manifests were signed with.
export class Manifests1795340000100 implements MigrationInterface {
  name = 'Manifests1795340000100';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('profiles', new TableColumn({ name: 'manifest', type: 'boolean', default: 0 }));
    await q.addColumn('recordings', new TableColumn({ name: 'profile_manifest', type: 'boolean', isNullable: true }));
    await q.addColumn('recordings', new TableColumn({ name: 'manifest_json', type: 'text', isNullable: true }));
    await q.createTable(
      new Table({
        name: 'manifest_chain',
        columns: [
          { name: 'company_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'last_sha256', type: 'varchar', length: '64', isNullable: true },
          { name: 'last_recording_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          { name: 'key_id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'algorithm', type: 'varchar', length: '16' },
          { name: 'public_key_pem', type: 'text' },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('signing_keys');
    await q.dropTable('manifest_chain');
    await q.dropColumn('recordings', 'manifest_json');
    await q.dropColumn('recordings', 'profile_manifest');
    await q.dropColumn('profiles', 'manifest');
  }
}
