import { Global, Module } from '@nestjs/common';
import { AppMetrics } from './app-metrics';

// One metrics registry per app instance, for every feature that counts or times something.
@Global()
@Module({
  providers: [{ provide: AppMetrics, useFactory: () => new AppMetrics().collectProcessMetrics() }],
  exports: [AppMetrics],
})
export class MetricsModule {}
