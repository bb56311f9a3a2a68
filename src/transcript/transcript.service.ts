import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Brackets, DataSource, In } from 'typeorm';
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
import { FilenameTemplateError, FilenameValues, renderFilename, TranscriptFormat } from './filename-template';
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
    const [sealed, events] = spans.length
      ? await Promise.all([
          this.db
            .getRepository(MessageEntity)
            .createQueryBuilder('m')
            .where('m.chat_id = :chatId AND m.text IS NOT NULL', { chatId: rec.chatId })
            .andWhere(new Brackets((qb) => spans.forEach((g, i) => qb.orWhere(`(m.seq >= :s${i} AND m.seq < :e${i})`, { [`s${i}`]: g.s, [`e${i}`]: g.e }))))
            .orderBy('m.seq', 'ASC')
            .getMany(),
          this.db
            .getRepository(ChatEventEntity)
            .createQueryBuilder('e')
            .where('e.chat_id = :chatId', { chatId: rec.chatId })
            .andWhere(
              new Brackets((qb) =>
                spans.forEach((g, i) =>
                  qb.orWhere(`(e.after_seq >= :s${i} AND e.after_seq < :e${i} AND e.at >= :f${i} AND e.at <= :t${i})`, {
                    [`s${i}`]: g.s - 1,
                    [`e${i}`]: g.e,
                    [`f${i}`]: sqlDate(g.from),
                    [`t${i}`]: sqlDate(g.to),
                  }),
                ),
              ),
            )
            .orderBy('e.after_seq', 'ASC')
            .addOrderBy('e.at', 'ASC')
            .getMany(),
        ])
      : [[], []];
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

// A value that is missing for this chat (no label, no customer id) can leave a folder name empty;
// rather than fail the delivery, such values are spelt "none" and the name is tried again.
function fileNameFor(profile: ProfileSnapshot, values: FilenameValues, timeZone: string): string {
  try {
    return renderFilename(profile.filenameTemplate, values, timeZone, profile.format);
  } catch (err) {
    if (!(err instanceof FilenameTemplateError)) throw err;
    const filled = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === null || v === '' ? 'none' : v])) as unknown as FilenameValues;
    return renderFilename(profile.filenameTemplate, filled, timeZone, profile.format);
  }
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
