import type { MessageView } from './protocol.js';

// One chat's received messages, de-duplicated by seq and released in seq order. A message after a
// gap waits until the gap fills (a relay that overtook another, one's own acknowledged message)
// or until the caller gives up on the gap (skipGaps) or merges a join's history (merge).
export class OrderedInbox {
  // Highest seq released or accounted for; null until the first one is known.
  private last: number | null = null;
  private readonly waiting = new Map<number, MessageView>();
  private readonly own = new Set<number>();

  get lastSeq(): number | null {
    return this.last;
  }

  hasGap(): boolean {
    return this.waiting.size > 0;
  }

  // A relayed message: returns the messages to release now, in order.
  receive(m: MessageView): MessageView[] {
    if (this.last === null) this.last = m.seq - 1; // the first one known sets the start
    if (m.seq <= this.last || this.waiting.has(m.seq) || this.own.has(m.seq)) return [];
    this.waiting.set(m.seq, m);
    return this.release();
  }

  // One's own message, acknowledged with this seq (the service does not relay it back).
  account(seq: number): MessageView[] {
    if (this.last === null) this.last = seq - 1;
    if (seq <= this.last) return [];
    this.own.add(seq);
    return this.release();
  }

  // A join's history holds every stored message up to now: what is still missing below its end
  // will never come (a body sent while paused is relayed but not kept), so nothing waits for it.
  merge(history: MessageView[]): MessageView[] {
    for (const m of history) {
      if (this.last !== null && m.seq <= this.last) continue;
      // One's own message, acknowledged while the gap below it was open: already accounted for.
      if (this.own.has(m.seq)) continue;
      if (!this.waiting.has(m.seq)) this.waiting.set(m.seq, m);
    }
    return this.skipGaps();
  }

  // Releases everything waiting, in order, over the gaps.
  skipGaps(): MessageView[] {
    const out = [...this.waiting.values()].sort((a, b) => a.seq - b.seq);
    this.waiting.clear();
    if (out.length > 0) this.last = Math.max(this.last ?? 0, out[out.length - 1].seq);
    for (const s of this.own) if (this.last !== null && s <= this.last) this.own.delete(s);
    return out;
  }

  private release(): MessageView[] {
    const out: MessageView[] = [];
    for (;;) {
      const next = (this.last as number) + 1;
      const m = this.waiting.get(next);
      if (m) {
        this.waiting.delete(next);
        out.push(m);
      } else if (this.own.has(next)) {
        this.own.delete(next);
      } else {
        return out;
      }
      this.last = next;
    }
  }
}
