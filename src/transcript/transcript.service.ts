import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Brackets, DataSource, In, WhereExpressionBuilder } from 'typeorm';
import { ChatEventEntity } from '../chat/chat-event.entity';
import { ChatEntity } from '../chat/chat.entity';
import { MessageEntity } from '../chat/message.entity';
import { ParticipantEntity } from '../chat/participant.entity';
import { AgentEntity } from '../company/agent.entity';
import { CompanyService } from '../company/company.service';
import { sqlDate } from '../database/sql';
import { PermanentDeliveryError } from '../export/transport';
import { RecordingEntity } from '../recording/recording.entity';
import { ProfileSnapshot, RecordingService } from '../recording/recording.service';
import { CryptoService, EncryptionKeyErasedError } from '../security/crypto.service';
import { deliverableFilename, FilenameTemplateError, FilenameValues, TranscriptFormat } from './filename-template';
import { ProfileEntity } from './profile.entity';
import {
  EntryCounts,
  MarkerKind,
  renderMetadataSidecarOf,
  renderTranscriptStream,
  SenderRole,
  TranscriptEntry,
  TranscriptHeader,
  yieldToEventLoop,
} from './transcript-renderer';

// Messages are read this many at a time (keyset on seq): a 10,000-character message is 20 KB of
// UTF-16, so a page stays within a few MB whatever the chat's size.
export const MESSAGE_PAGE_SIZE = 100;
// A body up to this size is kept from the measuring pass and uploaded from memory (no second read
// of the database while an SFTP connection is held); a larger one is rendered again for upload.
export const KEPT_BODY_BYTES = 1024 * 1024;

export interface RenderedRecording {
  fileName: string;
  format: TranscriptFormat;
  // The body, rendered again from the database on each call; never held whole.
  content: () => AsyncIterable<Buffer>;
  bytes: number;
  sha256: string;
  sidecar: Buffer | null;
}

export interface LoadedRecording {
  input: TranscriptHeader;
  // The recording's entries in order, read page by page on each call.
  entries: () => AsyncIterable<TranscriptEntry>;
  values: FilenameValues;
  profile: ProfileSnapshot;
  timeZone: string;
}

// Gathers what one recording captured (its segments, minus paused bodies) and renders it, with the
// profile as it was when the recording started.
@Injectable()
export class TranscriptService {
  constructor(
    private readonly db: DataSource,
    private readonly companies: CompanyService,
    private readonly crypto: CryptoService,
    private readonly recordings: RecordingService,
  ) {}

  // What naming a file needs: the chat, the company's time zone, the profile and the agent(s).
  private async naming(rec: RecordingEntity) {
    // Independent reads run side by side: this runs once per delivered file.
    const [chat, company, profile, participants] = await Promise.all([
      this.db.getRepository(ChatEntity).findOneByOrFail({ id: rec.chatId }),
      this.companies.get(rec.companyId),
      this.profileOf(rec),
      this.db.getRepository(ParticipantEntity).find({ where: { chatId: rec.chatId }, order: { joinedAt: 'ASC' } }),
    ]);
    const agentIds = rec.agentId ? [rec.agentId] : participants.map((p) => p.agentId);
    const settings = agentIds.length ? await this.db.getRepository(AgentEntity).findBy({ companyId: rec.companyId, agentId: In(agentIds) }) : [];
    const agents = agentIds.map((id) => {
      const s = settings.find((a) => a.agentId === id);
      const p = participants.find((x) => x.agentId === id);
      return { id, login: s?.login ?? null, name: s?.name ?? p?.name ?? null };
    });
    const agent = agents[0];
    const values: FilenameValues = {
      chatId: chat.id,
      externalId: chat.externalId,
      companyId: chat.companyId,
      service: chat.service,
      recordingId: rec.id,
      recordingName: rec.profileName,
      label: rec.label,
      agentId: rec.agentId ?? agent?.id ?? null,
      // The admin's agent settings first, else what the token said.
      agentLogin: agent?.login ?? agent?.id ?? null,
      agentName: agent?.name ?? null,
      customerId: chat.customerId,
      customerName: chat.customerName,
      startedAt: chat.startedAt,
      endedAt: chat.endedAt,
      recordingStartedAt: rec.startedAt,
    };
    return { chat, company, profile, agents, values, timeZone: company.timeZone };
  }

