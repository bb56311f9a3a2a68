import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

// Markers for the transcript: joins, leaves, transfers, pauses, consent, abuse... `afterSeq` places
// the marker exactly between messages.
@Entity('chat_events')
@Index('ix_chat_events_chat', ['chatId', 'afterSeq'])
export class ChatEventEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column(idColumn('chat_id'))
  chatId!: string;

  @Column({ name: 'after_seq', type: 'int' })
  afterSeq!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  @Column({ name: 'actor_role', type: 'varchar', length: 16 })
  actorRole!: string;

  @Column({ name: 'actor_id', type: 'varchar', length: 255, nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_name', type: 'varchar', length: 255, nullable: true })
  actorName!: string | null;

  @Column({ type: 'varchar', length: 2000, nullable: true })
  detail!: string | null;

  @Column(timestampColumn('at'))
  at!: Date;
}
