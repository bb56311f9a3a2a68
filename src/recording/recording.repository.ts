import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, IsNull, Not } from 'typeorm';
import { boolOf, boolOrNull, dateOf, dateOrNull, forUpdate, marks, runWrite, sqlDate } from '../database/sql';
import { deferWrite } from '../database/write-behind';
import { SegmentView } from '../transcript/recording-snapshot';
import { ManifestChainEntity } from './manifest-chain.entity';
import { DeliveredFileEntity } from './delivered-file.entity';
import { RecordingSegmentEntity } from './recording-segment.entity';
import { RecordingEntity } from './recording.entity';

type SqlDate = Date | string;
type SqlBool = number | string | boolean;

// A recordings row as raw queries return it (dates and booleans as the driver gives them).
interface RecordingRow {
  id: string;
  chat_id: string;
  company_id: string;
  kind: RecordingEntity['kind'];
  profile_name: string;
  label: string | null;
  agent_id: string | null;
  sampled_in: SqlBool | null;
  sampling_reason: string | null;
  status: RecordingEntity['status'];
  outcome_reason: string | null;
  outcome_detail: string | null;
  profile_template: string | null;
  profile_format: RecordingEntity['profileFormat'];
  profile_sidecar: SqlBool | null;
  profile_manifest: SqlBool | null;
  manifest_json: string | null;
  start_seq: number | string;
  end_seq: number | string | null;
  started_at: SqlDate;
  stopped_at: SqlDate | null;
  file_name: string | null;
  file_key: string | null;
  file_sha256: string | null;
  delivered_at: SqlDate | null;
  attempts: number | string;
  last_error: string | null;
  purged: SqlBool;
  created_at: SqlDate;
  updated_at: SqlDate;
}

const RECORDING_COLUMN_NAMES = [
  'id',
  'chat_id',
  'company_id',
  'kind',
  'profile_name',
  'label',
  'agent_id',
  'sampled_in',
  'sampling_reason',
  'status',
  'outcome_reason',
  'outcome_detail',
  'profile_template',
  'profile_format',
  'profile_sidecar',
  'profile_manifest',
  'manifest_json',
  'start_seq',
  'end_seq',
  'started_at',
  'stopped_at',
  'file_name',
  'file_key',
  'file_sha256',
  'delivered_at',
  'attempts',
  'last_error',
  'purged',
  'created_at',
  'updated_at',
];
const RECORDING_COLUMNS = RECORDING_COLUMN_NAMES.join(', ');

interface SegmentRow {
  start_seq: number | string;
  end_seq: number | string | null;
  started_at: SqlDate;
  stopped_at: SqlDate | null;
}

function segmentOf(r: SegmentRow): SegmentView {
  return {
    startSeq: Number(r.start_seq),
    endSeq: r.end_seq === null ? null : Number(r.end_seq),
    startedAt: dateOf(r.started_at),
    stoppedAt: dateOrNull(r.stopped_at),
  };
}

// Mapped by hand, every column, as TypeORM would hydrate the entity.
function recordingOf(r: RecordingRow): RecordingEntity {
  return Object.assign(new RecordingEntity(), {
    id: r.id,
    chatId: r.chat_id,
    companyId: r.company_id,
    kind: r.kind,
    profileName: r.profile_name,
    label: r.label,
    agentId: r.agent_id,
    sampledIn: boolOrNull(r.sampled_in),
    samplingReason: r.sampling_reason,
    status: r.status,
    outcomeReason: r.outcome_reason,
    outcomeDetail: r.outcome_detail,
    profileTemplate: r.profile_template,
    profileFormat: r.profile_format,
    profileSidecar: boolOrNull(r.profile_sidecar),
    profileManifest: boolOrNull(r.profile_manifest),
    manifestJson: r.manifest_json,
    startSeq: Number(r.start_seq),
    endSeq: r.end_seq === null ? null : Number(r.end_seq),
    startedAt: dateOf(r.started_at),
    stoppedAt: dateOrNull(r.stopped_at),
    fileName: r.file_name,
    fileKey: r.file_key,
    fileSha256: r.file_sha256,
    deliveredAt: dateOrNull(r.delivered_at),
    attempts: Number(r.attempts),
    lastError: r.last_error,
    purged: boolOf(r.purged),
    createdAt: dateOf(r.created_at),
    updatedAt: dateOf(r.updated_at),
  });
}

