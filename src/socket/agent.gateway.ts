import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { TokenService } from '../auth/token.service';
import { actorOf } from '../chat/actor';
import { ChatLifecycleService } from '../chat/chat-lifecycle.service';
import { ChatMessagesService } from '../chat/chat-messages.service';
import { AppException } from '../common/app.exception';
import { RecordingControlsService } from '../chat/recording-controls.service';
import { checkText } from '../chat/message-text';
import { AppConfig } from '../config/app-config';
import { AppMetrics } from '../metrics/app-metrics';
import { AgentEvent } from './client-events';
import { AgentMessageDto, ChatRefDto, FlagAbusiveDto, parseAgentMessage, TransferDto } from './dto/socket-payloads.dto';
import { emitTo } from './server-events';
import { HandlerMap, on, SocketDispatcher } from './socket-dispatcher';
import { authenticateNamespace, principalOf } from './socket-handshake';
import { coalesceEngineWrites } from './coalesced-writes';
import { agentRoom, chatRoom, SocketNotifier } from './socket-notifier';
import { isoTime } from '../common/clock';

// The agent portal's namespace, for agents and supervisors.
@WebSocketGateway({ namespace: '/agent', maxHttpBufferSize: 1_000_000, cors: { origin: true } })
export class AgentGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(AgentGateway.name);
  private readonly events: HandlerMap<AgentEvent>;

  constructor(
    private readonly tokens: TokenService,
    private readonly chats: ChatLifecycleService,
    private readonly messages: ChatMessagesService,
    private readonly controls: RecordingControlsService,
    private readonly notifier: SocketNotifier,
    private readonly config: AppConfig,
    private readonly dispatcher: SocketDispatcher,
    private readonly access: AccessAuditService,
    private readonly metrics: AppMetrics,
  ) {
    this.events = {
      'chat.join': on(ChatRefDto, async (socket, dto) => {
        // Into the room before the history is read: a message stored in between is then both in
        // the history and relayed (clients de-duplicate by seq) rather than in neither.
        const room = chatRoom(dto.chatId);
        const wasIn = socket.rooms.has(room);
        await socket.join(room);
        try {
          return await this.chats.join(principalOf(socket), dto.chatId);
        } catch (err) {
          if (!wasIn) await socket.leave(room);
          throw err;
        }
      }),
      message: on(
        AgentMessageDto,
        async (socket, dto) => {
          checkText(dto.text, this.config.maxMessageLength);
          try {
            await this.requireJoined(socket, dto.chatId);
          } catch (err) {
            // An agent that left or was transferred away may be resending a message stored before
            // (its ack was lost): that one is answered with its seq, anything else refused as before.
            // Only then: a chat that is not found (or another company's) holds none of its messages.
            if (!(err instanceof AppException) || err.code !== 'forbidden') throw err;
            const resent = await this.messages.answerResend(principalOf(socket), dto.chatId, dto.clientMsgId, dto.text, err);
            return { seq: resent.seq, at: isoTime(resent.at) };
          }
          const stored = await this.messages.postMessage(principalOf(socket), dto.chatId, dto.clientMsgId, dto.text, socket.id);
          return { seq: stored.seq, at: isoTime(stored.at) };
        },
        parseAgentMessage,
      ),
      'recording.pause': on(ChatRefDto, async (socket, dto) => ({ recordingState: await this.controls.setPaused(principalOf(socket), dto.chatId, true) })),
      'recording.resume': on(ChatRefDto, async (socket, dto) => ({ recordingState: await this.controls.setPaused(principalOf(socket), dto.chatId, false) })),
      'recording.delete': on(ChatRefDto, async (socket, dto) => {
        await this.controls.confirmDeletion(principalOf(socket), dto.chatId);
      }),
      'chat.flagAbusive': on(FlagAbusiveDto, async (socket, dto) => {
        await this.controls.flagAbusive(principalOf(socket), dto.chatId, dto.reason);
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
    coalesceEngineWrites(ns.server);
    authenticateNamespace(ns, ['agent', 'supervisor'], { tokens: this.tokens, access: this.access, logger: this.logger, metrics: this.metrics });
  }

  async handleConnection(socket: Socket): Promise<void> {
    const p = principalOf(socket);
    if (!p) return;
    this.dispatcher.attach(socket, this.events, this.logger);
    await socket.join(agentRoom(p.company, p.sub));
    // A (re)connecting agent hears again about chats assigned to it.
    try {
      for (const a of await this.chats.pendingAssignments(p.company, p.sub)) emitTo(socket, 'chat.assigned', a);
    } catch (err) {
      this.logger.warn({ msg: `could not list assignments: ${(err as Error).message}`, companyId: p.company, userId: p.sub });
    }
  }

  // Room membership authorises an agent's events on a chat; after a reconnect the room is rebuilt
  // from the stored participation.
  private async requireJoined(socket: Socket, chatId: string): Promise<void> {
    if (socket.rooms.has(chatRoom(chatId))) return;
    const p = principalOf(socket);
    await this.chats.requireParticipant(p.company, chatId, p.sub);
    await socket.join(chatRoom(chatId));
  }
}
