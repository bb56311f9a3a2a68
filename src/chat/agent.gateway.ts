import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DataSource, IsNull } from 'typeorm';
import { AccessAuditService } from '../audit/access-audit.service';
import { AuthError, TokenService } from '../auth/token.service';
import { AppException, toAppException } from '../common/app.exception';
import { AppConfig } from '../config/app-config';
import { actorOf, ChatService } from './chat.service';
import { checkText } from './customer.gateway';
import { AgentMessageDto, ChatRefDto, FlagAbusiveDto, parseAgentMessage, TransferDto } from './dto/socket-payloads.dto';
import { ParticipantEntity } from './participant.entity';
import { EventMap, on, SocketDispatcher } from './socket-dispatch';
import { connectError, handshakeToken, principalOf, refuseDefaultNamespace, SocketData } from './socket-auth';
import { agentRoom, chatRoom, SocketNotifier } from './socket-notifier';

// The agent portal's namespace, for agents and supervisors.
@WebSocketGateway({ namespace: '/agent', maxHttpBufferSize: 1_000_000, cors: { origin: true } })
export class AgentGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(AgentGateway.name);
  private readonly events: EventMap;

  constructor(
    private readonly tokens: TokenService,
    private readonly chats: ChatService,
    private readonly notifier: SocketNotifier,
    private readonly config: AppConfig,
    private readonly dispatcher: SocketDispatcher,
    private readonly access: AccessAuditService,
    private readonly db: DataSource,
  ) {
    this.events = {
      'chat.join': on(ChatRefDto, async (socket, dto) => {
        const result = await this.chats.join(principalOf(socket), dto.chatId);
        await socket.join(chatRoom(dto.chatId));
        return result;
      }),
      message: on(
        AgentMessageDto,
        async (socket, dto) => {
          checkText(dto.text, this.config.maxMessageLength);
          await this.requireJoined(socket, dto.chatId);
          const stored = await this.chats.postMessage(principalOf(socket), dto.chatId, dto.clientMsgId, dto.text, socket.id);
          return { seq: stored.seq, at: stored.at.toISOString() };
        },
        parseAgentMessage,
      ),
      'recording.pause': on(ChatRefDto, async (socket, dto) => ({ recordingState: await this.chats.setPaused(principalOf(socket), dto.chatId, true) })),
      'recording.resume': on(ChatRefDto, async (socket, dto) => ({ recordingState: await this.chats.setPaused(principalOf(socket), dto.chatId, false) })),
      'recording.delete': on(ChatRefDto, async (socket, dto) => {
        await this.chats.confirmDeletion(principalOf(socket), dto.chatId);
      }),
      'chat.flagAbusive': on(FlagAbusiveDto, async (socket, dto) => {
        await this.chats.flagAbusive(principalOf(socket), dto.chatId, dto.reason);
      }),
      'chat.transfer': on(TransferDto, async (socket, dto) => {
        await this.requireJoined(socket, dto.chatId);
        await this.chats.transfer(principalOf(socket), dto.chatId, dto.toAgentId);
      }),
      'chat.leave': on(ChatRefDto, async (socket, dto) => {
        await this.chats.leave(principalOf(socket), dto.chatId);
        await socket.leave(chatRoom(dto.chatId));
      }),
      'chat.end': on(ChatRefDto, async (socket, dto) => {
        const p = principalOf(socket);
        await this.requireJoined(socket, dto.chatId);
        await this.chats.end(p.company, dto.chatId, actorOf(p), p.role);
      }),
    };
  }

  afterInit(ns: Namespace): void {
    this.notifier.agents = ns;
    refuseDefaultNamespace(ns.server);
    ns.use((socket, next) => {
      try {
        const principal = this.tokens.verify(handshakeToken(socket), ['agent', 'supervisor']);
        (socket.data as SocketData) = { principal };
        next();
      } catch (err) {
        const known = toAppException(err);
        if (err instanceof AuthError && err.principal) this.access.denied(err.principal, `connect ${ns.name}`, null, err.code, err.message);
        this.logger.debug(`agent connection refused: ${known?.message ?? (err as Error).message}`);
        next(connectError(known?.code ?? 'unavailable', known?.message ?? 'internal error'));
      }
    });
  }

  async handleConnection(socket: Socket): Promise<void> {
    const p = principalOf(socket);
    if (!p) return;
    this.dispatcher.attach(socket, this.events, this.logger);
    await socket.join(agentRoom(p.company, p.sub));
    // A (re)connecting agent hears again about chats assigned to it.
    try {
      for (const a of await this.chats.pendingAssignments(p.company, p.sub)) socket.emit('chat.assigned', a);
    } catch (err) {
      this.logger.warn(`could not list assignments for ${p.sub}: ${(err as Error).message}`);
    }
  }

  // Room membership authorises an agent's events on a chat; after a reconnect the room is rebuilt
  // from the stored participation.
  private async requireJoined(socket: Socket, chatId: string): Promise<void> {
    if (socket.rooms.has(chatRoom(chatId))) return;
    const p = principalOf(socket);
    const chat = await this.chats.find(p.company, chatId);
    const part = await this.db.getRepository(ParticipantEntity).findOneBy({ chatId: chat.id, agentId: p.sub, leftAt: IsNull() });
    if (!part) throw AppException.forbidden('join the chat first');
    await socket.join(chatRoom(chatId));
  }
}
