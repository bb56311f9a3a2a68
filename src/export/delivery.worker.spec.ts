import { backoffMs } from './delivery.worker';

describe('backoffMs', () => {
  it('grows exponentially, is capped, and jitters within the upper half', () => {
    const low = (n: number) => backoffMs(n, 1000, 60_000, () => 0);
    const high = (n: number) => backoffMs(n, 1000, 60_000, (max) => max - 1);
    expect([1, 2, 3, 4].map(low)).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map(high)).toEqual([1000, 2000, 4000, 8000]);
    expect(low(20)).toBe(30_000);
    expect(high(20)).toBe(60_000);
    for (let i = 0; i < 200; i++) {
      const v = backoffMs(3, 1000, 60_000);
      expect(v).toBeGreaterThanOrEqual(2000);
      expect(v).toBeLessThanOrEqual(4000);
    }
  });
});
