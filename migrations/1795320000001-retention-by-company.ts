import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

// The retention sweep reads only chats due by their own company's retentionDays (joined from
// companies): this index lets it range over each company's ended, unpurged chats by end time.
export class RetentionByCompany1795320000001 implements MigrationInterface {
  name = 'RetentionByCompany1795320000001';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('chats', new TableIndex({ name: 'ix_chats_company_retention', columnNames: ['company_id', 'status', 'purged_at', 'ended_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('chats', 'ix_chats_company_retention');
  }
}
