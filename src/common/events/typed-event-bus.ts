import { Logger } from '@nestjs/common';

// An event name -> payload map (immich's EventMap). Features declare their own; the bus is generic.
export type EventMap = { [event: string]: object };
export type Listener<M extends EventMap, E extends keyof M> = (payload: M[E]) => void;

// A typed in-process emitter for work that must follow a commit (notify sockets, wake a worker).
// Emitters fire only after their transaction committed (see AfterCommit); listeners run in the
// order they subscribed, synchronously, and a failing listener is logged, never thrown back at the
// caller whose change has already committed.
export class TypedEventBus<M extends EventMap> {
  private readonly logger = new Logger(TypedEventBus.name);
  private readonly listeners = new Map<keyof M, Listener<M, keyof M>[]>();

  on<E extends keyof M>(event: E, listener: Listener<M, E>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<M, keyof M>);
    this.listeners.set(event, list);
  }

  emit<E extends keyof M>(event: E, payload: M[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(payload);
      } catch (err) {
        this.logger.error(`listener of ${String(event)} failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
  }
}

// Events raised inside a transaction, held until it commits and dropped if it rolls back.
export class AfterCommit<M extends EventMap> {
  private readonly pending: { [E in keyof M]: [E, M[E]] }[keyof M][] = [];

  constructor(private readonly bus: TypedEventBus<M>) {}

  emit<E extends keyof M>(event: E, payload: M[E]): void {
    this.pending.push([event, payload]);
  }

  // Called by the transaction's owner once the commit returned.
  flush(): void {
    for (const [event, payload] of this.pending.splice(0)) this.bus.emit(event, payload);
  }
}
