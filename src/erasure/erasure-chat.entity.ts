import { Column, Entity, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

export type ErasureChatAction = 'erased' | 'held';

// A chat an erasure covers; action NULL until it is done.
@Entity('erasure_chats')
export class ErasureChatEntity {
  @PrimaryColumn(idColumn('erasure_id'))
  erasureId!: string;

  @PrimaryColumn(idColumn('chat_id'))
  chatId!: string;

  @Column({ type: 'varchar', length: 8, nullable: true })
  action!: ErasureChatAction | null;

  @Column(timestampColumn('done_at', true))
  doneAt!: Date | null;
}
