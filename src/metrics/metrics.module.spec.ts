import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { AppMetrics } from './app-metrics';
import { MetricsModule } from './metrics.module';

// Tests build several apps in one process: each gets a registry of its own, so registering the
// same metric names (process metrics included) twice never throws and counts never mix.
describe('MetricsModule', () => {
  it('gives each app its own registry', async () => {
    const apps = await Promise.all([1, 2].map(() => Test.createTestingModule({ imports: [MetricsModule] }).compile()));
    const [a, b] = apps.map((app) => app.get(AppMetrics));
    expect(a).not.toBe(b);
    a.messages.inc({ outcome: 'stored' }, 3);
    b.messages.inc({ outcome: 'stored' });
    expect(await a.registry.metrics()).toContain('webchat_messages_total{outcome="stored"} 3');
    expect(await b.registry.metrics()).toContain('webchat_messages_total{outcome="stored"} 1');
    expect(await b.registry.metrics()).toContain('process_cpu_seconds_total');
    await Promise.all(apps.map((app) => app.close()));
  });
});
