import { Column, Entity, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

// The notice erasures/<erasureId>.json owed to one target that had received files.
@Entity('erasure_notices')
export class ErasureNoticeEntity {
  @PrimaryColumn(idColumn('erasure_id'))
  erasureId!: string;

  @PrimaryColumn({ name: 'target_fingerprint', type: 'varchar', length: 64 })
  targetFingerprint!: string;

  @Column({ name: 'target_label', type: 'varchar', length: 1024 })
  targetLabel!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: 'pending' | 'delivered' | 'failed';

  @Column({ type: 'varchar', length: 1000, nullable: true })
  error!: string | null;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
