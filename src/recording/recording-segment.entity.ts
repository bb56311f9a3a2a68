import { Column, Entity, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

// One stretch of a recording: it captures the chat's messages with startSeq <= seq < endSeq (endSeq
// NULL while open). An agent recording gets one per stay in the chat (a leave closes it, a rejoin
// opens the next); a flow recording has one, from its start to its stop.
@Entity('recording_segments')
export class RecordingSegmentEntity {
  @PrimaryColumn(idColumn('recording_id'))
  recordingId!: string;

  @PrimaryColumn({ type: 'int' })
  ordinal!: number;

  @Column({ name: 'start_seq', type: 'int' })
  startSeq!: number;

  @Column({ name: 'end_seq', type: 'int', nullable: true })
  endSeq!: number | null;

  @Column(timestampColumn('started_at'))
  startedAt!: Date;

  @Column(timestampColumn('stopped_at', true))
  stoppedAt!: Date | null;
}
