import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

// Chained messages (contract section 9; docs/integrity.md, "Chained messages"): each message row
// keeps the digest of its body and its link; the chat row keeps the last link, so the store links
// the next message without reading the messages. Rows that exist now keep NULL in both: they were
// written before the chain and are not verified; a chat's chain starts, from 32 zero bytes, at its
// first message written after this migration (the bodies of sealed rows cannot be opened here).
export class MessageChain1795340000000 implements MigrationInterface {
  name = 'MessageChain1795340000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('messages', new TableColumn({ name: 'body_sha256', type: 'varchar', length: '64', isNullable: true }));
    await q.addColumn('messages', new TableColumn({ name: 'chain', type: 'varchar', length: '64', isNullable: true }));
    await q.addColumn('chats', new TableColumn({ name: 'chain_head', type: 'varchar', length: '64', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('chats', 'chain_head');
    await q.dropColumn('messages', 'chain');
    await q.dropColumn('messages', 'body_sha256');
  }
}
