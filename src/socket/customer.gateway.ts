import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { TokenService } from '../auth/token.service';
import { actorOf } from '../chat/actor';
import { ChatLifecycleService } from '../chat/chat-lifecycle.service';
import { ChatMessagesService } from '../chat/chat-messages.service';
import { RecordingControlsService } from '../chat/recording-controls.service';
import { checkText } from '../chat/message-text';
import { AppConfig } from '../config/app-config';
import { AppMetrics } from '../metrics/app-metrics';
import { CustomerEvent } from './client-events';
import { ConsentAnswerDto, CustomerMessageDto, EmptyDto, parseCustomerMessage } from './dto/socket-payloads.dto';
import { HandlerMap, on, SocketDispatcher } from './socket-dispatcher';
import { authenticateNamespace, principalOf } from './socket-handshake';
import { chatRoom, SocketNotifier } from './socket-notifier';
import { coalesceEngineWrites } from './coalesced-writes';
import { isoTime } from '../common/clock';

// The chat widget's namespace. The token names the one chat this socket may touch.
@WebSocketGateway({ namespace: '/customer', maxHttpBufferSize: 1_000_000, cors: { origin: true } })
export class CustomerGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(CustomerGateway.name);
  private readonly events: HandlerMap<CustomerEvent>;

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
      message: on(
        CustomerMessageDto,
        async (socket, dto) => {
          const p = principalOf(socket);
          checkText(dto.text, this.config.maxMessageLength);
          const stored = await this.messages.postMessage(p, p.chat as string, dto.clientMsgId, dto.text, socket.id);
          return { seq: stored.seq, at: isoTime(stored.at) };
        },
        parseCustomerMessage,
      ),
      'consent.answer': on(ConsentAnswerDto, async (socket, dto) => {
        const p = principalOf(socket);
        await this.controls.answerConsent(p, p.chat as string, dto.granted);
      }),
      'recording.deleteRequest': on(EmptyDto, async (socket) => {
        const p = principalOf(socket);
        await this.controls.requestDeletion(p, p.chat as string);
      }),
      'chat.end': on(EmptyDto, async (socket) => {
        const p = principalOf(socket);
        await this.chats.end(p.company, p.chat as string, actorOf(p), 'customer');
      }),
    };
  }

  afterInit(ns: Namespace): void {
    this.notifier.customers = ns;
    coalesceEngineWrites(ns.server);
    // A customer token's chat must exist (and be its company's).
    authenticateNamespace(ns, ['customer'], { tokens: this.tokens, access: this.access, logger: this.logger, metrics: this.metrics }, async (p) => {
      await this.chats.find(p.company, p.chat as string);
    });
  }

  async handleConnection(socket: Socket): Promise<void> {
    const p = principalOf(socket);
    if (!p) return;
    this.dispatcher.attach(socket, this.events, this.logger);
    await socket.join(chatRoom(p.chat as string));
    // A widget that (re)connects to a chat that has ended (it was away when the end was relayed)
    // is told so at once. Read after joining the room: an end committed meanwhile reaches it by the
    // room, by this read, or both (the event is the same), never by neither.
    const chat = await this.chats.find(p.company, p.chat as string).catch(() => null);
    if (chat?.status === 'ended' && socket.connected) socket.emit('chat.ended', { chatId: chat.id });
  }
}
