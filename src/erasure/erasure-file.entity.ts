import { Column, Entity, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

export type ErasureFileAction = 'removed' | 'not_found' | 'failed';

// A delivered file an erasure removes; action NULL until it is tried (and again after a retry).
@Entity('erasure_files')
export class ErasureFileEntity {
  @PrimaryColumn(idColumn('erasure_id'))
  erasureId!: string;

  @PrimaryColumn(idColumn('delivered_file_id'))
  deliveredFileId!: string;

  @Column(idColumn('recording_id'))
  recordingId!: string;

  @Column({ type: 'varchar', length: 1024 })
  name!: string;

  @Column({ name: 'target_fingerprint', type: 'varchar', length: 64 })
  targetFingerprint!: string;

  @Column({ name: 'target_label', type: 'varchar', length: 1024 })
  targetLabel!: string;

  // Keeps the files in delivery order for the report.
  @Column({ type: 'integer' })
  ordinal!: number;

  @Column({ type: 'varchar', length: 16, nullable: true })
  action!: ErasureFileAction | null;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  error!: string | null;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
