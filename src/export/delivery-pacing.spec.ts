import { backoffMs, Slots } from './delivery-pacing';

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

describe('Slots', () => {
  it('runs at most n at a time, in order, and frees a slot when a task fails', async () => {
    const slots = new Slots(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) =>
      slots.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
        order.push(i);
        if (i === 1) throw new Error('boom');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(task));
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await slots.run(async () => 'again')).toBe('again');
  });
});
