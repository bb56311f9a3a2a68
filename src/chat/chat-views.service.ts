import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppException } from '../common/app.exception';
import { ChatEventEntity } from './chat-event.entity';
import { ChatEntity } from './chat.entity';
import { holdView } from './chat-hold.service';
import { ParticipantEntity } from './participant.entity';

// Read-only views of a chat for other features (the admin's chat page): plain data, no entities.
@Injectable()
export class ChatViewsService {
  constructor(private readonly db: DataSource) {}

  // The chat, its participants and its markers; another company's chat is a missing one.
  async adminView(companyId: string, chatId: string) {
    const chat = await this.db.getRepository(ChatEntity).findOneBy({ id: chatId });
    if (!chat || chat.companyId !== companyId) throw AppException.notFound('chat not found');
    const participants = await this.db.getRepository(ParticipantEntity).find({ where: { chatId }, order: { joinedAt: 'ASC' } });
    const events = await this.db.getRepository(ChatEventEntity).find({ where: { chatId }, order: { afterSeq: 'ASC', at: 'ASC' }, take: 1000 });
    return {
      chat: {
        chatId: chat.id,
        externalId: chat.externalId,
        service: chat.service,
        customer: { id: chat.customerId, name: chat.customerName },
        status: chat.status,
        assignedAgentId: chat.assignedAgentId,
        startedAt: chat.startedAt.toISOString(),
        endedAt: chat.endedAt?.toISOString() ?? null,
        endReason: chat.endReason,
        messageCount: chat.nextSeq - 1,
        hold: holdView(chat),
        flags: {
          paused: chat.paused,
          recordingOff: chat.recordingOff,
          consent: chat.consent,
          discarded: chat.discarded,
          abusive: chat.abusive,
          deletionRequested: chat.deletionRequested,
          deletionConfirmed: chat.deletionConfirmed,
        },
      },
      participants: participants.map((x) => ({
        agentId: x.agentId,
        role: x.role,
        name: x.name,
        permitRecordings: x.permitRecordings,
        joinedAt: x.joinedAt.toISOString(),
        leftAt: x.leftAt?.toISOString() ?? null,
      })),
      events: events.map((e) => ({
        kind: e.kind,
        afterSeq: e.afterSeq,
        actor: { role: e.actorRole, id: e.actorId, name: e.actorName },
        detail: e.detail,
        at: e.at.toISOString(),
      })),
    };
  }
}
