import { Column, Entity, PrimaryColumn } from 'typeorm';
import { boolColumn, idColumn, timestampColumn } from '../database/columns';

// Everyone (agent or supervisor) who ever joined a chat; permit is snapshotted at join so that a
// non-permitting participant vetoes recordings even after leaving or being transferred away.
@Entity('participants')
export class ParticipantEntity {
  @PrimaryColumn(idColumn('chat_id'))
  chatId!: string;

  @PrimaryColumn({ name: 'agent_id', type: 'varchar', length: 128 })
  agentId!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: 'agent' | 'supervisor';

  @Column({ type: 'varchar', length: 255, nullable: true })
  name!: string | null;

  @Column(boolColumn('permit_recordings', true))
  permitRecordings!: boolean;

  @Column(timestampColumn('joined_at'))
  joinedAt!: Date;

  @Column(timestampColumn('left_at', true))
  leftAt!: Date | null;
}
