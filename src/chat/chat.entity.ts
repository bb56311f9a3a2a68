import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { boolColumn, idColumn, timestampColumn } from '../database/columns';

export type ChatStatus = 'open' | 'ended';
export type ConsentState = 'granted' | 'refused';

@Entity('chats')
@Index('uq_chats_company_external', ['companyId', 'externalId'], { unique: true })
@Index('ix_chats_status_activity', ['status', 'lastActivityAt'])
@Index('ix_chats_ended_purged', ['status', 'purgedAt', 'endedAt'])
@Index('ix_chats_company_retention', ['companyId', 'status', 'purgedAt', 'endedAt'])
@Index('ix_chats_company_customer', ['companyId', 'customerId'])
export class ChatEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId!: string | null;

  @Column({ type: 'varchar', length: 255 })
  service!: string;

  @Column({ name: 'customer_id', type: 'varchar', length: 255, nullable: true })
  customerId!: string | null;

  @Column({ name: 'customer_name', type: 'varchar', length: 255, nullable: true })
  customerName!: string | null;

  @Column({ type: 'text', nullable: true })
  metadata!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ChatStatus;

  @Column({ name: 'assigned_agent_id', type: 'varchar', length: 128, nullable: true })
  assignedAgentId!: string | null;

  // The seq the next stored message gets; advanced in the same transaction as the insert.
  @Column({ name: 'next_seq', type: 'int', default: 1 })
  nextSeq!: number;

  // The chain of the chat's last stored message (lowercase hex), advanced with next_seq: the next
  // message links from it without reading the messages. NULL before the chat's first chained message.
  @Column({ name: 'chain_head', type: 'varchar', length: 64, nullable: true })
  chainHead!: string | null;

  @Column(boolColumn('paused', false))
  paused!: boolean;

  // The company's recording switch as this chat saw it: set for every open chat in the admin's
  // transaction that switches recording off (and at creation while it is off). Like a pause,
  // nothing is captured while it is set.
  @Column(boolColumn('recording_off', false))
  recordingOff!: boolean;

  @Column({ type: 'varchar', length: 8, nullable: true })
  consent!: ConsentState | null;

  @Column(boolColumn('discarded', false))
  discarded!: boolean;

  @Column(boolColumn('abusive', false))
  abusive!: boolean;

  @Column(boolColumn('deletion_requested', false))
  deletionRequested!: boolean;

  @Column(boolColumn('deletion_confirmed', false))
  deletionConfirmed!: boolean;

  @Column(timestampColumn('started_at'))
  startedAt!: Date;

  @Column(timestampColumn('ended_at', true))
  endedAt!: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 32, nullable: true })
  endReason!: string | null;

  @Column(timestampColumn('last_activity_at'))
  lastActivityAt!: Date;

  // Set when retention purged the bodies of this chat's delivered transcripts.
  @Column(timestampColumn('purged_at', true))
  purgedAt!: Date | null;

  // Legal hold (contract section 10): while set, retention does not purge the chat and erasure
  // skips it.
  @Column({ name: 'hold_reason', type: 'varchar', length: 500, nullable: true })
  holdReason!: string | null;

  @Column(timestampColumn('hold_at', true))
  holdAt!: Date | null;

  @Column({ name: 'hold_by', type: 'varchar', length: 255, nullable: true })
  holdBy!: string | null;
}
