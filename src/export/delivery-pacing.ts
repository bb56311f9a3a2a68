import { randomInt } from 'node:crypto';

// A counting semaphore: run() waits for a free slot.
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export function backoffMs(attempt: number, baseMs: number, maxMs: number, rand: (n: number) => number = (n) => randomInt(Math.max(1, n))): number {
  // Exponential with full jitter over the upper half, so retries of many files spread out.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  const half = Math.floor(ceiling / 2);
  return half + rand(ceiling - half + 1);
}
