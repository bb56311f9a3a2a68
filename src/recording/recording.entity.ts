import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { boolColumn, idColumn, timestampColumn } from '../database/columns';
import type { TranscriptFormat } from '../transcript/filename-template';

export type RecordingStatus = 'recording' | 'paused' | 'stopped' | 'suppressed' | 'pending' | 'delivered' | 'failed';

// A recording captures the chat's messages within its segments (recording_segments); startSeq is
// its first segment's start and endSeq its last one's end (NULL while a segment is open).
@Entity('recordings')
@Index('ix_recordings_chat', ['chatId'])
@Index('ix_recordings_company_status', ['companyId', 'status'])
@Index('uq_recordings_file', ['companyId', 'fileKey'], { unique: true })
export class RecordingEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column(idColumn('chat_id'))
  chatId!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ type: 'varchar', length: 8 })
  kind!: 'agent' | 'flow';

  @Column({ name: 'profile_name', type: 'varchar', length: 64 })
  profileName!: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  label!: string | null;

  @Column({ name: 'agent_id', type: 'varchar', length: 128, nullable: true })
  agentId!: string | null;

  @Column({ name: 'sampled_in', type: 'boolean', nullable: true })
  sampledIn!: boolean | null;

  @Column({ name: 'sampling_reason', type: 'varchar', length: 255, nullable: true })
  samplingReason!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: RecordingStatus;

  @Column({ name: 'outcome_reason', type: 'varchar', length: 32, nullable: true })
  outcomeReason!: string | null;

  @Column({ name: 'outcome_detail', type: 'varchar', length: 1000, nullable: true })
  outcomeDetail!: string | null;

  // The profile as it was when the recording started: naming and rendering use this, so editing or
  // deleting the profile later changes nothing for it. NULL only on rows older than the snapshot.
  @Column({ name: 'profile_template', type: 'varchar', length: 1024, nullable: true })
  profileTemplate!: string | null;

  @Column({ name: 'profile_format', type: 'varchar', length: 8, nullable: true })
  profileFormat!: TranscriptFormat | null;

  @Column({ name: 'profile_sidecar', type: 'boolean', nullable: true })
  profileSidecar!: boolean | null;

  @Column({ name: 'profile_manifest', type: 'boolean', nullable: true })
  profileManifest!: boolean | null;

  // The signed manifest, built once before the first delivery of a manifest profile's recording
  // and delivered byte for byte on every attempt after.
  @Column({ name: 'manifest_json', type: 'text', nullable: true })
  manifestJson!: string | null;

  @Column({ name: 'start_seq', type: 'int' })
  startSeq!: number;

  @Column({ name: 'end_seq', type: 'int', nullable: true })
  endSeq!: number | null;

  @Column(timestampColumn('started_at'))
  startedAt!: Date;

  @Column(timestampColumn('stopped_at', true))
  stoppedAt!: Date | null;

  // The file's path under the target folder, fixed at the first delivery attempt so that a retry
  // never delivers the same recording under a second name.
  @Column({ name: 'file_name', type: 'varchar', length: 1024, nullable: true })
  fileName!: string | null;

  // What the unique index reserves: fileSetKey(fileName), the same for every file of the recording's
  // set (file, sidecar, manifest), so that two recordings never share one. Rows whose names already
  // clashed when the key became that (migration 1795360000000) have one made from their id instead.
  @Column({ name: 'file_key', type: 'varchar', length: 64, nullable: true })
  fileKey!: string | null;

  @Column({ name: 'file_sha256', type: 'varchar', length: 64, nullable: true })
  fileSha256!: string | null;

  @Column(timestampColumn('delivered_at', true))
  deliveredAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 2000, nullable: true })
  lastError!: string | null;

  @Column(boolColumn('purged', false))
  purged!: boolean;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
