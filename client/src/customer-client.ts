import { ClientError } from './client-error.js';
import type { CustomerEventMap } from './protocol.js';
import type { SentMessage } from './send-queue.js';
import { WebchatConnection, type ConnectOptions } from './webchat-connection.js';

export interface CustomerConnectOptions extends ConnectOptions {
  // The chat, before the first token is known; otherwise (and from then on) it is read from the
  // customer token's `chat` claim: the string's, or each token the function hands over.
  chatId?: string;
}

// The chat widget's side (namespace /customer): the token names the one chat.
export class CustomerClient extends WebchatConnection<CustomerEventMap> {
  private chat: string | null;
  private waitingForChat: Promise<void> | null = null;

  constructor(options: CustomerConnectOptions) {
    super('/customer', options);
    // A token that names no chat is not refused here: the service answers it at the connection.
    this.chat = (typeof options.token === 'string' ? chatClaim(options.token) : null) ?? options.chatId ?? null;
  }

  // The chat of the token ('' while no token naming one was seen: before a token function first
  // answered, or when the token is not a customer token, which the service refuses).
  get chatId(): string {
    return this.chat ?? '';
  }

  // Resolves once the service stored the message (with its seq); sent again with the same
  // clientMsgId across disconnects and reconnects until then.
  send(text: string): Promise<SentMessage> {
    if (this.chat !== null && this.waitingForChat === null) {
      return this.sendMessage(this.chat, text, (clientMsgId) => ({ clientMsgId, text }));
    }
    // A token function not asked yet: the chat is known from its token once connected (sends
    // made meanwhile keep their order).
    this.waitingForChat ??= this.connectedWithin().finally(() => {
      this.waitingForChat = null;
    });
    return this.waitingForChat.then(() => {
      if (this.chat === null) throw new ClientError('bad_request', 'the token names no chat');
      return this.send(text);
    });
  }

  async answerConsent(granted: boolean): Promise<void> {
    await this.request('consent.answer', { granted });
  }

  async requestDeletion(): Promise<void> {
    await this.request('recording.deleteRequest', {});
  }

  async end(): Promise<void> {
    await this.request('chat.end', {});
  }

  protected reconnected(): void {
    // The service puts a customer's socket in its chat's room at every connection.
  }

  protected override tokenUsed(token: string): void {
    this.chat = chatClaim(token) ?? this.chat;
  }
}

function chatClaim(token: string): string | null {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))) as { chat?: unknown };
    return typeof claims.chat === 'string' ? claims.chat : null;
  } catch {
    return null;
  }
}
