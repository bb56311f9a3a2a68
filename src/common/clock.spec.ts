import { isoTime } from './clock';

describe('isoTime', () => {
  it('prints what toISOString prints, whichever Date comes in and in whatever order', () => {
    const base = Date.UTC(2026, 11, 1, 10, 0, 0, 123);
    const times = [base, base, base + 1, base, -1, 0, 253402300799999, base + 86_400_000, base + 86_400_000];
    for (const t of times) {
      const d = new Date(t);
      expect(isoTime(d)).toBe(d.toISOString());
      // Another Date of the same time, then the same Date moved to another time.
      expect(isoTime(new Date(t))).toBe(d.toISOString());
      d.setTime(t + 7);
      expect(isoTime(d)).toBe(new Date(t + 7).toISOString());
    }
  });

  it('throws on an invalid Date, as toISOString does', () => {
    expect(() => isoTime(new Date(NaN))).toThrow(RangeError);
  });
});
