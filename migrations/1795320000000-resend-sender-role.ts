import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

// A resend is the same sender, role and id, with the same clientMsgId. The former key (chat,
// sender id, clientMsgId) left out the role, so a customer whose flow-supplied id equalled an
// agent's or the flow's sub had their messages taken for each other's resends. On MySQL/MariaDB the
// columns are binary-collated already (1795293600000); the key is 36 + 16 + 255 + 128 characters,
// 1,740 bytes in utf8mb4, inside InnoDB's 3,072-byte limit.
export class ResendSenderRole1795320000000 implements MigrationInterface {
  name = 'ResendSenderRole1795320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.dropIndex('messages', 'uq_messages_client');
    await q.createIndex(
      'messages',
      new TableIndex({ name: 'uq_messages_sender_client', columnNames: ['chat_id', 'sender_role', 'sender_id', 'client_msg_id'], isUnique: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Messages of different roles sharing an id and a clientMsgId cannot all keep it under the old
    // key: the later ones lose their clientMsgId (only a resend of them would need it).
    const clashes = (await q.query(
      `SELECT m.chat_id AS chat_id, m.seq AS seq FROM messages m JOIN messages o
        ON o.chat_id = m.chat_id AND o.sender_id = m.sender_id AND o.client_msg_id = m.client_msg_id AND o.seq < m.seq`,
    )) as { chat_id: string; seq: number }[];
    for (const c of clashes) await q.query('UPDATE messages SET client_msg_id = NULL WHERE chat_id = ? AND seq = ?', [c.chat_id, c.seq]);
    await q.dropIndex('messages', 'uq_messages_sender_client');
    await q.createIndex('messages', new TableIndex({ name: 'uq_messages_client', columnNames: ['chat_id', 'sender_id', 'client_msg_id'], isUnique: true }));
  }
}