  // The snapshot taken when the recording started; only rows older than the snapshot read the
  // profile as it is now.
  private async profileOf(rec: RecordingEntity): Promise<ProfileSnapshot> {
    if (rec.profileTemplate !== null && rec.profileFormat !== null) {
      return { filenameTemplate: rec.profileTemplate, format: rec.profileFormat, sidecar: rec.profileSidecar ?? false };
    }
    const profile = await this.db.getRepository(ProfileEntity).findOneBy({ companyId: rec.companyId, name: rec.profileName });
    if (!profile) throw new FilenameTemplateError(`profile "${rec.profileName}" no longer exists`);
    return profile;
  }

  async input(rec: RecordingEntity): Promise<LoadedRecording> {
    const [{ chat, company, profile, agents, values, timeZone }, segments] = await Promise.all([
      this.naming(rec),
      this.recordings.segments(this.db.manager, rec.id),
    ]);
    const stoppedAt = rec.stoppedAt ?? chat.endedAt ?? new Date();
    // Each segment is one stay: its messages, and the markers between its join and its leave (a
    // marker's afterSeq places it after the message it follows; its time keeps out markers written
    // while the recording was not running, at the same place in the chat).
    const spans = segments.map((g) => ({ s: g.startSeq, e: g.endSeq ?? chat.nextSeq, from: g.startedAt, to: g.stoppedAt ?? stoppedAt }));
    const inSpans = (column: string, qb: WhereExpressionBuilder, withTime: boolean) =>
      spans.forEach((g, i) =>
        qb.orWhere(
          withTime ? `(${column} >= :s${i} AND ${column} < :e${i} AND e.at >= :f${i} AND e.at <= :t${i})` : `(${column} >= :s${i} AND ${column} < :e${i})`,
          withTime ? { [`s${i}`]: g.s - 1, [`e${i}`]: g.e, [`f${i}`]: sqlDate(g.from), [`t${i}`]: sqlDate(g.to) } : { [`s${i}`]: g.s, [`e${i}`]: g.e },
        ),
      );
    // The captured messages (bodies stored) in the recording's segments, read in pages.
    const messagePage = (afterSeq: number): Promise<MessageEntity[]> =>
      spans.length === 0
        ? Promise.resolve([])
        : this.db
            .getRepository(MessageEntity)
            .createQueryBuilder('m')
            .where('m.chat_id = :chatId AND m.text IS NOT NULL', { chatId: rec.chatId })
            .andWhere(new Brackets((qb) => inSpans('m.seq', qb, false)))
            .andWhere('m.seq > :after', { after: afterSeq })
            .orderBy('m.seq', 'ASC')
            .take(MESSAGE_PAGE_SIZE)
            .getMany();
    const eventsQuery: Promise<ChatEventEntity[]> =
      spans.length === 0
        ? Promise.resolve([])
        : this.db
            .getRepository(ChatEventEntity)
            .createQueryBuilder('e')
            .where('e.chat_id = :chatId', { chatId: rec.chatId })
            .andWhere(new Brackets((qb) => inSpans('e.after_seq', qb, true)))
            .orderBy('e.after_seq', 'ASC')
            .addOrderBy('e.at', 'ASC')
            .getMany();
    // The markers and the first page of messages are read side by side.
    const [events, firstPage] = await Promise.all([eventsQuery, messagePage(0)]);
    let prefetched: MessageEntity[] | null = firstPage;
    const companyId = rec.companyId;
    const openBodies = (rows: MessageEntity[]) => this.openBodies(companyId, rows);
    async function* messages(): AsyncGenerator<MessageEntity> {
      let after = 0;
      for (;;) {
        const sealed = prefetched ?? (await messagePage(after));
        prefetched = null;
        const page = await openBodies(sealed);
        for (const m of page) yield m;
        if (page.length < MESSAGE_PAGE_SIZE) return;
        after = page[page.length - 1].seq;
        await yieldToEventLoop();
      }
    }
    const input: TranscriptHeader = {
      chatId: chat.id,
      externalId: chat.externalId,
      companyId: chat.companyId,
      service: chat.service,
      timeZone: company.timeZone,
      recording: { id: rec.id, name: rec.profileName, label: rec.label, kind: rec.kind, startedAt: rec.startedAt, endedAt: stoppedAt },
      agents,
      customer: { id: chat.customerId, name: chat.customerName },
      chatStartedAt: chat.startedAt,
      chatEndedAt: chat.endedAt ?? stoppedAt,
    };
    return { input, entries: () => merge(messages(), events), values, profile, timeZone };
  }

