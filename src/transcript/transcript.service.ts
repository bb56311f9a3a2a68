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
import { MarkerKind, renderMetadataSidecar, renderTranscript, SenderRole, TranscriptEntry, TranscriptInput } from './transcript-renderer';

export interface RenderedRecording {
  fileName: string;
  format: TranscriptFormat;
  content: Buffer;
  sha256: string;
  sidecar: Buffer | null;
}

export interface LoadedRecording {
  input: TranscriptInput;
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
    const [sealed, events] = await Promise.all([
      this.db
        .getRepository(MessageEntity)
        .createQueryBuilder('m')
        .where('m.chat_id = :chatId AND m.seq >= :s AND m.seq < :e AND m.text IS NOT NULL', { chatId: rec.chatId, s: rec.startSeq, e: endSeq })
        .orderBy('m.seq', 'ASC')
        .getMany(),
      this.db
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
        .getMany(),
    ]);
    const messages = await this.openBodies(rec.companyId, sealed);
    const input: TranscriptInput = {
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
      entries: merge(messages, events),
    };
    return { input, values, profile, timeZone };
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

  renderLoaded(loaded: LoadedRecording, fixedName: string | null): RenderedRecording {
    const { input, profile } = loaded;
    const fileName = fixedName ?? this.nameOf(loaded);
    const content = renderTranscript(profile.format, input);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const sidecar = profile.sidecar ? renderMetadataSidecar(input, { fileName, format: profile.format, sha256, bytes: content.length }) : null;
    return { fileName, format: profile.format, content, sha256, sidecar };
  }
}

// Missing values are spelt "none", long ones cut, and room is left for the sidecar's extension.
function fileNameFor(profile: ProfileEntity, values: FilenameValues, timeZone: string): string {
  return deliverableFilename(profile.filenameTemplate, values, timeZone, profile.format, { sidecar: profile.sidecar });
}

function merge(messages: MessageEntity[], events: ChatEventEntity[]): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  let e = 0;
  const pushMarker = (ev: ChatEventEntity) =>
    out.push({
      type: 'marker',
      at: ev.at,
      kind: ev.kind as MarkerKind,
      actorRole: ev.actorRole as SenderRole,
      actorName: ev.actorName ?? ev.actorId ?? ev.actorRole,
      detail: ev.detail,
    });
  for (const m of messages) {
    while (e < events.length && events[e].afterSeq < m.seq) pushMarker(events[e++]);
    out.push({ type: 'message', seq: m.seq, at: m.at, role: m.senderRole, name: m.senderName ?? m.senderRole, text: m.text as string });
  }
  while (e < events.length) pushMarker(events[e++]);
  return out;
}
