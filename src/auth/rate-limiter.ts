import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { Principal } from './principal';
import { CountedLimit, LimitShape, memoryLimit, RedisLimits } from './rate-limit-backend';

interface Bucket {
  tokens: number;
  last: number;
}

// A token bucket: a sustained rate with bursts of twice that. Per socket, kept on the socket: a
// socket lives on one instance, so this one never needs Redis.
export class TokenBucket {
  private readonly b: Bucket;
  constructor(
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.b = { tokens: perSecond * 2, last: now };
  }

  take(now = Date.now()): boolean {
    const burst = this.perSecond * 2;
    this.b.tokens = Math.min(burst, this.b.tokens + ((now - this.b.last) / 1000) * this.perSecond);
    this.b.last = now;
    if (this.b.tokens < 1) return false;
    this.b.tokens -= 1;
    return true;
  }
}

// The limits of a credential (across its sockets and REST calls) and of the export-target check
// (per company), counted by rate-limiter-flexible: in Redis when REDIS_URL is set, so that every
// instance shares one count, else on this instance. A rate R per second is R * 2 events per
// two-second window, which keeps the burst of twice the rate and the sustained rate of the token
// buckets these replaced (see docs/rate-limits.md).
@Injectable()
export class RateLimiter implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('RateLimits');
  private readonly redis: RedisLimits | null;
  private readonly user: CountedLimit;
  private readonly server: CountedLimit;
  private readonly exportCheck: CountedLimit;

  constructor(private readonly config: AppConfig) {
    const { redisUrl } = config;
    this.redis = redisUrl ? new RedisLimits(redisUrl, config.rateLimit.redisKeyPrefix) : null;
    const limit = (shape: LimitShape) => (this.redis ? this.redis.limit(shape) : memoryLimit(shape, this.log));
    const perTwoSeconds = (name: string, perSecond: number) => limit({ name, points: perSecond * 2, durationSeconds: 2 });
    this.user = perTwoSeconds('credential', config.rateLimit.tokenPerSecond);
    // Server-side credentials (a flow serves every chat of a company) have their own, larger rate.
    this.server = perTwoSeconds('server-credential', config.rateLimit.serverTokenPerSecond);
    // Export-target checks connect somewhere on an administrator's say-so: a few per minute per
    // company, whoever asks.
    this.exportCheck = limit({ name: 'export-target-check', points: config.exportTargetChecksPerMinute, durationSeconds: 60 });
  }

  onModuleInit(): void {
    this.redis?.connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.close();
  }

  takeForPrincipal(p: Principal): Promise<boolean> {
    const serverSide = p.role === 'flow' || p.role === 'admin';
    return (serverSide ? this.server : this.user).take(credentialKey(p));
  }

  takeExportTargetCheck(company: string): Promise<boolean> {
    return this.exportCheck.take(company);
  }

  newSocketBucket(): TokenBucket {
    return new TokenBucket(this.config.rateLimit.socketPerSecond);
  }
}

// The credential's counter: its company, role and subject. A socket's principal is one object for
// the socket's life and this runs for each of its events, so the key is built once per principal.
const credentialKeys = new WeakMap<Principal, string>();
function credentialKey(p: Principal): string {
  let key = credentialKeys.get(p);
  if (key === undefined) credentialKeys.set(p, (key = JSON.stringify([p.company, p.role, p.sub])));
  return key;
}
