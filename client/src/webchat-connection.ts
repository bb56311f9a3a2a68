import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ClientError, connectRefusal } from './client-error.js';
import { OrderedInbox } from './ordered-inbox.js';
import type { AckOf, MessageView, RecordingStateValue, ServerEventMap } from './protocol.js';
import { SendQueue, type SentMessage } from './send-queue.js';
import { TypedEmitter } from './typed-emitter.js';

export interface ConnectOptions {
  // The service's base URL, e.g. http://localhost:3000 (in a browser page it serves: location.origin).
  url: string;
  // The token, or a function asked (and awaited) before every (re)connection, the first included,
  // to hand over a fresh one.
  token: string | (() => string | Promise<string>);
  // How long to wait for an acknowledgement before sending again (default 10 s).
  ackTimeoutMs?: number;
  // How long a message after a gap in seq waits for the gap to fill (default 1.5 s).
  gapWaitMs?: number;
  // First delay after a `rate_limited`/`unavailable` refusal, doubled up to maxRetryDelayMs (250 ms / 5 s).
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  // How long connect() waits for the first connection (default 20 s).
  connectTimeoutMs?: number;
  // Passed to socket.io-client (transports, reconnection delays, ...).
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

// What the library tells its user: the server's events (messages de-duplicated and in order)
// and the state of the connection and of the sends.
export interface ClientEventMap extends ServerEventMap {
  sent: SentMessage;
  resend: { chatId: string; clientMsgId: string; attempt: number };
  status: { state: ConnectionState; reason?: string };
  // The portal joined one of its chats again after a reconnect (and caught up on its history).
  rejoined: { chatId: string; recordingState: RecordingStateValue };
  error: ClientError;
}

// [payload, reply] per event, as in client-events.ts.
type EventTable<M> = { [K in keyof M]: [object, object] };

let idCounter = 0;
export function newClientMsgId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  idCounter++;
  return `m-${Date.now().toString(36)}-${idCounter}-${Math.random().toString(36).slice(2, 10)}`;
}

// What the widget and the portal share: the socket, the resend queue, the ordered inboxes.
export abstract class WebchatConnection<M extends EventTable<M>> extends TypedEmitter<ClientEventMap> {
  readonly socket: Socket;
  protected readonly queue: SendQueue;
  private readonly inboxes = new Map<string, OrderedInbox>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private everConnected = false;
  private state: ConnectionState = 'connecting';
  // Why the client closed (its sends and requests are refused with it from then on).
  private closedWith: ClientError | null = null;
  // The service said the token expired (`auth.expired`); its disconnect comes next.
  private tokenExpired = false;
  protected readonly ackTimeoutMs: number;
  // The sender roles of this side's own messages.
  private readonly ownRoles: readonly string[];
  private readonly gapWaitMs: number;