  // A transcript whose bodies were crypto-shredded can never be rendered: retrying cannot help.
  private async openBodies(companyId: string, messages: MessageEntity[]): Promise<MessageEntity[]> {
    try {
      return await this.crypto.openBodies(companyId, messages);
    } catch (err) {
      if (err instanceof EncryptionKeyErasedError) throw new PermanentDeliveryError(`${err.message}: the transcript cannot be rendered`);
      throw err;
    }
  }

  async render(rec: RecordingEntity, fixedName: string | null): Promise<RenderedRecording> {
    return this.renderLoaded(await this.input(rec), fixedName);
  }

  // The name a loaded recording renders to (before any de-duplication).
  nameOf(loaded: LoadedRecording): string {
    return fileNameFor(loaded.profile, loaded.values, loaded.timeZone);
  }

  // A first streaming pass measures the body (sha256, bytes, entry counts) for the sidecar and the
  // transports' checks; `content` replays a small body from memory and renders a large one again.
  async renderLoaded(loaded: LoadedRecording, fixedName: string | null): Promise<RenderedRecording> {
    const { input, profile } = loaded;
    const fileName = fixedName ?? this.nameOf(loaded);
    const counts: EntryCounts = { messages: 0, markers: 0 };
    async function* counted(): AsyncGenerator<TranscriptEntry> {
      for await (const e of loaded.entries()) {
        if (e.type === 'message') counts.messages++;
        else counts.markers++;
        yield e;
      }
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let kept: Buffer[] | null = [];
    for await (const chunk of renderTranscriptStream(profile.format, input, counted())) {
      hash.update(chunk);
      bytes += chunk.length;
      if (kept && bytes <= KEPT_BODY_BYTES) kept.push(chunk);
      else kept = null;
    }
    const sha256 = hash.digest('hex');
    const sidecar = profile.sidecar ? renderMetadataSidecarOf(input, counts, { fileName, format: profile.format, sha256, bytes }) : null;
    const small = kept;
    const content = small
      ? async function* (): AsyncGenerator<Buffer> {
          yield* small;
        }
      : () => renderTranscriptStream(profile.format, input, loaded.entries());
    return { fileName, format: profile.format, content, bytes, sha256, sidecar };
  }
}

// Missing values are spelt "none", long ones cut, and room is left for the sidecar's extension.
function fileNameFor(profile: ProfileSnapshot, values: FilenameValues, timeZone: string): string {
  return deliverableFilename(profile.filenameTemplate, values, timeZone, profile.format, { sidecar: profile.sidecar });
}

// Messages and markers in order: a marker after seq N comes before message N+1.
async function* merge(messages: AsyncIterable<MessageEntity>, events: ChatEventEntity[]): AsyncGenerator<TranscriptEntry> {
  let e = 0;
  const marker = (ev: ChatEventEntity): TranscriptEntry => ({
    type: 'marker',
    at: ev.at,
    kind: ev.kind as MarkerKind,
    actorRole: ev.actorRole as SenderRole,
    actorName: ev.actorName ?? ev.actorId ?? ev.actorRole,
    detail: ev.detail,
  });
  for await (const m of messages) {
    while (e < events.length && events[e].afterSeq < m.seq) yield marker(events[e++]);
    yield { type: 'message', seq: m.seq, at: m.at, role: m.senderRole, name: m.senderName ?? m.senderRole, text: m.text as string };
  }
  while (e < events.length) yield marker(events[e++]);
}
