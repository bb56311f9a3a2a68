import { loadConfig } from '../config/app-config';
import { RateLimiter, TokenBucket } from './rate-limiter';

describe('rate limiting', () => {
  it('allows a burst of twice the rate, then the rate', () => {
    const b = new TokenBucket(10, 0);
    let ok = 0;
    for (let i = 0; i < 50; i++) if (b.take(0)) ok++;
    expect(ok).toBe(20);
    expect(b.take(50)).toBe(false); // 0.5 token refilled
    expect(b.take(100)).toBe(true); // one whole token after 100 ms
    let later = 0;
    for (let i = 0; i < 50; i++) if (b.take(1100)) later++;
    expect(later).toBe(10);
  });

  it('limits per credential, with a larger allowance for flow and admin (in memory without REDIS_URL)', async () => {
    const r = new RateLimiter(loadConfig({ RATE_LIMIT_TOKEN_PER_SECOND: '5', RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '500' }));
    const agent = { sub: 'a', company: 'c', role: 'agent' as const };
    const other = { sub: 'b', company: 'c', role: 'agent' as const };
    const flow = { sub: 'f', company: 'c', role: 'flow' as const };
    const allowed = async (p: typeof agent | typeof flow, n: number) =>
      (await Promise.all(Array.from({ length: n }, () => r.takeForPrincipal(p)))).filter(Boolean).length;
    expect(await allowed(agent, 100)).toBe(10);
    expect(await r.takeForPrincipal(other)).toBe(true);
    expect(await allowed(flow, 2000)).toBe(1000);
  });

  it('allows a few export-target checks per company per minute', async () => {
    const r = new RateLimiter(loadConfig({ EXPORT_TARGET_CHECKS_PER_MINUTE: '3' }));
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await r.takeExportTargetCheck('acme'));
    expect(results).toEqual([true, true, true, false, false]);
    expect(await r.takeExportTargetCheck('other')).toBe(true);
  });
});
