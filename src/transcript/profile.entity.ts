import { Column, Entity, PrimaryColumn } from 'typeorm';
import { boolColumn, timestampColumn } from '../database/columns';
import type { TranscriptFormat } from './filename-values';

@Entity('profiles')
export class ProfileEntity {
  @PrimaryColumn({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ name: 'filename_template', type: 'varchar', length: 1024 })
  filenameTemplate!: string;

  @Column({ type: 'varchar', length: 8 })
  format!: TranscriptFormat;

  @Column(boolColumn('sidecar', false))
  sidecar!: boolean;

  // A signed `<name>.manifest.json` is delivered last (contract section 9).
  @Column(boolColumn('manifest', false))
  manifest!: boolean;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
