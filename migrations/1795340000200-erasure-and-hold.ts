import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

// Contract section 10: legal hold on chats, the files each delivery put on a target (so that an
// erasure knows what to remove, and where), and the erasures with their per-chat, per-file and
// per-target (notice) rows.
export class ErasureAndHold1795340000200 implements MigrationInterface {
  name = 'ErasureAndHold1795340000200';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('chats', new TableColumn({ name: 'hold_reason', type: 'varchar', length: '500', isNullable: true }));
    await q.addColumn('chats', new TableColumn({ name: 'hold_at', type: 'datetime', precision: 3, isNullable: true }));
    await q.addColumn('chats', new TableColumn({ name: 'hold_by', type: 'varchar', length: '255', isNullable: true }));

    await q.createTable(
      new Table({
        name: 'delivered_files',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'recording_id', type: 'varchar', length: '36' },
          { name: 'company_id', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '1024' },
          { name: 'bytes', type: 'bigint' },
          { name: 'sha256', type: 'varchar', length: '64' },
          { name: 'target_fingerprint', type: 'varchar', length: '64' },
          { name: 'target_label', type: 'varchar', length: '1024' },
          { name: 'delivered_at', type: 'datetime', precision: 3 },
        ],
        indices: [{ name: 'ix_delivered_files_recording', columnNames: ['recording_id'] }],
      }),
    );

    await q.createTable(
      new Table({
        name: 'erasures',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'company_id', type: 'varchar', length: '64' },
          { name: 'scope', type: 'varchar', length: '16' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'step', type: 'varchar', length: '16' },
          { name: 'requested_at', type: 'datetime', precision: 3 },
          { name: 'requested_by', type: 'varchar', length: '255', isNullable: true },
          { name: 'finished_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'lease_owner', type: 'varchar', length: '128', isNullable: true },
          { name: 'lease_until', type: 'datetime', precision: 3, isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        indices: [{ name: 'ix_erasures_status', columnNames: ['status', 'lease_until'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'erasure_chats',
        columns: [
          { name: 'erasure_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'chat_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'action', type: 'varchar', length: '8', isNullable: true },
          { name: 'done_at', type: 'datetime', precision: 3, isNullable: true },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'erasure_files',
        columns: [
          { name: 'erasure_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'delivered_file_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'recording_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '1024' },
          { name: 'target_fingerprint', type: 'varchar', length: '64' },
          { name: 'target_label', type: 'varchar', length: '1024' },
          { name: 'ordinal', type: 'integer' },
          { name: 'action', type: 'varchar', length: '16', isNullable: true },
          { name: 'error', type: 'varchar', length: '1000', isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'erasure_notices',
        columns: [
          { name: 'erasure_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'target_fingerprint', type: 'varchar', length: '64', isPrimary: true },
          { name: 'target_label', type: 'varchar', length: '1024' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'error', type: 'varchar', length: '1000', isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
    await q.createIndex('chats', new TableIndex({ name: 'ix_chats_company_customer', columnNames: ['company_id', 'customer_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('chats', 'ix_chats_company_customer');
    await q.dropTable('erasure_notices');
    await q.dropTable('erasure_files');
    await q.dropTable('erasure_chats');
    await q.dropTable('erasures');
    await q.dropTable('delivered_files');
    await q.dropColumn('chats', 'hold_by');
    await q.dropColumn('chats', 'hold_at');
    await q.dropColumn('chats', 'hold_reason');
  }
}
