import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ChatEventEntity } from '../chat/chat-event.entity';
import { ChatEntity } from '../chat/chat.entity';
import { MessageEntity } from '../chat/message.entity';
import { ParticipantEntity } from '../chat/participant.entity';
import { AgentEntity } from '../company/agent.entity';
import { CompanyService } from '../company/company.service';
import { sqlDate } from '../database/sql';
import { PermanentDeliveryError } from '../export/transport';
import { RecordingEntity } from '../recording/recording.entity';
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
  profile: ProfileEntity;
  timeZone: string;
}

// Gathers what one recording captured (its seq range, minus paused bodies) and renders it.
@Injectable()
export class TranscriptService {
  constructor(
    private readonly db: DataSource,
    private readonly companies: CompanyService,
    private readonly crypto: CryptoService,
  ) {}

  // What naming a file needs: the chat, the company's time zone, the profile and the agent(s).
  private async naming(rec: RecordingEntity) {
    // Independent reads run side by side: this runs once per delivered file.
    const [chat, company, profile, participants] = await Promise.all([
      this.db.getRepository(ChatEntity).findOneByOrFail({ id: rec.chatId }),
      this.companies.get(rec.companyId),
      this.db.getRepository(ProfileEntity).findOneBy({ companyId: rec.companyId, name: rec.profileName }),
      this.db.getRepository(ParticipantEntity).find({ where: { chatId: rec.chatId }, order: { joinedAt: 'ASC' } }),
    ]);
    if (!profile) throw new FilenameTemplateError(`profile "${rec.profileName}" no longer exists`);
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

  async input(rec: RecordingEntity): Promise<LoadedRecording> {
    const { chat, company, profile, agents, values, timeZone } = await this.naming(rec);
    const endSeq = rec.endSeq ?? chat.nextSeq;
    const stoppedAt = rec.stoppedAt ?? chat.endedAt ?? new Date();
    // The captured messages (bodies stored) in the recording's seq range, read in pages.
    const messagePage = (afterSeq: number) =>
      this.db
        .getRepository(MessageEntity)
        .createQueryBuilder('m')
        .where('m.chat_id = :chatId AND m.seq >= :s AND m.seq < :e AND m.text IS NOT NULL', { chatId: rec.chatId, s: rec.startSeq, e: endSeq })
        .andWhere('m.seq > :after', { after: afterSeq })
        .orderBy('m.seq', 'ASC')
        .take(MESSAGE_PAGE_SIZE)
        .getMany();
    const eventsQuery = this.db
      .getRepository(ChatEventEntity)
      .createQueryBuilder('e')
      .where('e.chat_id = :chatId AND e.after_seq >= :s AND e.after_seq < :e AND e.at >= :from AND e.at <= :to', {
        chatId: rec.chatId,
        s: rec.startSeq - 1,
        e: endSeq,
        from: sqlDate(rec.startedAt),
        to: sqlDate(stoppedAt),
      })
      .orderBy('e.after_seq', 'ASC')
      .addOrderBy('e.at', 'ASC')
      .getMany();
    // The markers and the first page of messages are read side by side, as one query each was before.
    const [events, firstPage] = await Promise.all([eventsQuery, messagePage(rec.startSeq - 1)]);
    let prefetched: MessageEntity[] | null = firstPage;
    const companyId = rec.companyId;
    const openBodies = (rows: MessageEntity[]) => this.openBodies(companyId, rows);
    async function* messages(): AsyncGenerator<MessageEntity> {
      let after = rec.startSeq - 1;
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
function fileNameFor(profile: ProfileEntity, values: FilenameValues, timeZone: string): string {
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
