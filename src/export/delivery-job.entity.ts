import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

// canceled: an erasure withdrew it; nothing is delivered for it any more.
export type DeliveryJobState = 'queued' | 'done' | 'failed' | 'canceled';

// The outbox: written in the same transaction that ends the chat, claimed by workers with a lease.
@Entity('delivery_jobs')
@Index('ix_delivery_jobs_due', ['state', 'nextAttemptAt'])
export class DeliveryJobEntity {
  @PrimaryColumn(idColumn('recording_id'))
  recordingId!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ type: 'varchar', length: 8 })
  state!: DeliveryJobState;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column(timestampColumn('next_attempt_at'))
  nextAttemptAt!: Date;

  @Column({ name: 'lease_owner', type: 'varchar', length: 128, nullable: true })
  leaseOwner!: string | null;

  @Column(timestampColumn('lease_until', true))
  leaseUntil!: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 2000, nullable: true })
  lastError!: string | null;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
