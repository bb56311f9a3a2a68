import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { AppException, isDatabaseUnavailable } from '../common/app.exception';
import { Clock } from '../common/clock';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { boolOf, dateOf, isDuplicateKey, isMysql, marks, sqlDate } from '../database/sql';
import { deferWrite, readTogether } from '../database/write-behind';
import { AppMetrics } from '../metrics/app-metrics';
import { CryptoService, DecryptionError, isSealed } from '../security/crypto.service';
import { bodyDigest, canonicalAt, canonicalTail, CHAIN_ORIGIN_HEX, nextLinkHex } from './message-chain';
import { SenderRole } from './message.entity';
import { detached } from '../logging/log-context';

export interface AppendRequest {
  chatId: string;
  companyId: string;
  senderRole: SenderRole;
  senderId: string;
  senderName: string | null;
  clientMsgId: string | null;
  text: string;
}

export interface StoredMessage {
  chatId: string;
  seq: number;
  at: Date;
  senderRole: SenderRole;
  senderName: string | null;
  // The text as relayed: already redacted; null only for a resend whose body was never stored.
  text: string | null;
  paused: boolean;
  duplicate: boolean;
}

// A message moves its chat's recorded activity (chats.last_activity_at) only when that is older than
// this: the idle sweep's candidates are read by it, and its end decides by the messages' own times.
export const ACTIVITY_STEP_MS = 1000;

// Per company in a batch: its data key, or why its bodies cannot be stored (key erased).
type BodyKeys = Map<string, Buffer | AppException>;

// The body's digest and the canonical form's tail are made when the message is queued, outside the
// commit's critical path; only the link itself (it needs the seq and the previous link, known under
// the chat's lock) is computed in the transaction.
interface QueuedRequest extends AppendRequest {
  bodySha256: string;
  chainTail: string;
  // Set for a message its caller refused (see answerResend): it is only looked up, never stored.
  refusal: AppException | null;
}

interface Pending {
  req: QueuedRequest;
  resolve: (m: StoredMessage) => void;
  reject: (e: unknown) => void;
}

