import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

// The agents row kept one name and one login for both the admin's setting and the token's claim,
// and stopped taking the token's once the admin had configured the agent: an admin who set only
// the sampling before the agent's first join left the login null for good, and file names fell back
// to the agent id. The token's values get their own columns; name and login are the admin's.
// A row never configured held the token's values only: they move. A configured row's values may be
// either (nothing tells them apart): they stay the admin's, and the token's fill in at the next join.
export class AgentTokenIdentity1795350000000 implements MigrationInterface {
  name = 'AgentTokenIdentity1795350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('agents', new TableColumn({ name: 'token_name', type: 'varchar', length: '255', isNullable: true }));
    await q.addColumn('agents', new TableColumn({ name: 'token_login', type: 'varchar', length: '255', isNullable: true }));
    await q.query('UPDATE agents SET token_name = name, token_login = login');
    await q.query('UPDATE agents SET name = NULL, login = NULL WHERE configured = 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('UPDATE agents SET name = COALESCE(name, token_name), login = COALESCE(login, token_login)');
    await q.dropColumn('agents', 'token_login');
    await q.dropColumn('agents', 'token_name');
  }
}
