import { Column, Entity, PrimaryColumn } from 'typeorm';
import { boolColumn, timestampColumn } from '../database/columns';

@Entity('companies')
export class CompanyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column(boolColumn('recording_enabled', true))
  recordingEnabled!: boolean;

  @Column({ name: 'time_zone', type: 'varchar', length: 64, default: 'UTC' })
  timeZone!: string;

  @Column({ name: 'idle_timeout_seconds', type: 'int', default: 1800 })
  idleTimeoutSeconds!: number;

  @Column({ name: 'retention_days', type: 'int', default: 30 })
  retentionDays!: number;

  @Column(boolColumn('redact_card_data', true))
  redactCardData!: boolean;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