  protected constructor(
    namespace: '/customer' | '/agent',
    protected readonly options: ConnectOptions,
  ) {
    super();
    this.ownRoles = namespace === '/customer' ? ['customer'] : ['agent', 'supervisor'];
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.gapWaitMs = options.gapWaitMs ?? 1_500;
    const token = options.token;
    const base = options.url.replace(/\/+$/, '');
    this.socket = io(`${base}${namespace}`, {
      forceNew: true,
      ...options.socket,
      auth: (cb: (data: object) => void) => {
        const use = (t: string) => {
          this.tokenUsed(t);
          cb({ token: t });
        };
        if (typeof token === 'string') return use(token);
        Promise.resolve()
          .then(token)
          .then(use, () => use(''));
      },
    });
    this.queue = new SendQueue(
      {
        connected: () => this.socket.connected,
        emit: (payload, timeoutMs, done) => {
          this.socket.timeout(timeoutMs).emit('message', payload, (err: Error | null, ack?: AckOf<{ seq: number; at: string }>) => done(err, ack));
        },
        sent: (m) => {
          this.deliver(m.chatId, this.inbox(m.chatId).account(m.seq));
          this.fire('sent', m);
        },
        resend: (r) => this.fire('resend', r),
        // Answered between the token's expiry and the disconnect that follows: sent again once
        // reconnected with a fresh token.
        retryable: (e) => e.code === 'unauthorized' && e.message === 'token expired' && typeof token === 'function',
      },
      { ackTimeoutMs: this.ackTimeoutMs, retryDelayMs: options.retryDelayMs ?? 250, maxRetryDelayMs: options.maxRetryDelayMs ?? 5_000 },
    );
    this.socket.on('connect', () => {
      const again = this.everConnected;
      this.everConnected = true;
      this.setState('connected');
      if (again) this.reconnected();
      this.queue.connected();
    });
    this.socket.on('auth.expired', () => (this.tokenExpired = true));
    this.socket.on('disconnect', (reason) => {
      this.queue.disconnected();
      const expired = this.tokenExpired;
      this.tokenExpired = false;
      // socket.io reconnects by itself after a lost connection, not after a disconnect by either side.
      if (this.socket.active) return this.setState('disconnected', reason);
      if (this.closedWith) return this.setState('closed', reason); // close()
      if (expired && reason === 'io server disconnect' && typeof token === 'function') {
        // The service disconnects a socket whose token expired: connect again, asking the function
        // for a fresh token; the unacknowledged sends go again with their clientMsgId.
        this.setState('disconnected', 'token expired');
        setTimeout(() => {
          if (!this.closedWith) this.socket.connect();
        }, 0);
        return;
      }
      // Nothing would bring the connection back: every waiting and later send is refused.
      this.fail(
        expired
          ? new ClientError('unauthorized', 'token expired: a token string cannot be renewed (pass a function as `token` to reconnect with a fresh one)')
          : new ClientError('unavailable', `disconnected (${reason}), not reconnecting`),
      );
    });
    this.socket.on('connect_error', (err: Error) => {
      // Refused by the service (bad token, wrong role, no such chat): socket.io does not retry, nor
      // do we. The refusal is the service's own {code, message}.
      if (!this.socket.active) this.fail(connectRefusal(err));
    });
    this.socket.on('message', (m: MessageView) => this.deliver(m.chatId, this.inbox(m.chatId).receive(m)));
    for (const event of ['recording.state', 'chat.ended', 'consent.request', 'recording.deleteRequested', 'chat.assigned', 'auth.expired'] as const) {
      this.socket.on(event, (payload: ServerEventMap[typeof event]) => {
        this.serverEvent(event, payload);
        this.fire(event, payload as never);
      });
    }
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  // Resolves at the first connection; rejects when the service refuses the token or does not
  // answer within connectTimeoutMs.
  ready(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new ClientError('unavailable', 'could not connect in time')), this.options.connectTimeoutMs ?? 20_000);
      const offs = [
        this.on('status', (s) => {
          if (s.state === 'connected') done();
          else if (s.state === 'closed') done(new ClientError('unavailable', 'closed'));
        }),
        this.on('error', (e) => done(e)),
      ];
      const done = (err?: Error) => {
        clearTimeout(timer);
        offs.forEach((off) => off());
        if (err) {
          this.close();
          reject(err);
        } else resolve();
      };
    });
  }

  // Messages not yet acknowledged.
  get pendingSends(): number {
    return this.queue.pending;
  }

  close(): void {
    this.closedWith ??= new ClientError('unavailable', 'client closed');
    this.shutDown();
    this.setState('closed');
  }

  protected abstract reconnected(): void;

  // Every token before it is handed to the service (the widget reads its chat from it).
  protected tokenUsed(_token: string): void {}

  // Server events besides messages, before the user hears them (the portal tracks its chats).
  protected serverEvent<E extends keyof ServerEventMap>(_event: E, _payload: ServerEventMap[E]): void {}

  // A gap in a chat's seq did not fill in time: the portal fetches the history, the widget moves on.
  protected gapTimedOut(chatId: string): void {
    this.deliver(chatId, this.inbox(chatId).skipGaps());
  }

  protected sendMessage(chatId: string, text: string, payload: (clientMsgId: string) => object): Promise<SentMessage> {
    const clientMsgId = newClientMsgId();
    return this.queue.enqueue(chatId, clientMsgId, text, payload(clientMsgId));
  }

  // A typed request with an acknowledgement; waits for the connection first.
  protected async request<E extends keyof M & string>(event: E, payload: M[E][0]): Promise<M[E][1]> {
    await this.connectedWithin(this.ackTimeoutMs);
    let ack: AckOf<M[E][1]>;
    try {
      ack = (await this.socket.timeout(this.ackTimeoutMs).emitWithAck(event, payload)) as AckOf<M[E][1]>;
    } catch {
      throw new ClientError('unavailable', `no answer to ${event}`);
    }
    if (!ack.ok) throw new ClientError(ack.error.code, ack.error.message);
    return ack;
  }

  protected inbox(chatId: string): OrderedInbox {
    let inbox = this.inboxes.get(chatId);
    if (!inbox) this.inboxes.set(chatId, (inbox = new OrderedInbox()));
    return inbox;
  }

  protected forget(chatId: string): void {
    const t = this.gapTimers.get(chatId);
    if (t) clearTimeout(t);
    this.gapTimers.delete(chatId);
  }

  protected deliver(chatId: string, messages: MessageView[]): void {
    for (const m of messages) {
      // One's own message whose acknowledgement was lost comes back in a join's history (after a
      // reconnect) before its resend is answered: held until that send settles, and dropped when
      // the service answers it with this seq (it is then reported as `sent`, not as `message`).
      const mine = this.ownRoles.includes(m.from.role) ? this.queue.unacknowledged(m.chatId, m.text) : null;
      if (mine) {
        mine.then(
          (sent) => sent.seq !== m.seq && this.fire('message', m),
          () => this.fire('message', m),
        );
        continue;
      }
      this.fire('message', m);
    }
    const inbox = this.inbox(chatId);
    const timer = this.gapTimers.get(chatId);
    if (!inbox.hasGap()) {
      if (timer) clearTimeout(timer);
      this.gapTimers.delete(chatId);
    } else if (!timer) {
      this.gapTimers.set(
        chatId,
        setTimeout(() => {
          this.gapTimers.delete(chatId);
          if (this.inbox(chatId).hasGap()) this.gapTimedOut(chatId);
        }, this.gapWaitMs),
      );
    }
  }

  // Resolves once connected; rejects when the client closes (with the reason) or after `ms`.
  protected connectedWithin(ms = Infinity): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this.closedWith ?? new ClientError('unavailable', 'client closed'));
    return new Promise<void>((resolve, reject) => {
      const timer =
        ms === Infinity
          ? null
          : setTimeout(() => {
              off();
              reject(new ClientError('unavailable', 'not connected'));
            }, ms);
      const off = this.on('status', (s) => {
        if (s.state !== 'connected' && s.state !== 'closed') return;
        if (timer) clearTimeout(timer);
        off();
        if (s.state === 'connected') resolve();
        else reject(this.closedWith ?? new ClientError('unavailable', 'client closed'));
      });
    });
  }

  // Closed for good by the service's doing: refused, or disconnected with no way back.
  private fail(err: ClientError): void {
    this.closedWith ??= err;
    this.fire('error', err);
    this.shutDown();
    this.setState('closed', err.message);
  }

  private shutDown(): void {
    this.queue.close(this.closedWith ?? new ClientError('unavailable', 'client closed'));
    for (const t of this.gapTimers.values()) clearTimeout(t);
    this.gapTimers.clear();
    this.socket.close();
  }

  private setState(state: ConnectionState, reason?: string): void {
    if (this.state === state && state !== 'disconnected') return;
    this.state = state;
    this.fire('status', reason === undefined ? { state } : { state, reason });
  }
}
