import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from '../database/columns';

// One export target per company. `config` is JSON; secrets inside it never leave through the API.
@Entity('export_targets')
export class ExportTargetEntity {
  @PrimaryColumn({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ type: 'varchar', length: 8 })
  type!: 'sftp' | 'local';

  @Column({ type: 'text' })
  config!: string;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
