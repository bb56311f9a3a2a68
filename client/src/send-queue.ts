import { ClientError, isRetryable } from './client-error.js';
import type { AckOf, MessageReply } from './protocol.js';

export interface SentMessage {
  chatId: string;
  clientMsgId: string;
  text: string;
  seq: number;
  at: string;
}

interface Pending {
  chatId: string;
  clientMsgId: string;
  text: string;
  payload: object;
  attempts: number;
  settled: boolean;
  // What enqueue returned: settles as the message does.
  done: Promise<SentMessage>;
  resolve(sent: SentMessage): void;
  reject(err: Error): void;
}

export interface SendQueueHooks {
  connected(): boolean;
  // Emits `message` and calls back once: with the acknowledgement, or with an error (no answer in
  // time, or the connection dropped).
  emit(payload: object, timeoutMs: number, done: (err: Error | null, ack?: AckOf<MessageReply>) => void): void;
  sent(m: SentMessage): void;
  resend(m: { chatId: string; clientMsgId: string; attempt: number }): void;
  // A refusal to try again besides `unavailable` and `rate_limited` (the connection's `token
  // expired` when a fresh token will come).
  retryable?(error: { code: string; message: string }): boolean;
}

// The contract's resend rule (section 3), in memory: messages wait in order; the head is sent
// when connected and sent again with the same clientMsgId after a disconnect, a reconnect, a
// missing answer or a `unavailable`/`rate_limited` refusal, until it is acknowledged. One message
// is in flight at a time, so that a retried message can never be stored after a later one.
export class SendQueue {
  private readonly items: Pending[] = [];
  private inFlight: Pending | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private backoffMs: number;
  private closed: Error | null = null;

  constructor(
    private readonly hooks: SendQueueHooks,
    private readonly opts: { ackTimeoutMs: number; retryDelayMs: number; maxRetryDelayMs: number },
  ) {
    this.backoffMs = opts.retryDelayMs;
  }

  get pending(): number {
    return this.items.length;
  }

  enqueue(chatId: string, clientMsgId: string, text: string, payload: object): Promise<SentMessage> {
    if (this.closed) return Promise.reject(this.closed);
    let resolve!: (sent: SentMessage) => void;
    let reject!: (err: Error) => void;
    const done = new Promise<SentMessage>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.items.push({ chatId, clientMsgId, text, payload, attempts: 0, settled: false, done, resolve, reject });
    this.pump();
    return done;
  }

  // The first message of this chat with this text still waiting for its acknowledgement: a message
  // the service reports with it (a join's history after a lost acknowledgement) may be that one.
  unacknowledged(chatId: string, text: string): Promise<SentMessage> | null {
    return this.items.find((p) => !p.settled && p.chatId === chatId && p.text === text)?.done ?? null;
  }

  // The connection is (back) up: send the head again.
  connected(): void {
    this.pump();
  }

  // The connection dropped: whatever was in flight is sent again after the reconnect.
  disconnected(): void {
    this.inFlight = null;
    this.attempt++;
  }

  // Final: every message still waiting is refused with this error.
  close(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const p of this.items.splice(0)) this.settle(p, () => p.reject(err));
    this.inFlight = null;
  }

  private pump(): void {
    if (this.closed || this.inFlight || this.retryTimer || this.items.length === 0 || !this.hooks.connected()) return;
    const p = this.items[0];
    this.inFlight = p;
    p.attempts++;
    if (p.attempts > 1) this.hooks.resend({ chatId: p.chatId, clientMsgId: p.clientMsgId, attempt: p.attempts });
    const attempt = ++this.attempt;
    this.hooks.emit(p.payload, this.opts.ackTimeoutMs, (err, ack) => this.answered(p, attempt, err, ack));
  }

  private answered(p: Pending, attempt: number, err: Error | null, ack?: AckOf<MessageReply>): void {
    if (p.settled) return;
    if (!err && ack?.ok) {
      // Any attempt's acknowledgement counts: the service answers a resend with the same seq.
      this.remove(p);
      this.backoffMs = this.opts.retryDelayMs;
      const sent: SentMessage = { chatId: p.chatId, clientMsgId: p.clientMsgId, text: p.text, seq: ack.seq, at: ack.at };
      this.settle(p, () => p.resolve(sent));
      this.hooks.sent(sent);
      this.pump();
      return;
    }
    if (attempt !== this.attempt || this.inFlight !== p) return; // an abandoned attempt
    this.inFlight = null;
    if (err || !ack) {
      this.pump(); // no answer in time: the same message again (or after the reconnect)
    } else if (!ack.ok && (isRetryable(ack.error.code) || this.hooks.retryable?.(ack.error))) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxRetryDelayMs);
    } else if (!ack.ok) {
      this.remove(p);
      this.settle(p, () => p.reject(new ClientError(ack.error.code, ack.error.message)));
      this.pump();
    }
  }

  private remove(p: Pending): void {
    const i = this.items.indexOf(p);
    if (i >= 0) this.items.splice(i, 1);
    if (this.inFlight === p) this.inFlight = null;
  }

  private settle(p: Pending, fn: () => void): void {
    p.settled = true;
    fn();
  }
}
