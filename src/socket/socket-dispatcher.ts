import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { AppException, toAppException } from '../common/app.exception';
import { RateLimiter, TokenBucket } from '../auth/rate-limiter';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { assertPlainShape, validatePayload } from '../common/validate';
import { withLogContext } from '../logging/log-context';
import { AppMetrics } from '../metrics/app-metrics';
import { disconnectOnExpiry, principalOf, TOKEN_EXPIRED, tokenExpired } from './socket-handshake';

export type Ack = (reply: Record<string, unknown>) => void;

export interface EventHandler<T extends object> {
  dto: new () => T;
  // Optional hand-written check for the hottest events (every chat message); it must accept and
  // refuse exactly what the DTO does, which the unit spec checks.
  fast?: (payload: unknown) => T;
  run(socket: Socket, payload: T): Promise<Record<string, unknown> | void>;
}

// Builds a typed handler map entry; the generic ties the handler's payload type to its DTO.
export function on<T extends object>(
  dto: new () => T,
  run: (socket: Socket, payload: T) => Promise<Record<string, unknown> | void>,
  fast?: (payload: unknown) => T,
): EventHandler<T> {
  return { dto, run, fast } as EventHandler<T>;
}

// A namespace's handlers, one per client event it handles (see client-events.ts).
export type HandlerMap<E extends string = string> = Record<E, EventHandler<object>>;

const RATE_LIMITED = { ok: false, error: { code: 'rate_limited', message: 'too many events, slow down' } };
const QUEUE_FULL = { ok: false, error: { code: 'rate_limited', message: 'too many events waiting for an answer, slow down' } };
// After a stop began: the client sends again once it has reconnected (to another instance).
export const SHUTTING_DOWN = { ok: false, error: { code: 'unavailable', message: 'this instance is shutting down: send again after reconnecting' } };

// Events of one socket that may wait for the one before them; beyond, they are refused.
export const MAX_QUEUED_EVENTS_PER_SOCKET = 100;

