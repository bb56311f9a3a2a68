import fc from 'fast-check';
import { KeptSpan, spansCoverAll } from './chat-facts.port';

// The chat's end sends no purge when the kept spans cover every message: checked here against the
// definition, seq by seq.
function coveredOneByOne(kept: KeptSpan[], nextSeq: number): boolean {
  for (let seq = 1; seq < nextSeq; seq++) {
    if (!kept.some((g) => seq >= g.startSeq && (g.endSeq === null || seq < g.endSeq))) return false;
  }
  return true;
}

describe('spansCoverAll', () => {
  it('answers the usual cases', () => {
    expect(spansCoverAll([], 1)).toBe(true); // no message
    expect(spansCoverAll([], 2)).toBe(false);
    expect(spansCoverAll([{ startSeq: 1, endSeq: 5 }], 5)).toBe(true);
    expect(spansCoverAll([{ startSeq: 1, endSeq: 4 }], 5)).toBe(false); // the last message is outside
    expect(spansCoverAll([{ startSeq: 2, endSeq: 5 }], 5)).toBe(false); // the first is outside
    expect(
      spansCoverAll(
        [
          { startSeq: 3, endSeq: 5 },
          { startSeq: 1, endSeq: 3 },
        ],
        5,
      ),
    ).toBe(true); // in any order
    expect(
      spansCoverAll(
        [
          { startSeq: 1, endSeq: 2 },
          { startSeq: 3, endSeq: 5 },
        ],
        5,
      ),
    ).toBe(false); // a gap at 2
    expect(spansCoverAll([{ startSeq: 1, endSeq: null }], 9)).toBe(true); // open: everything from its start
    expect(spansCoverAll([{ startSeq: 2, endSeq: null }], 9)).toBe(false);
  });

  it('agrees with a seq-by-seq check on random span sets', () => {
    const span = fc.record({ startSeq: fc.integer({ min: 1, max: 12 }), length: fc.integer({ min: 0, max: 8 }), open: fc.boolean() });
    const spans = fc.array(span, { maxLength: 4 }).map((xs) => xs.map((g) => ({ startSeq: g.startSeq, endSeq: g.open ? null : g.startSeq + g.length })));
    let covering = 0;
    let total = 0;
    fc.assert(
      fc.property(spans, fc.integer({ min: 1, max: 12 }), (kept, nextSeq) => {
        const expected = coveredOneByOne(kept, nextSeq);
        total++;
        if (expected) covering++;
        expect(spansCoverAll(kept, nextSeq)).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
    // Both answers were met often enough for the comparison to mean something.
    expect(covering).toBeGreaterThan(total / 20);
    expect(covering).toBeLessThan(total - total / 20);
  });
});
