import { LRUCache } from 'lru-cache';
import type { Clock } from './clock';

// A cache with a bound on its entries (least recently used first out) and a time to live read
// from the service's clock (read on every check: no cached "now"), so that a spec can move time.
export function boundedCache<V extends NonNullable<unknown>>(opts: { max: number; ttlMs: number; clock: Clock }): LRUCache<string, V> {
  return new LRUCache<string, V>({ max: opts.max, ttl: opts.ttlMs, ttlResolution: 0, perf: { now: () => opts.clock.now().getTime() } });
}