// One dispatcher for every client event: rate limits, validates the payload, runs the handler and
// answers the acknowledgement with {ok:true,...} or the contract's {ok:false,error:{code,message}}.
// Unknown events and bad payloads get an error, never a crash; refused access is audited.
// Each socket's events run one after the other in arrival order (a message sent before chat.end is
// stored before the chat ends); different sockets run in parallel.
@Injectable()
export class SocketDispatcher {
  // Events of every socket read and not yet answered (the graceful stop waits for none).
  private unanswered = 0;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly access: AccessAuditService,
    private readonly metrics: AppMetrics = new AppMetrics(),
    private readonly shutdown: GracefulShutdown = new GracefulShutdown(),
  ) {
    // At a stop, events read before it are answered; later ones are refused (see attach).
    shutdown.register({ step: 'answer', name: 'socket event queues', run: (until) => waitUntil(() => this.unanswered === 0, until) });
  }

  get pendingEvents(): number {
    return this.unanswered;
  }

  attach(socket: Socket, events: HandlerMap, logger: Logger): void {
    const bucket: TokenBucket = this.limiter.newSocketBucket();
    let limitedLogged = 0;
    let queued = 0;
    let tail: Promise<void> = Promise.resolve();
    disconnectOnExpiry(socket);
    this.metrics.connectedSockets.inc({ namespace: socket.nsp.name });
    socket.once('disconnect', () => this.metrics.connectedSockets.dec({ namespace: socket.nsp.name }));
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const clientAck = typeof last === 'function' ? (last as Ack) : null;
      const payload = clientAck ? (args.length > 1 ? args[0] : undefined) : args[0];
      const ack = this.measured(socket, event, events, clientAck);
      if (this.shutdown.draining) {
        ack(SHUTTING_DOWN);
        return;
      }
      if (tokenExpired(socket)) {
        ack(TOKEN_EXPIRED);
        return;
      }
      const refuse = (limited: boolean) => {
        // Logged at most once a minute per socket: a flood must not flood the logs too.
        if (Date.now() - limitedLogged > 60_000) {
          limitedLogged = Date.now();
          const p = principalOf(socket);
          logger.warn({ msg: `${socket.nsp.name}: ${limited ? 'rate limited' : 'event queue full'}`, companyId: p.company, userId: p.sub, chatId: p.chat });
        }
        ack(limited ? RATE_LIMITED : QUEUE_FULL);
      };
      if (!bucket.take()) return refuse(true);
      if (queued >= MAX_QUEUED_EVENTS_PER_SOCKET) return refuse(false);
      queued++;
      this.unanswered++;
      // The credential's count may live in Redis. The event takes its place in the socket's queue
      // now; a refusal is answered as soon as it is known, not in the socket's turn.
      const allowed = this.limiter.takeForPrincipal(principalOf(socket)).then((ok) => {
        if (!ok) {
          queued--;
          this.unanswered--;
          refuse(true);
        }
        return ok;
      });
      // Log lines of the event's handling carry who sent it and which chat it is about.
      const p = principalOf(socket);
      const context = { namespace: socket.nsp.name, event: ack.event, companyId: p.company, userId: p.sub, chatId: p.chat ?? chatIdOf(payload) };
      const run = async () => {
        if (!(await allowed)) return;
        try {
          await withLogContext(context, () => this.dispatch(socket, String(event), payload, ack, events, logger));
        } finally {
          queued--;
          this.unanswered--;
        }
      };
      tail = tail.then(run).catch((err: unknown) => logger.error(`${socket.nsp.name} event failed: ${String(err)}`));
    });
  }

  // The acknowledgement, timed and counted by outcome; an event without one is counted all the same.
  // Unknown event names share one label value: clients do not choose the metric series.
  private measured(socket: Socket, event: unknown, events: HandlerMap, ack: Ack | null): Ack & { event: string } {
    const started = performance.now();
    const name = typeof event === 'string' && Object.prototype.hasOwnProperty.call(events, event) ? event : 'unknown';
    const series = this.seriesOf(socket.nsp.name, name);
    const answer = (reply: Record<string, unknown>) => {
      series.ack.observe((performance.now() - started) / 1000);
      const error = reply.error as { code?: unknown } | undefined;
      series.outcome(reply.ok === true ? 'ok' : String(error?.code ?? 'error')).inc();
      ack?.(reply);
    };
    return Object.assign(answer, { event: name });
  }

  // The labelled series of a namespace's event, resolved once: every message goes through here, and
  // resolving labels per call cost several microseconds. Kept by namespace, then event, so that no
  // key is joined per event. Bounded: namespaces, handled event names (or 'unknown') and outcome
  // codes are fixed sets.
  private readonly series = new Map<string, Map<string, EventSeries>>();

  private seriesOf(namespace: string, event: string): EventSeries {
    let byEvent = this.series.get(namespace);
    if (!byEvent) this.series.set(namespace, (byEvent = new Map()));
    let s = byEvent.get(event);
    if (!s) {
      const outcomes = new Map<string, { inc(): void }>();
      s = {
        ack: this.metrics.ackSeconds.labels({ namespace, event }),
        outcome: (code) => {
          let c = outcomes.get(code);
          if (!c) outcomes.set(code, (c = this.metrics.socketEvents.labels({ namespace, event, outcome: code })));
          return c;
        },
      };
      byEvent.set(event, s);
    }
    return s;
  }

  private async dispatch(socket: Socket, event: string, payload: unknown, ack: Ack, events: HandlerMap, logger: Logger): Promise<void> {
    const name = event.slice(0, 64);
    try {
      // The token may have expired while the event waited for its turn.
      if (tokenExpired(socket)) {
        ack(TOKEN_EXPIRED);
        return;
      }
      const handler = Object.prototype.hasOwnProperty.call(events, event) ? events[event] : undefined;
      if (!handler) throw AppException.badRequest(`unknown event "${name}"`);
      assertPlainShape(payload);
      const dto = handler.fast ? handler.fast(payload) : validatePayload(handler.dto, payload);
      const result = await handler.run(socket, dto);
      ack({ ok: true, ...(result ?? {}) });
    } catch (err) {
      const known = toAppException(err);
      if (known) {
        if (known.code === 'unavailable') logger.warn(`${socket.nsp.name} ${name}: ${known.message}`);
        else logger.debug(`${socket.nsp.name} ${name} refused: ${known.code} ${known.message}`);
        if (known.code === 'forbidden' || known.code === 'not_found') {
          const p = principalOf(socket);
          const chatId = p.chat ?? chatIdOf(payload);
          this.access.denied(p, `${socket.nsp.name} ${name}`, chatId, known.code, known.message);
        }
        ack({ ok: false, error: { code: known.code, message: known.message } });
      } else {
        logger.error(`${socket.nsp.name} ${name} failed: ${(err as Error)?.stack ?? String(err)}`);
        ack({ ok: false, error: { code: 'unavailable', message: 'internal error, try again' } });
      }
    }
  }
}

interface EventSeries {
  ack: { observe(v: number): void };
  outcome: (code: string) => { inc(): void };
}

function chatIdOf(payload: unknown): string | null {
  if (payload && typeof payload === 'object' && typeof (payload as { chatId?: unknown }).chatId === 'string')
    return (payload as { chatId: string }).chatId.slice(0, 100);
  return null;
}
