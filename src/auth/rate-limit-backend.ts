import { Logger } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { createClient } from 'redis';

// One kind of limit: `points` events per `durationSeconds` window, counted per key.
export interface LimitShape {
  name: string;
  points: number;
  durationSeconds: number;
}

// A limit that answers whether one more event is allowed now.
export interface CountedLimit {
  take(key: string): Promise<boolean>;
}

// A Redis that does not answer within this is treated as down for that event.
export const REDIS_ANSWER_TIMEOUT_MS = 250;

function answer(limiter: { consume(key: string): Promise<RateLimiterRes> }, key: string, log: Logger): Promise<boolean> {
  return limiter.consume(key).then(
    () => true,
    (err: unknown) => {
      if (err instanceof RateLimiterRes) return false;
      // Not a refusal but a failure the in-memory insurance could not answer: let the event through
      // rather than refuse every client for a fault of ours.
      log.warn(`rate limit check failed: ${(err as Error)?.message ?? String(err)}`);
      return true;
    },
  );
}

// Counts on this instance only (no REDIS_URL).
export function memoryLimit(shape: LimitShape, log: Logger): CountedLimit {
  const limiter = new RateLimiterMemory({ keyPrefix: shape.name, points: shape.points, duration: shape.durationSeconds });
  return { take: (key) => answer(limiter, key, log) };
}

// The counts of every instance in one Redis. While Redis is unreachable or slow, each instance
// counts in memory with the same limits (the insurance limiter), so a client meets at most the
// limit times the number of instances, and no event waits for Redis to come back.
export class RedisLimits {
  private readonly log = new Logger('RateLimits');
  private readonly client;
  private down = false;

  constructor(
    url: string,
    private readonly keyPrefix: string,
  ) {
    // No offline queue: a command sent while disconnected fails at once (then the insurance answers).
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3000) },
    });
    this.client.on('error', (err: Error) => {
      if (!this.down) this.log.warn(`redis unreachable (${err.message}): rate limits count per instance until it is back`);
      this.down = true;
    });
    this.client.on('ready', () => {
      if (this.down) this.log.log('redis is back: rate limits are shared again');
      this.down = false;
    });
  }

  // Not awaited by the caller: the service starts (and limits in memory) while Redis is down.
  connect(): void {
    this.client.connect().catch((err: unknown) => this.log.warn(`redis: ${(err as Error)?.message ?? String(err)}`));
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close().catch(() => undefined);
    else this.client.destroy();
  }

  limit(shape: LimitShape): CountedLimit {
    const insurance = new RateLimiterMemory({ keyPrefix: shape.name, points: shape.points, duration: shape.durationSeconds });
    const shared = new RateLimiterRedis({
      storeClient: this.client,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      keyPrefix: `${this.keyPrefix}:${shape.name}`,
      points: shape.points,
      duration: shape.durationSeconds,
      // Past the limit the refusal is known here until the window ends: no Redis call for a flood.
      inMemoryBlockOnConsumed: shape.points + 1,
    });
    const guarded = new RLWrapperTimeouts({ limiter: shared, timeoutMs: REDIS_ANSWER_TIMEOUT_MS, insuranceLimiter: insurance });
    return { take: (key) => answer(guarded, key, this.log) };
  }
}
