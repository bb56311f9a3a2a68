import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

// Each file a delivery put on a target, written with the recording's `delivered` outcome: an
// erasure reads here what to remove, and from which target (by its fingerprint).
@Entity('delivered_files')
@Index('ix_delivered_files_recording', ['recordingId'])
export class DeliveredFileEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column(idColumn('recording_id'))
  recordingId!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  // As delivered, relative to the target folder.
  @Column({ type: 'varchar', length: 1024 })
  name!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  bytes!: number;

  @Column({ type: 'varchar', length: 64 })
  sha256!: string;

  @Column({ name: 'target_fingerprint', type: 'varchar', length: 64 })
  targetFingerprint!: string;

  // Where it went, without secrets (sftp://user@host:port/dir, or the local folder).
  @Column({ name: 'target_label', type: 'varchar', length: 1024 })
  targetLabel!: string;

  @Column(timestampColumn('delivered_at'))
  deliveredAt!: Date;
}
