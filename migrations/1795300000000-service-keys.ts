import { MigrationInterface, QueryRunner, Table } from 'typeorm';

// Keys the service generates once and shares between its instances (the customer-token key when
// none is configured), sealed with a key derived from ENCRYPTION_MASTER_KEY when one is set.
export class ServiceKeys1795300000000 implements MigrationInterface {
  name = 'ServiceKeys1795300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'service_keys',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'value', type: 'text' },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('service_keys');
  }
}
