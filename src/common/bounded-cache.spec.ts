import { boundedCache } from './bounded-cache';
import { Clock } from './clock';

class MovableClock extends Clock {
  at = 1_000_000;
  override now(): Date {
    return new Date(this.at);
  }
}

describe('boundedCache', () => {
  it('never holds more than its bound, dropping the least recently used entry first', () => {
    const cache = boundedCache<number>({ max: 100, ttlMs: 60_000, clock: new MovableClock() });
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, i);
      if (i === 50) expect(cache.get('k0')).toBe(0); // k0 used again: younger than k1..k50
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.size).toBe(100);
    expect(cache.get('k9999')).toBe(9999);
    expect(cache.get('k9900')).toBe(9900);
    expect(cache.get('k9899')).toBeUndefined();
    expect(cache.get('k0')).toBeUndefined();
  });

  it('forgets an entry after its time to live on the service clock', () => {
    const clock = new MovableClock();
    const cache = boundedCache<string>({ max: 10, ttlMs: 2000, clock });
    cache.set('acme', 'settings v1');
    clock.at += 1999;
    expect(cache.get('acme')).toBe('settings v1');
    clock.at += 2;
    expect(cache.get('acme')).toBeUndefined();
    expect(cache.has('acme')).toBe(false);
  });
});
