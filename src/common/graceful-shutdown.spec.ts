import { Logger } from '@nestjs/common';
import { GracefulShutdown, sleep, waitUntil } from './graceful-shutdown';

describe('GracefulShutdown', () => {
  beforeAll(() => Logger.overrideLogger(false));
  it('runs the steps in order, the hooks of one step side by side, and reports draining from the first moment', async () => {
    const s = new GracefulShutdown();
    const seen: string[] = [];
    let drainingInIntake = false;
    s.register({ step: 'disconnect', name: 'sockets', run: () => void seen.push('disconnect') });
    s.register({ step: 'work', name: 'deliveries', run: () => sleep(30).then(() => seen.push('work')) });
    s.register({
      step: 'intake',
      name: 'claims',
      run: () => {
        drainingInIntake = s.draining;
        seen.push('intake');
      },
    });
    s.register({ step: 'answer', name: 'queue a', run: () => sleep(40).then(() => seen.push('answer a')) });
    s.register({ step: 'answer', name: 'queue b', run: () => sleep(10).then(() => seen.push('answer b')) });
    s.register({ step: 'store', name: 'store', run: () => void seen.push('store') });
    expect(s.draining).toBe(false);
    const t0 = Date.now();
    const reports = await s.drain('SIGTERM', Date.now() + 5000, Date.now() + 6000);
    expect(drainingInIntake).toBe(true);
    expect(s.startedAt).toBeInstanceOf(Date);
    // b finished before a: they ran at the same time; each step waited for all of its hooks.
    expect(seen).toEqual(['intake', 'answer b', 'answer a', 'store', 'work', 'disconnect']);
    expect(reports.map((r) => r.step)).toEqual(['intake', 'answer', 'store', 'work', 'disconnect']);
    expect(reports.every((r) => r.late.length === 0)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    // Once only.
    expect(await s.drain('SIGTERM', Date.now() + 5000, Date.now() + 6000)).toEqual([]);
  });

  it("does not wait past a step's time for a hook that never returns, and names it; a failing hook does not stop the others", async () => {
    const s = new GracefulShutdown();
    let afterwards = false;
    s.register({ step: 'work', name: 'stuck upload', run: () => new Promise<void>(() => undefined) });
    s.register({ step: 'work', name: 'broken', run: () => Promise.reject(new Error('boom')) });
    s.register({ step: 'disconnect', name: 'sockets', run: () => void (afterwards = true) });
    const t0 = Date.now();
    const reports = await s.drain('SIGTERM', Date.now() + 100, Date.now() + 200);
    const work = reports.find((r) => r.step === 'work');
    expect(work?.late).toEqual(['stuck upload']);
    expect(afterwards).toBe(true);
    // The work step's time (100 ms) plus the half-second net, not forever.
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('waitUntil answers whether the condition came true in time', async () => {
    let flag = false;
    setTimeout(() => (flag = true), 30);
    await expect(waitUntil(() => flag, Date.now() + 1000)).resolves.toBe(true);
    await expect(waitUntil(() => false, Date.now() + 50)).resolves.toBe(false);
  });
});
