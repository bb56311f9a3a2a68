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

  it('limits per credential, with a larger allowance for flow and admin', () => {
    const r = new RateLimiter(loadConfig({ RATE_LIMIT_TOKEN_PER_SECOND: '5', RATE_LIMIT_SERVER_TOKEN_PER_SECOND: '500' }));
    const agent = { sub: 'a', company: 'c', role: 'agent' as const };
    const other = { sub: 'b', company: 'c', role: 'agent' as const };
    const flow = { sub: 'f', company: 'c', role: 'flow' as const };
    let a = 0;
    for (let i = 0; i < 100; i++) if (r.takeForPrincipal(agent, 0)) a++;
    expect(a).toBe(10);
    expect(r.takeForPrincipal(other, 0)).toBe(true);
    let f = 0;
    for (let i = 0; i < 2000; i++) if (r.takeForPrincipal(flow, 0)) f++;
    expect(f).toBe(1000);
  });
});
