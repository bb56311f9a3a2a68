import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { Principal } from './principal';

interface Bucket {
  tokens: number;
  last: number;
}

// Token buckets: a sustained rate with bursts of twice that. Per socket (kept on the socket) and
// per credential (kept here, across a token's sockets and REST calls, on this instance).
export class TokenBucket {
  private readonly b: Bucket;
  constructor(
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.b = { tokens: perSecond * 2, last: now };
  }

  take(now = Date.now()): boolean {
    return takeFrom(this.b, this.perSecond, now);
  }
}

function takeFrom(b: Bucket, perSecond: number, now: number, burst = perSecond * 2): boolean {
  b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * perSecond);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAt = Date.now() + 60_000;

  constructor(private readonly config: AppConfig) {}

  // Server-side credentials (a flow serves every chat of a company) have their own, larger rate.
  perSecondFor(p: Principal): number {
    return p.role === 'flow' || p.role === 'admin' ? this.config.rateLimit.serverTokenPerSecond : this.config.rateLimit.tokenPerSecond;
  }

  takeForPrincipal(p: Principal, now = Date.now()): boolean {
    const key = `${p.company}\u0000${p.role}\u0000${p.sub}`;
    const rate = this.perSecondFor(p);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: rate * 2, last: now };
      this.buckets.set(key, b);
    }
    if (now > this.sweepAt) this.sweep(now);
    return takeFrom(b, rate, now);
  }

  // Export-target checks connect somewhere on an administrator's say-so: a few per minute per
  // company (bursts of the same number), whoever asks.
  takeExportTargetCheck(company: string, now = Date.now()): boolean {
    const perMinute = this.config.exportTargetChecksPerMinute;
    const key = `export-target-check\u0000${company}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: perMinute, last: now };
      this.buckets.set(key, b);
    }
    if (now > this.sweepAt) this.sweep(now);
    return takeFrom(b, perMinute / 60, now, perMinute);
  }

  newSocketBucket(): TokenBucket {
    return new TokenBucket(this.config.rateLimit.socketPerSecond);
  }

  // Full buckets carry no state worth keeping.
  private sweep(now: number): void {
    this.sweepAt = now + 60_000;
    // A check bucket refills within a minute; two minutes idle is full for every kind.
    for (const [k, b] of this.buckets) if (now - b.last > 120_000) this.buckets.delete(k);
  }
}
