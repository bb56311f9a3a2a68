import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SecurityModule } from '../security/security.module';
import { DeliveryJobRepository } from './delivery-job.repository';
import { DeliveryOutbox } from './delivery-outbox';
import { DeliverySpool } from './delivery-spool';
import { DeliverySignal } from './delivery-signal';
import { DeliveryWorker } from './delivery.worker';
import { ExportTargetService } from './export-target.service';
import { TargetAddressPolicy } from './target-address-policy';
import { DeliveryTransport } from './transport';
import { TransportRegistry } from './transport.registry';

// The outbox, its worker and the transports: moves files to the company's target and reports
// outcomes to the feature that serves the jobs (DeliveryWorker.serve).
@Module({
  imports: [SecurityModule],
  providers: [
    ExportTargetService,
    { provide: TargetAddressPolicy, useFactory: (c: AppConfig) => TargetAddressPolicy.fromConfig(c), inject: [AppConfig] },
    TransportRegistry,
    { provide: DeliveryTransport, useExisting: TransportRegistry },
    DeliverySignal,
    DeliveryJobRepository,
    DeliveryOutbox,
    DeliverySpool,
    DeliveryWorker,
  ],
  exports: [ExportTargetService, TargetAddressPolicy, DeliveryTransport, DeliverySignal, DeliveryOutbox, DeliverySpool, DeliveryWorker],
})
export class ExportModule {}
