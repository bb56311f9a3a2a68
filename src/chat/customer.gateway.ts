import { Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { AuthError, TokenService } from '../auth/token.service';
import { AppException, toAppException } from '../common/app.exception';
import { AppConfig } from '../config/app-config';
import { actorOf, ChatService } from './chat.service';
import { ConsentAnswerDto, CustomerMessageDto, EmptyDto, parseCustomerMessage } from './dto/socket-payloads.dto';
import { EventMap, on, SocketDispatcher } from './socket-dispatch';
import { connectError, handshakeToken, principalOf, refuseDefaultNamespace, SocketData } from './socket-auth';
import { chatRoom, SocketNotifier } from './socket-notifier';

// The chat widget's namespace. The token names the one chat this socket may touch.
@WebSocketGateway({ namespace: '/customer', maxHttpBufferSize: 1_000_000, cors: { origin: true } })
export class CustomerGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(CustomerGateway.name);
  private readonly events: EventMap;

  constructor(
    private readonly tokens: TokenService,
    private readonly chats: ChatService,
    private readonly notifier: SocketNotifier,
    private readonly config: AppConfig,
    private readonly dispatcher: SocketDispatcher,
    private readonly access: AccessAuditService,
  ) {
    this.events = {
      message: on(
        CustomerMessageDto,
        async (socket, dto) => {
          const p = principalOf(socket);
          checkText(dto.text, this.config.maxMessageLength);
          const stored = await this.chats.postMessage(p, p.chat as string, dto.clientMsgId, dto.text, socket.id);
          return { seq: stored.seq, at: stored.at.toISOString() };
        },
        parseCustomerMessage,
      ),
      'consent.answer': on(ConsentAnswerDto, async (socket, dto) => {
        const p = principalOf(socket);
        await this.chats.answerConsent(p, p.chat as string, dto.granted);
      }),
      'recording.deleteRequest': on(EmptyDto, async (socket) => {
        const p = principalOf(socket);
        await this.chats.requestDeletion(p, p.chat as string);
      }),
      'chat.end': on(EmptyDto, async (socket) => {
        const p = principalOf(socket);
        await this.chats.end(p.company, p.chat as string, actorOf(p), 'customer');
      }),
    };
  }

  afterInit(ns: Namespace): void {
    this.notifier.customers = ns;
    refuseDefaultNamespace(ns.server);
    // Authentication runs at connection (message guards do not), for every (re)connection.
    ns.use((socket, next) => {
      void (async () => {
        try {
          const principal = this.tokens.verify(handshakeToken(socket), ['customer']);
          await this.chats.find(principal.company, principal.chat as string);
          (socket.data as SocketData) = { principal };
          next();
        } catch (err) {
          const known = toAppException(err);
          if (err instanceof AuthError && err.principal) this.access.denied(err.principal, `connect ${ns.name}`, null, err.code, err.message);
          this.logger.debug(`customer connection refused: ${known?.message ?? (err as Error).message}`);
          next(connectError(known?.code ?? 'unavailable', known?.message ?? 'internal error'));
        }
      })();
    });
  }

  async handleConnection(socket: Socket): Promise<void> {
    const p = principalOf(socket);
    if (!p) return;
    this.dispatcher.attach(socket, this.events, this.logger);
    await socket.join(chatRoom(p.chat as string));
  }
}

export function checkText(text: string, max: number): void {
  if (text.length === 0) throw AppException.badRequest('text must not be empty');
  if (text.length > max) throw AppException.badRequest(`text is longer than ${max} characters`);
}
