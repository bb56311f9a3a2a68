import { ClientError } from './client-error.js';
import type { CustomerEventMap } from './protocol.js';
import type { SentMessage } from './send-queue.js';
import { WebchatConnection, type ConnectOptions } from './webchat-connection.js';

export interface CustomerConnectOptions extends ConnectOptions {
  // The chat, when the token is a function (otherwise read from the token's `chat` claim).
  chatId?: string;
}

// The chat widget's side (namespace /customer): the token names the one chat.
export class CustomerClient extends WebchatConnection<CustomerEventMap> {
  readonly chatId: string;

  constructor(options: CustomerConnectOptions) {
    super('/customer', options);
    const chatId = options.chatId ?? (typeof options.token === 'string' ? chatClaim(options.token) : null);
    if (!chatId) {
      this.close();
      throw new ClientError('bad_request', 'chatId is needed when the token is not a customer token string');
    }
    this.chatId = chatId;
  }

  // Resolves once the service stored the message (with its seq); sent again with the same
  // clientMsgId across disconnects and reconnects until then.
  send(text: string): Promise<SentMessage> {
    return this.sendMessage(this.chatId, text, (clientMsgId) => ({ clientMsgId, text }));
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
