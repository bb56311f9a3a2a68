import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { ExportModule } from '../export/export.module';
import { SocketModule } from '../socket/socket.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

// DeliveryWorker comes from the export feature (see app.module.ts until it has its own module).
@Module({ imports: [ChatModule, SocketModule, ExportModule], controllers: [HealthController, MetricsController] })
export class HealthModule {}
