import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

// Retention: when a chat's delivered transcripts had their bodies purged.
export class Retention1795292000000 implements MigrationInterface {
  name = 'Retention1795292000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('chats', new TableColumn({ name: 'purged_at', type: 'datetime', precision: 3, isNullable: true }));
    await q.createIndex('chats', new TableIndex({ name: 'ix_chats_ended_purged', columnNames: ['status', 'purged_at', 'ended_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('chats', 'ix_chats_ended_purged');
    await q.dropColumn('chats', 'purged_at');
  }
}
