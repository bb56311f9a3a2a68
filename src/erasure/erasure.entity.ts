import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

export type ErasureStatus = 'running' | 'done' | 'partial';
// Where a running erasure is: chats are erased first, then delivered files removed, then the
// notices delivered.
export type ErasureStep = 'chats' | 'files' | 'notices' | 'finished';

// One erasure request (contract section 10). The customer id it was asked for is not kept: the
// chats it covers are listed in erasure_chats when it is accepted.
@Entity('erasures')
@Index('ix_erasures_status', ['status', 'leaseUntil'])
export class ErasureEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ type: 'varchar', length: 16 })
  scope!: 'customer' | 'chat';

  @Column({ type: 'varchar', length: 16 })
  status!: ErasureStatus;

  @Column({ type: 'varchar', length: 16 })
  step!: ErasureStep;

  @Column(timestampColumn('requested_at'))
  requestedAt!: Date;

  @Column({ name: 'requested_by', type: 'varchar', length: 255, nullable: true })
  requestedBy!: string | null;

  @Column(timestampColumn('finished_at', true))
  finishedAt!: Date | null;

  // The instance running it, until when: another instance takes it over once the lease lapses.
  @Column({ name: 'lease_owner', type: 'varchar', length: 128, nullable: true })
  leaseOwner!: string | null;

  @Column(timestampColumn('lease_until', true))
  leaseUntil!: Date | null;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
