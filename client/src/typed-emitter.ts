type Listener<T> = (payload: T) => void;

// A small event emitter typed by an event map; a throwing listener never breaks the library.
export class TypedEmitter<M extends object> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  on<E extends keyof M>(event: E, listener: Listener<M[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<E extends keyof M>(event: E, listener: Listener<M[E]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<E extends keyof M>(event: E, listener: Listener<M[E]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  protected fire<E extends keyof M>(event: E, payload: M[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<M[E]>)(payload);
      } catch (err) {
        console.error(`listener of ${String(event)} failed`, err);
      }
    }
  }
}
