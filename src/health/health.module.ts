import { Module } from '@nestjs/common';
import { ExportModule } from '../export/export.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

// /health, and /metrics from the app's registry (MetricsModule, global).
@Module({ imports: [ExportModule], controllers: [HealthController, MetricsController] })
export class HealthModule {}