// Group commit: messages from every chat that arrive while a transaction is in flight are written
// together in the next one. Each caller's promise resolves only after its row has committed, so an
// acknowledgement always means "durably stored", while the database sees one commit per batch
// rather than one per message.
@Injectable()
export class MessageStore implements OnModuleDestroy {
  private readonly logger = new Logger(MessageStore.name);
  // Lanes: a chat always writes through the same lane, so its messages keep their order; lanes
  // lock disjoint chats, so their transactions run side by side without deadlocks.
  private readonly lanes: { queue: Pending[]; flushing: boolean }[];
  private closed = false;
  private readonly metrics: AppMetrics;
  private readonly counted: Record<'stored' | 'duplicate' | 'refused', { inc(n?: number): void }>;

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    // Absent where the store is built by hand (the storage test): bodies are stored as given.
    @Optional() @Inject(CryptoService) private readonly crypto: CryptoService | null = null,
    @Optional() @Inject(AppMetrics) metrics: AppMetrics | null = null,
    @Optional() @Inject(GracefulShutdown) shutdown: GracefulShutdown | null = null,
  ) {
    this.metrics = metrics ?? new AppMetrics();
    // Each outcome's series resolved once: this counts every message.
    this.counted = {
      stored: this.metrics.messages.labels({ outcome: 'stored' }),
      duplicate: this.metrics.messages.labels({ outcome: 'duplicate' }),
      refused: this.metrics.messages.labels({ outcome: 'refused' }),
    };
    // At a stop, after the socket queues: what is queued is committed and answered, then the store
    // refuses (a late REST call gets `unavailable` and is retried by its caller).
    shutdown?.register({ step: 'store', name: 'message store', run: (until) => this.flushAndClose(until) });
    // SQLite has one writer: more lanes would only queue inside the driver.
    const n = config.database.type === 'sqlite' ? 1 : config.messageWriteLanes;
    this.lanes = Array.from({ length: n }, () => ({ queue: [], flushing: false }));
  }

  append(req: AppendRequest): Promise<StoredMessage> {
    return this.enqueue(req, null);
  }

  // For a message its caller refuses for the sender's state (no longer in the chat): when it is a
  // resend of one already stored (its ack was lost), answers the stored one like any resend, else
  // `refusal`. Through the chat's lane, so an original still queued there is committed first; the
  // lookup is the one a resend makes, under the chat's lock.
  answerResend(req: AppendRequest, refusal: AppException): Promise<StoredMessage> {
    return this.enqueue(req, refusal);
  }

  private enqueue(req: AppendRequest, refusal: AppException | null): Promise<StoredMessage> {
    if (this.closed) return Promise.reject(AppException.unavailable('service is shutting down'));
    const lane = this.lanes[laneOf(req.chatId, this.lanes.length)];
    return new Promise<StoredMessage>((resolve, reject) => {
      const bodySha256 = bodyDigest(req.text) as string;
      const chainTail = canonicalTail({ senderRole: req.senderRole, senderId: req.senderId, bodySha256 });
      // Written out, not `{ ...req, bodySha256, chainTail }`: on Node 20 a spread followed by more
      // properties takes V8's slow path, about 2 us a message (the largest line of our own code in
      // the relay's profile); the fields written out cost about 0.1 us.
      const queued: QueuedRequest = {
        chatId: req.chatId,
        companyId: req.companyId,
        senderRole: req.senderRole,
        senderId: req.senderId,
        senderName: req.senderName,
        clientMsgId: req.clientMsgId,
        text: req.text,
        bodySha256,
        chainTail,
        refusal,
      };
      lane.queue.push({ req: queued, resolve, reject });
      if (!lane.flushing) {
        lane.flushing = true;
        detached(() => setImmediate(() => void this.drain(lane)));
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    while (this.lanes.some((l) => l.flushing)) await new Promise((r) => setTimeout(r, 10));
  }

  // Commits what is queued (bounded by `until`), then takes no more.
  private async flushAndClose(until: number): Promise<void> {
    const idle = await waitUntil(() => this.lanes.every((l) => !l.flushing && l.queue.length === 0), until, 10);
    this.closed = true;
    const left = this.lanes.reduce((n, l) => n + l.queue.length, 0);
    this.logger.log({ msg: idle ? 'message store flushed and closed' : `message store closed with ${left} message(s) still being committed`, phase: 'store' });
  }

  private async drain(lane: { queue: Pending[]; flushing: boolean }): Promise<void> {
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue.splice(0, this.config.messageBatchMax);
        const answer = await this.commit(batch);
        // The acknowledgements and relays of this batch run while the next batch's transaction is
        // already on its way to the database, so CPU and database time overlap.
        setImmediate(answer);
      }
    } finally {
      lane.flushing = false;
    }
  }

  // Stores a batch; answers a function that settles its callers' promises (called by the caller).
  private async commit(batch: Pending[]): Promise<() => void> {
    let results: (StoredMessage | AppException)[];
    const reqs = batch.map((p) => p.req);
    try {
      const keys = await this.bodyKeys(reqs);
      try {
        results = await this.db.transaction((m) => this.write(m, reqs, false, keys));
      } catch (err) {
        // A resend of a message stored by an earlier batch: do it again, looking for resends.
        if (!isDuplicateKey(err)) throw err;
        results = await this.db.transaction((m) => this.write(m, reqs, true, keys));
      }
    } catch (err) {
      if (batch.length > 1 && !isDatabaseUnavailable(err)) {
        // One bad row must not fail its neighbours: retry each alone.
        for (const p of batch) (await this.commit([p]))();
        return () => undefined;
      }
      const unavailable = isDatabaseUnavailable(err);
      const chatIds = [...new Set(batch.map((p) => p.req.chatId))].slice(0, 20);
      if (!unavailable) this.logger.error({ msg: `message batch failed: ${(err as Error).message}`, chatIds });
      else this.logger.warn({ msg: `message batch not stored, storage unavailable: ${(err as Error).message}`, chatIds });
      const e = AppException.unavailable('message not stored, try again');
      this.metrics.messages.inc({ outcome: 'refused' }, batch.length);
      return () => batch.forEach((p) => p.reject(e));
    }
    this.metrics.messagesPerCommit.observe(batch.length);
    return () =>
      batch.forEach((p, i) => {
        const r = results[i];
        this.counted[r instanceof AppException ? 'refused' : r.duplicate ? 'duplicate' : 'stored'].inc();
        if (r instanceof AppException) p.reject(r);
        else p.resolve(r);
      });
  }

  // With encryption on, each company's key is fetched once per batch (from memory once cached),
  // outside the transaction: creating a company's first key is a write of its own.
  private async bodyKeys(reqs: AppendRequest[]): Promise<BodyKeys | null> {
    const crypto = this.crypto;
    if (!crypto?.bodiesEncrypted) return null;
    const keys: BodyKeys = new Map();
    for (const companyId of new Set(reqs.map((r) => r.companyId))) {
      try {
        keys.set(companyId, await crypto.bodyKey(companyId));
      } catch (err) {
        if (!(err instanceof AppException)) throw err;
        keys.set(companyId, err);
      }
    }
    return keys;
  }

  // Raw SQL on purpose: this runs for every message, and the ORM's query building cost several
  // times the database's own time per batch. The statements are plain enough for MySQL and SQLite.
  private async write(m: EntityManager, reqs: QueuedRequest[], lookForResends: boolean, keys: BodyKeys | null): Promise<(StoredMessage | AppException)[]> {
    const mysql = isMysql(m);
    const chatIds = [...new Set(reqs.map((r) => r.chatId))].sort();
    // FORCE INDEX: on a small chats table the optimiser prefers a full scan, and a locking scan
    // locks every row it reads, so two lanes' transactions (or a lane and an API call) would wait
    // for each other on chats neither touches. The primary key locks exactly the batch's chats.
    // An agent or a supervisor speaks only while it takes part in the chat: its participation is
    // read under the chat's lock, which a leave and a transfer take too, so a message that passed
    // the socket's room check while its sender was being moved out is refused here rather than
    // stored after the sender's leave (in no recording of the sender's). One round trip with the
    // lock on MySQL/MariaDB.
    const speakers = [
      ...new Map(reqs.filter((r) => r.refusal === null && isParticipantRole(r.senderRole)).map((r) => [speakerKey(r.chatId, r.senderId), r])).values(),
    ];
    const [lockedRows, presentRows] = await readTogether(m, () =>
      Promise.all([
        m.query(
          `SELECT id, company_id, status, next_seq, chain_head, paused, recording_off FROM chats${mysql ? ' FORCE INDEX (PRIMARY)' : ''} WHERE id IN (${marks(chatIds.length)})${mysql ? ' FOR UPDATE' : ''}`,
          chatIds,
        ),
        speakers.length === 0
          ? Promise.resolve([])
          : m.query(
              `SELECT chat_id, agent_id FROM participants WHERE left_at IS NULL AND (${speakers.map(() => '(chat_id = ? AND agent_id = ?)').join(' OR ')})`,
              speakers.flatMap((r) => [r.chatId, r.senderId]),
            ),
      ]),
    );
    const present = new Set((presentRows as { chat_id: string; agent_id: string }[]).map((row) => speakerKey(row.chat_id, row.agent_id)));
    const absent = (r: QueuedRequest) => r.refusal === null && isParticipantRole(r.senderRole) && !present.has(speakerKey(r.chatId, r.senderId));
    const chatRows = lockedRows as {
      id: string;
      company_id: string;
      status: string;
      next_seq: number;
      chain_head: string | null;
      paused: number | boolean;
      recording_off: number | boolean;
    }[];
    // The company switch being off is like a pause: the body is relayed, never stored.
    const chats = new Map(
      chatRows.map((c) => [
        c.id,
        {
          companyId: c.company_id,
          status: c.status,
          nextSeq: Number(c.next_seq),
          // The link the chat's next message chains from: read under the same lock as its seq.
          chainHead: c.chain_head ?? CHAIN_ORIGIN_HEX,
          paused: boolOf(c.paused) || boolOf(c.recording_off),
        },
      ]),
    );

    // Resends are found by the full unique key, one equality per message. The lookup is only made
    // when the optimistic insert below met a duplicate, or for a message that would be refused (its
    // chat ended, or its caller refused it): a resend of a message stored before must get its seq,
    // not a refusal. Resends are rare, lookups cost. The index is named: with stale statistics the
    // optimiser was seen scanning the whole table once per OR.
    const existing = new Map<string, { seq: number; at: Date; senderRole: SenderRole; senderName: string | null; text: string | null; paused: boolean }>();
    // Per chat first: in the relay no chat of a batch has ended, and no message is looked up by chat.
    const someEnded = chatRows.some((c) => c.status !== 'open');
    const mayBeResend = (r: QueuedRequest) =>
      lookForResends || r.refusal !== null || (someEnded && (chats.get(r.chatId)?.status ?? 'open') !== 'open') || absent(r);
    const keyed = [...new Map(reqs.filter((r) => r.clientMsgId !== null && mayBeResend(r)).map((r) => [resendKey(r), r])).values()];
    if (keyed.length > 0) {
      const rows = (await m.query(
        `SELECT chat_id, seq, sender_id, client_msg_id, sender_role, sender_name, text, paused, at FROM messages${mysql ? ' FORCE INDEX (uq_messages_sender_client)' : ''} WHERE ${keyed.map(() => '(chat_id = ? AND sender_role = ? AND sender_id = ? AND client_msg_id = ?)').join(' OR ')}`,
        keyed.flatMap((r) => [r.chatId, r.senderRole, r.senderId, r.clientMsgId]),
      )) as {
        chat_id: string;
        seq: number;
        sender_id: string;
        client_msg_id: string;
        sender_role: SenderRole;
        sender_name: string | null;
        text: string | null;
        paused: number;
        at: Date | string;
      }[];
      for (const row of rows) {
        existing.set(key(row.chat_id, row.sender_role, row.sender_id, row.client_msg_id), {
          seq: Number(row.seq),
          at: dateOf(row.at),
          senderRole: row.sender_role,
          senderName: row.sender_name,
          text: this.openResent(row.chat_id, Number(row.seq), row.text, chats, keys),
          paused: boolOf(row.paused),
        });
      }
    }

    const now = this.clock.now();
    const nowSql = sqlDate(now);
    const next = new Map<string, number>();
    const heads = new Map<string, string>();
    const at = canonicalAt(now);
    const values: unknown[] = [];
    let inserted = 0;
    const results = reqs.map((r): StoredMessage | AppException => {
      const chat = chats.get(r.chatId);
      if (!chat || chat.companyId !== r.companyId) return AppException.notFound('chat not found');
      if (r.clientMsgId !== null) {
        const prior = existing.get(resendKey(r));
        if (prior) return { chatId: r.chatId, ...prior, duplicate: true };
      }
      if (r.refusal !== null) return r.refusal;
      if (chat.status !== 'open') return AppException.conflict('chat has ended');
      if (absent(r)) return AppException.forbidden('join the chat first');
      // A company whose key was erased stores no new bodies (they would be unreadable).
      const bodyKey = keys?.get(r.companyId) ?? null;
      if (bodyKey instanceof AppException && !chat.paused) return bodyKey;
      const seq = next.get(r.chatId) ?? chat.nextSeq;
      next.set(r.chatId, seq + 1);
      // While paused the body is relayed but never stored.
      const text = chat.paused ? null : r.text;
      const stored = text !== null && bodyKey instanceof Buffer && this.crypto ? this.crypto.sealBody(bodyKey, r.chatId, seq, text) : text;
      // Linked in seq order, in the transaction that stores the row (docs/integrity.md).
      const bodySha256 = text === null ? null : r.bodySha256;
      const tail = text === null ? canonicalTail({ senderRole: r.senderRole, senderId: r.senderId, bodySha256 }) : r.chainTail;
      const link = nextLinkHex(heads.get(r.chatId) ?? chat.chainHead, at, tail, seq);
      heads.set(r.chatId, link);
      values.push(r.chatId, seq, r.clientMsgId, r.senderRole, r.senderId, r.senderName, stored, chat.paused ? 1 : 0, nowSql, bodySha256, link);
      inserted++;
      if (r.clientMsgId !== null) {
        existing.set(resendKey(r), { seq, at: now, senderRole: r.senderRole, senderName: r.senderName, text, paused: chat.paused });
      }
      return { chatId: r.chatId, seq, at: now, senderRole: r.senderRole, senderName: r.senderName, text: r.text, paused: chat.paused, duplicate: false };
    });

    if (inserted > 0) {
      const row = '(?,?,?,?,?,?,?,?,?,?,?)';
      await deferWrite(
        m,
        `INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, sender_name, text, paused, at, body_sha256, chain) VALUES ${Array.from({ length: inserted }, () => row).join(',')}`,
        values,
      );
      const ids = [...next.keys()];
      const params: unknown[] = [];
      for (const id of ids) params.push(id, next.get(id));
      for (const id of ids) params.push(id, heads.get(id));
      params.push(sqlDate(new Date(now.getTime() - ACTIVITY_STEP_MS)), nowSql, ...ids);
      const cases = ids.map(() => 'WHEN ? THEN ?').join(' ');
      // The activity moves only when the recorded one is a step old: last_activity_at is in an index
      // (the idle sweep's), and changing an indexed column in every batch cost MariaDB about a fifth of
      // its CPU per message in the relay. The messages' own `at` keeps the exact time (lastMessageAt).
      await deferWrite(
        m,
        `UPDATE chats${mysql ? ' FORCE INDEX (PRIMARY)' : ''} SET next_seq = CASE id ${cases} END, chain_head = CASE id ${cases} END, last_activity_at = CASE WHEN last_activity_at < ? THEN ? ELSE last_activity_at END WHERE id IN (${marks(ids.length)})`,
        params,
      );
    }
    return results;
  }

  // When the chat's last stored message was stored (null if none). With the chat row's
  // last_activity_at, which lags it by up to ACTIVITY_STEP_MS, it is the chat's last activity.
  async lastMessageAt(m: EntityManager, chatId: string): Promise<Date | null> {
    const rows = (await m.query('SELECT at FROM messages WHERE chat_id = ? ORDER BY seq DESC LIMIT 1', [chatId])) as { at: Date | string }[];
    return rows.length === 0 ? null : dateOf(rows[0].at);
  }

  // A resend answers with the stored original, opened if it was sealed. Its ack needs only the
  // seq, so a body that cannot be opened (key erased) is reported as not stored rather than failing.
  private openResent(chatId: string, seq: number, text: string | null, chats: Map<string, { companyId: string }>, keys: BodyKeys | null): string | null {
    if (text === null || !isSealed(text)) return text;
    const companyId = chats.get(chatId)?.companyId;
    const k = companyId === undefined ? undefined : keys?.get(companyId);
    if (!(k instanceof Buffer) || !this.crypto) return null;
    try {
      return this.crypto.openBody(k, chatId, seq, text);
    } catch (err) {
      if (err instanceof DecryptionError) return null;
      throw err;
    }
  }
}

function laneOf(chatId: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0;
  for (let i = 0; i < chatId.length; i++) h = (h * 31 + chatId.charCodeAt(i)) | 0;
  return Math.abs(h) % lanes;
}

// A resend is the same sender, role and id, with the same clientMsgId (the unique index).
function key(chatId: string, senderRole: SenderRole, senderId: string, clientMsgId: string): string {
  return `${chatId}\u0000${senderRole}\u0000${senderId}\u0000${clientMsgId}`;
}

function resendKey(r: AppendRequest): string {
  return key(r.chatId, r.senderRole, r.senderId, r.clientMsgId ?? '');
}

function isParticipantRole(role: SenderRole): boolean {
  return role === 'agent' || role === 'supervisor';
}

function speakerKey(chatId: string, agentId: string): string {
  return `${chatId}\u0000${agentId}`;
}
