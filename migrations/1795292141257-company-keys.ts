import { MigrationInterface, QueryRunner, Table } from 'typeorm';

// Per-company data keys for encrypting message bodies at rest, stored wrapped by the master key.
export class CompanyKeys1795292141257 implements MigrationInterface {
  name = 'CompanyKeys1795292141257';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'company_keys',
        columns: [
          { name: 'company_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'wrapped_key', type: 'text' },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'erased_at', type: 'datetime', precision: 3, isNullable: true },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('company_keys');
  }
}
