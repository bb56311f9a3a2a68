import fc from 'fast-check';
import { OrderedInbox } from './ordered-inbox.js';
import type { MessageView } from './protocol.js';

const msg = (seq: number): MessageView => ({ chatId: 'c', seq, from: { role: 'agent', name: 'A' }, text: `m${seq}`, at: '2026-01-01T00:00:00.000Z' });
const seqs = (ms: MessageView[]) => ms.map((m) => m.seq);

describe('OrderedInbox', () => {
  it('releases in order, holds a message after a gap until the gap fills, drops duplicates', () => {
    const inbox = new OrderedInbox();
    expect(seqs(inbox.receive(msg(1)))).toEqual([1]);
    expect(seqs(inbox.receive(msg(3)))).toEqual([]);
    expect(inbox.hasGap()).toBe(true);
    expect(seqs(inbox.receive(msg(2)))).toEqual([2, 3]);
    expect(seqs(inbox.receive(msg(2)))).toEqual([]);
    expect(seqs(inbox.receive(msg(3)))).toEqual([]);
    expect(inbox.hasGap()).toBe(false);
  });

  it("counts one's own acknowledged seq as filling the gap, without releasing it", () => {
    const inbox = new OrderedInbox();
    expect(seqs(inbox.account(1))).toEqual([]);
    expect(seqs(inbox.receive(msg(3)))).toEqual([]);
    expect(seqs(inbox.account(2))).toEqual([3]);
  });

  it("never releases one's own message from a history, when its acknowledgement came while a gap was open", () => {
    // After a reconnect the resend of a message whose first ack was lost is answered (seq 5)
    // before the rejoin's history, which holds it, comes in: the history must not release it.
    const inbox = new OrderedInbox();
    expect(seqs(inbox.receive(msg(1)))).toEqual([1]);
    expect(seqs(inbox.account(5))).toEqual([]);
    expect(seqs(inbox.merge([msg(1), msg(2), msg(3), msg(4), msg(5), msg(6)]))).toEqual([2, 3, 4, 6]);
    // Nor a relay of it.
    const other = new OrderedInbox();
    other.receive(msg(1));
    other.account(3);
    expect(seqs(other.receive(msg(3)))).toEqual([]);
    expect(seqs(other.receive(msg(2)))).toEqual([2]);
  });

  it('merges a history: what was released is not released again, gaps below its end are given up', () => {
    const inbox = new OrderedInbox();
    inbox.receive(msg(1));
    inbox.receive(msg(2));
    inbox.receive(msg(6));
    expect(seqs(inbox.merge([msg(1), msg(2), msg(3), msg(5), msg(6)]))).toEqual([3, 5, 6]);
    expect(inbox.lastSeq).toBe(6);
    expect(seqs(inbox.receive(msg(7)))).toEqual([7]);
  });

  it('skipGaps releases what waits, in order', () => {
    const inbox = new OrderedInbox();
    inbox.receive(msg(1));
    inbox.receive(msg(5));
    inbox.receive(msg(4));
    expect(seqs(inbox.skipGaps())).toEqual([4, 5]);
    expect(seqs(inbox.receive(msg(3)))).toEqual([]);
  });

  it('any arrival order with duplicates releases every seq once and in increasing order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 40 }), { maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }),
        (arrivals, historyCut) => {
          const inbox = new OrderedInbox();
          const out = [...inbox.receive(msg(1))];
          for (const s of arrivals) out.push(...inbox.receive(msg(s)));
          const upTo = Math.max(1, ...historyCut);
          out.push(...inbox.merge(Array.from({ length: upTo }, (_, i) => msg(i + 1))));
          out.push(...inbox.skipGaps());
          const released = seqs(out);
          expect(new Set(released).size).toBe(released.length);
          expect([...released].sort((a, b) => a - b)).toEqual(released);
          for (let s = 1; s <= upTo; s++) expect(released).toContain(s);
        },
      ),
      { numRuns: 500 },
    );
  });
});
