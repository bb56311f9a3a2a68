import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from '../database/columns';

// Per company, the SHA-256 of the last manifest built: the next one's previousManifestSha256. The
// row is locked while a manifest is built, so the company's manifests form one chain even when
// several instances deliver at once.
@Entity('manifest_chain')
export class ManifestChainEntity {
  @PrimaryColumn({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ name: 'last_sha256', type: 'varchar', length: 64, nullable: true })
  lastSha256!: string | null;

  @Column({ name: 'last_recording_id', type: 'varchar', length: 36, nullable: true })
  lastRecordingId!: string | null;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
