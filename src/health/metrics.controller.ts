import { Controller, Get, Header, Logger } from '@nestjs/common';
import { DeliveryOutbox } from '../export/delivery-outbox';
import { AppMetrics } from '../metrics/app-metrics';

const OUTBOX_STATES = ['queued', 'failed', 'done'] as const;

// Prometheus text format: this instance's registry (prom-client), plus the shared outbox's depth
// read from the database at each scrape.
@Controller('metrics')
export class MetricsController {
  private readonly logger = new Logger(MetricsController.name);

  constructor(
    private readonly outbox: DeliveryOutbox,
    private readonly appMetrics: AppMetrics,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    try {
      const rows = await this.outbox.depth();
      for (const state of OUTBOX_STATES) this.appMetrics.outboxJobs.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
    } catch (err) {
      // The rest of the metrics are still worth serving; the gauge goes missing rather than stale.
      this.appMetrics.outboxJobs.reset();
      this.logger.warn({ msg: `outbox depth unavailable: ${(err as Error).message}` });
    }
    return this.appMetrics.registry.metrics();
  }
}