// recordings, recording_segments and delivered_files: the only code that reads or writes them.
@Injectable()
export class RecordingRepository {
  constructor(private readonly db: DataSource) {}

  // Raw SQL: read for every delivered file (the ORM's hydration cost more than the query).
  async find(id: string, m: EntityManager = this.db.manager): Promise<RecordingEntity | null> {
    const rows = (await m.query(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE id = ?`, [id])) as RecordingRow[];
    return rows.length > 0 ? recordingOf(rows[0]) : null;
  }

  // The recording and its segments in order, in one statement: what a delivery starts from.
  async findWithSegments(id: string): Promise<{ recording: RecordingEntity; segments: SegmentView[] } | null> {
    return (await this.findManyWithSegments([id])).get(id) ?? null;
  }

  // Recordings with their segments (in order), several in one read; one that does not exist is
  // left out.
  async findManyWithSegments(ids: string[]): Promise<Map<string, { recording: RecordingEntity; segments: SegmentView[] }>> {
    const out = new Map<string, { recording: RecordingEntity; segments: SegmentView[] }>();
    if (ids.length === 0) return out;
    for (const found of await this.withSegments(this.db.manager, `r.id IN (${marks(ids.length)})`, ids, 'r.id ASC')) {
      out.set(found.recording.id, found);
    }
    return out;
  }

  // A chat's recordings (oldest first) with their segments, in one statement, in the caller's
  // transaction: what a chat's end decides on.
  listForChatWithSegments(m: EntityManager, chatId: string): Promise<{ recording: RecordingEntity; segments: SegmentView[] }[]> {
    return this.withSegments(m, 'r.chat_id = ?', [chatId], 'r.created_at ASC, r.id ASC');
  }

  private async withSegments(
    m: EntityManager,
    where: string,
    params: unknown[],
    order: string,
  ): Promise<{ recording: RecordingEntity; segments: SegmentView[] }[]> {
    const rows = (await m.query(
      `SELECT ${RECORDING_COLUMN_NAMES.map((c) => `r.${c}`).join(', ')}, s.ordinal AS s_ordinal, s.start_seq AS s_start_seq, s.end_seq AS s_end_seq, s.started_at AS s_started_at, s.stopped_at AS s_stopped_at FROM recordings r LEFT JOIN recording_segments s ON s.recording_id = r.id WHERE ${where} ORDER BY ${order}, s.ordinal ASC`,
      params,
    )) as (RecordingRow & {
      s_ordinal: number | null;
      s_start_seq: number | string;
      s_end_seq: number | string | null;
      s_started_at: SqlDate;
      s_stopped_at: SqlDate | null;
    })[];
    const out: { recording: RecordingEntity; segments: SegmentView[] }[] = [];
    for (const r of rows) {
      let found = out[out.length - 1];
      if (found?.recording.id !== r.id) out.push((found = { recording: recordingOf(r), segments: [] }));
      if (r.s_ordinal !== null)
        found.segments.push(segmentOf({ start_seq: r.s_start_seq, end_seq: r.s_end_seq, started_at: r.s_started_at, stopped_at: r.s_stopped_at }));
    }
    return out;
  }

  findAgentRecording(m: EntityManager, chatId: string, agentId: string, openOnly = false): Promise<RecordingEntity | null> {
    return m.getRepository(RecordingEntity).findOneBy({ chatId, kind: 'agent', agentId, ...(openOnly ? { endSeq: IsNull() } : {}) });
  }

  findInChat(m: EntityManager, chatId: string, id: string): Promise<RecordingEntity | null> {
    return m.getRepository(RecordingEntity).findOneBy({ id, chatId });
  }

  listForChat(m: EntityManager, chatId: string): Promise<RecordingEntity[]> {
    return m.getRepository(RecordingEntity).find({ where: { chatId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  // Newest first.
  search(where: { companyId: string; chatId?: string; status?: RecordingEntity['status'] }, limit: number): Promise<RecordingEntity[]> {
    const w: Record<string, unknown> = { companyId: where.companyId };
    if (where.chatId) w.chatId = where.chatId;
    if (where.status) w.status = where.status;
    return this.db.getRepository(RecordingEntity).find({ where: w, order: { createdAt: 'DESC' }, take: limit });
  }

  countOpen(m: EntityManager, chatId: string): Promise<number> {
    return m.getRepository(RecordingEntity).countBy({ chatId, endSeq: IsNull() });
  }

  async insert(m: EntityManager, rec: RecordingEntity): Promise<void> {
    await m.getRepository(RecordingEntity).insert(rec);
  }

  async update(m: EntityManager, id: string, fields: Partial<RecordingEntity>): Promise<void> {
    await m.getRepository(RecordingEntity).update({ id }, fields);
  }

  async setPaused(m: EntityManager, chatId: string, paused: boolean, now: Date): Promise<void> {
    await m
      .createQueryBuilder()
      .update(RecordingEntity)
      .set({ status: paused ? 'paused' : 'recording', updatedAt: now })
      .where('chat_id = :chatId AND end_seq IS NULL AND status = :from', { chatId, from: paused ? 'recording' : 'paused' })
      .execute();
  }

  async lastSegmentOrdinal(m: EntityManager, recordingId: string): Promise<number> {
    return (await m.getRepository(RecordingSegmentEntity).maximum('ordinal', { recordingId })) ?? 0;
  }

  async openSegment(m: EntityManager, recordingId: string, ordinal: number, startSeq: number, now: Date): Promise<void> {
    await m.getRepository(RecordingSegmentEntity).insert({ recordingId, ordinal, startSeq, endSeq: null, startedAt: now, stoppedAt: null });
  }

  async closeSegments(m: EntityManager, recordingIds: string[], endSeq: number, now: Date): Promise<void> {
    if (recordingIds.length === 0) return;
    await deferWrite(m, `UPDATE recording_segments SET end_seq = ?, stopped_at = ? WHERE recording_id IN (${marks(recordingIds.length)}) AND end_seq IS NULL`, [
      endSeq,
      sqlDate(now),
      ...recordingIds,
    ]);
  }

  // A recording's outcome at its chat's end (raw SQL: every chat's end writes one per recording).
  async recordOutcome(
    m: EntityManager,
    rec: Pick<RecordingEntity, 'id' | 'endSeq' | 'stoppedAt' | 'outcomeReason' | 'outcomeDetail' | 'status' | 'purged'>,
    now: Date,
  ): Promise<void> {
    await deferWrite(
      m,
      'UPDATE recordings SET end_seq = ?, stopped_at = ?, outcome_reason = ?, outcome_detail = ?, status = ?, purged = ?, updated_at = ? WHERE id = ?',
      [rec.endSeq, rec.stoppedAt ? sqlDate(rec.stoppedAt) : null, rec.outcomeReason, rec.outcomeDetail, rec.status, rec.purged ? 1 : 0, sqlDate(now), rec.id],
    );
  }

  // In order.
  async segments(recordingId: string, m: EntityManager = this.db.manager): Promise<SegmentView[]> {
    const rows = (await m.query('SELECT start_seq, end_seq, started_at, stopped_at FROM recording_segments WHERE recording_id = ? ORDER BY ordinal ASC', [
      recordingId,
    ])) as SegmentRow[];
    return rows.map(segmentOf);
  }

  // Sets the file name and its key (fileSetKey: the unique index then keeps its whole set of files
  // from any other recording's) if none is set yet; false when another name was set first.
  async claimFileName(id: string, name: string, key: string): Promise<boolean> {
    return (await runWrite(this.db, 'UPDATE recordings SET file_name = ?, file_key = ? WHERE id = ? AND file_name IS NULL', [name, key, id])) === 1;
  }

  // Several recordings' names in one statement: the number of rows named. A key already taken
  // (by another recording, or by two of these) fails the whole statement with a duplicate key,
  // and nothing is named.
  async claimFileNames(names: { id: string; name: string; key: string }[]): Promise<number> {
    const cases = names.map(() => 'WHEN ? THEN ?').join(' ');
    return runWrite(
      this.db,
      `UPDATE recordings SET file_name = CASE id ${cases} END, file_key = CASE id ${cases} END WHERE id IN (${marks(names.length)}) AND file_name IS NULL`,
      [...names.flatMap((n) => [n.id, n.name]), ...names.flatMap((n) => [n.id, n.key]), ...names.map((n) => n.id)],
    );
  }

  async markDelivered(m: EntityManager, delivered: { id: string; sha256: string }[], now: Date): Promise<void> {
    const at = sqlDate(now);
    const ids = delivered.map((d) => d.id);
    await deferWrite(
      m,
      `UPDATE recordings SET status = 'delivered', delivered_at = ?, updated_at = ?, last_error = NULL, attempts = attempts + 1, file_sha256 = CASE id ${ids.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE id IN (${marks(ids.length)})`,
      [at, at, ...delivered.flatMap((d) => [d.id, d.sha256]), ...ids],
    );
  }

  // Of the chats given, those with a produced recording whose delivery still needs the bodies.
  async chatsOwingBodies(chatIds: string[], owed: string[]): Promise<Set<string>> {
    if (chatIds.length === 0) return new Set();
    const rows = await this.db
      .getRepository(RecordingEntity)
      .createQueryBuilder('r')
      .select('DISTINCT r.chat_id', 'chatId')
      .where('r.chat_id IN (:...chatIds) AND r.status IN (:...owed)', { chatIds, owed })
      .getRawMany<{ chatId: string }>();
    return new Set(rows.map((r) => r.chatId));
  }

  // Flags the chat's finished recordings as purged; returns how many.
  async markPurged(m: EntityManager, chatId: string, final: string[], now: Date): Promise<number> {
    const r = await m
      .createQueryBuilder()
      .update(RecordingEntity)
      .set({ purged: true, updatedAt: now })
      .where('chat_id = :id AND status IN (:...final)', { id: chatId, final })
      .execute();
    return r.affected ?? 0;
  }

  // --- manifests: recordings.manifest_json and manifest_chain ------------------------------------

  // The recording's stored manifest, its row locked for the rest of the transaction.
  async lockManifest(m: EntityManager, id: string): Promise<string | null> {
    const qb = m.getRepository(RecordingEntity).createQueryBuilder('r').select(['r.id', 'r.manifestJson']).where('r.id = :id', { id });
    return (await forUpdate(qb, m).getOne())?.manifestJson ?? null;
  }

  async storeManifest(m: EntityManager, id: string, manifestJson: string): Promise<void> {
    await m.getRepository(RecordingEntity).update({ id }, { manifestJson });
  }

  // The SHA-256 of the company's last manifest (null before its first), its chain row locked for
  // the rest of the transaction: manifests are chained one at a time per company.
  async lockManifestChain(m: EntityManager, companyId: string, now: Date): Promise<string | null> {
    await m
      .createQueryBuilder()
      .insert()
      .into(ManifestChainEntity)
      .values({ companyId, lastSha256: null, lastRecordingId: null, updatedAt: now })
      .orIgnore()
      .execute();
    const qb = m.getRepository(ManifestChainEntity).createQueryBuilder('c').where('c.company_id = :companyId', { companyId });
    const row = await forUpdate(qb, m).getOne();
    return row?.lastSha256 ?? null;
  }

  async advanceManifestChain(m: EntityManager, companyId: string, sha256: string, recordingId: string, now: Date): Promise<void> {
    await m.getRepository(ManifestChainEntity).update({ companyId }, { lastSha256: sha256, lastRecordingId: recordingId, updatedAt: now });
  }

  // Raw SQL: a row per delivered file, in the outcome's batch.
  async insertDeliveredFiles(m: EntityManager, rows: DeliveredFileEntity[]): Promise<void> {
    if (rows.length === 0) return;
    await deferWrite(
      m,
      `INSERT INTO delivered_files (id, recording_id, company_id, name, bytes, sha256, target_fingerprint, target_label, delivered_at) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?,?)').join(',')}`,
      rows.flatMap((r) => [r.id, r.recordingId, r.companyId, r.name, r.bytes, r.sha256, r.targetFingerprint, r.targetLabel, sqlDate(r.deliveredAt)]),
    );
  }

  // The files delivered for the recordings of these chats, oldest delivery first.
  async deliveredFileDigests(ids: string[]): Promise<{ id: string; sha256: string }[]> {
    if (ids.length === 0) return [];
    return this.db.getRepository(DeliveredFileEntity).find({ select: { id: true, sha256: true }, where: { id: In(ids) } });
  }

  async deliveredFilesOfChats(chatIds: string[]): Promise<DeliveredFileEntity[]> {
    if (chatIds.length === 0) return [];
    return this.db
      .getRepository(DeliveredFileEntity)
      .createQueryBuilder('f')
      .innerJoin(RecordingEntity, 'r', 'r.id = f.recording_id')
      .where('r.chat_id IN (:...chatIds)', { chatIds })
      .orderBy('f.delivered_at', 'ASC')
      .addOrderBy('f.recording_id', 'ASC')
      .addOrderBy('f.name', 'ASC')
      .getMany();
  }

  // Delivered recordings of these chats (for those delivered before delivered_files existed).
  deliveredOfChats(chatIds: string[]): Promise<RecordingEntity[]> {
    if (chatIds.length === 0) return Promise.resolve([]);
    return this.db.getRepository(RecordingEntity).find({ where: { chatId: In(chatIds), status: 'delivered' }, order: { deliveredAt: 'ASC', id: 'ASC' } });
  }

  // Recordings of these chats that were given a file name (so an upload may have begun) and are not
  // delivered: a failed or interrupted upload may have left its temporary file on the target.
  namedUndeliveredOfChats(chatIds: string[]): Promise<RecordingEntity[]> {
    if (chatIds.length === 0) return Promise.resolve([]);
    return this.db
      .getRepository(RecordingEntity)
      .find({ where: { chatId: In(chatIds), status: Not('delivered'), fileName: Not(IsNull()) }, order: { id: 'ASC' } });
  }

  // An erasure's outcome for recordings not delivered: suppressed with reason `erased`, their open
  // segments closed, nothing left to deliver.
  async markErased(m: EntityManager, ids: string[], endSeq: number, detail: string, now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.closeSegments(m, ids, endSeq, now);
    await m
      .createQueryBuilder()
      .update(RecordingEntity)
      .set({ endSeq, stoppedAt: now })
      .where({ id: In(ids), endSeq: IsNull() })
      .execute();
    await m
      .createQueryBuilder()
      .update(RecordingEntity)
      .set({ status: 'suppressed', outcomeReason: 'erased', outcomeDetail: detail, purged: true, lastError: null, updatedAt: now })
      .where({ id: In(ids) })
      .execute();
  }

  // Labels are the flow's words about the chat: an erasure removes them.
  async clearLabels(m: EntityManager, chatId: string): Promise<void> {
    await m.createQueryBuilder().update(RecordingEntity).set({ label: null }).where('chat_id = :chatId AND label IS NOT NULL', { chatId }).execute();
  }
}
