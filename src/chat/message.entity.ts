import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { boolColumn, idColumn, timestampColumn } from '../database/columns';

export type SenderRole = 'customer' | 'agent' | 'supervisor' | 'flow';

// Messages are keyed by (chat, seq): seq is contiguous per chat. The unique client key makes a
// resend (the same sender, role and id, with the same clientMsgId) land on the row already there.
// The role is part of it: a customer's id is whatever the flow supplied, and may equal an agent's.
@Entity('messages')
@Index('uq_messages_sender_client', ['chatId', 'senderRole', 'senderId', 'clientMsgId'], { unique: true })
export class MessageEntity {
  @PrimaryColumn(idColumn('chat_id'))
  chatId!: string;

  @PrimaryColumn({ type: 'int' })
  seq!: number;

  @Column({ name: 'client_msg_id', type: 'varchar', length: 128, nullable: true })
  clientMsgId!: string | null;

  @Column({ name: 'sender_role', type: 'varchar', length: 16 })
  senderRole!: SenderRole;

  @Column({ name: 'sender_id', type: 'varchar', length: 255 })
  senderId!: string;

  @Column({ name: 'sender_name', type: 'varchar', length: 255, nullable: true })
  senderName!: string | null;

  // NULL when the body was never stored (sent while paused) or has been purged.
  @Column({ type: 'text', nullable: true })
  text!: string | null;

  @Column(boolColumn('paused', false))
  paused!: boolean;

  @Column(timestampColumn('at'))
  at!: Date;

  // The chain (docs/integrity.md, "Chained messages"), lowercase hex: the digest of the body as
  // stored (null while paused; kept when the body is purged) and the link over it. NULL on rows
  // written before the chain existed.
  @Column({ name: 'body_sha256', type: 'varchar', length: 64, nullable: true })
  bodySha256!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  chain!: string | null;
}
