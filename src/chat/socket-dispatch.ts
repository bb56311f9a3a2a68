import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { AppException, toAppException } from '../common/app.exception';
import { validatePayload } from '../common/validate';

export type Ack = (reply: Record<string, unknown>) => void;

export interface EventHandler<T extends object> {
  dto: new () => T;
  // Optional hand-written check for the hottest events (every chat message); it must accept and
  // refuse exactly what the DTO does, which the unit spec checks.
  fast?: (payload: unknown) => T;
  run(socket: Socket, payload: T): Promise<Record<string, unknown> | void>;
}

// Builds a typed event map entry; the generic ties the handler's payload type to its DTO.
export function on<T extends object>(
  dto: new () => T,
  run: (socket: Socket, payload: T) => Promise<Record<string, unknown> | void>,
  fast?: (payload: unknown) => T,
): EventHandler<T> {
  return { dto, run, fast } as EventHandler<T>;
}

export type EventMap = Record<string, EventHandler<object>>;

// One dispatcher for every client event: validates the payload, runs the handler and answers the
// acknowledgement with {ok:true,...} or the contract's {ok:false,error:{code,message}}. Unknown
// events and bad payloads get an error, never a crash.
export function attachDispatcher(socket: Socket, events: EventMap, logger: Logger): void {
  socket.onAny((event: unknown, ...args: unknown[]) => {
    const last = args[args.length - 1];
    const ack: Ack | null = typeof last === 'function' ? (last as Ack) : null;
    const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
    void dispatch(socket, String(event), payload, ack, events, logger);
  });
}

async function dispatch(socket: Socket, event: string, payload: unknown, ack: Ack | null, events: EventMap, logger: Logger): Promise<void> {
  try {
    const handler = Object.prototype.hasOwnProperty.call(events, event) ? events[event] : undefined;
    if (!handler) throw AppException.badRequest(`unknown event "${event.slice(0, 64)}"`);
    const dto = handler.fast ? handler.fast(payload) : validatePayload(handler.dto, payload);
    const result = await handler.run(socket, dto);
    ack?.({ ok: true, ...(result ?? {}) });
  } catch (err) {
    const known = toAppException(err);
    if (known) {
      if (known.code === 'unavailable') logger.warn(`${socket.nsp.name} ${event.slice(0, 64)}: ${known.message}`);
      else logger.debug(`${socket.nsp.name} ${event.slice(0, 64)} refused: ${known.code} ${known.message}`);
      ack?.({ ok: false, error: { code: known.code, message: known.message } });
    } else {
      logger.error(`${socket.nsp.name} ${event.slice(0, 64)} failed: ${(err as Error)?.stack ?? String(err)}`);
      ack?.({ ok: false, error: { code: 'unavailable', message: 'internal error, try again' } });
    }
  }
}
