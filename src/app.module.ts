import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { AccessAuditService } from './audit/access-audit.service';
import { AuditService } from './audit/audit.service';
import { RateLimiter } from './common/rate-limiter';
import { SocketDispatcher } from './chat/socket-dispatch';
import { AuthGuard } from './auth/auth.guard';
import { TokenService } from './auth/token.service';
import { AgentGateway } from './chat/agent.gateway';
import { ChatNotifier } from './chat/chat-notifier';
import { ChatService } from './chat/chat.service';
import { CustomerGateway } from './chat/customer.gateway';
import { FlowController } from './chat/flow.controller';
import { IdleSweeper } from './chat/idle-sweeper';
import { MessageStore } from './chat/message-store';
import { SocketNotifier } from './chat/socket-notifier';
import { Clock } from './common/clock';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { CompanyService } from './company/company.service';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DeliverySignal } from './export/delivery-signal';
import { DeliveryWorker } from './export/delivery.worker';
import { ExportTargetService } from './export/export-target.service';
import { DeliveryTransport } from './export/transport';
import { TargetAddressPolicy } from './export/target-address-policy';
import { TransportRegistry } from './export/transport.registry';
import { HealthController } from './health/health.controller';
import { MetricsController } from './health/metrics.controller';
import { RecordingService } from './recording/recording.service';
import { RetentionService } from './retention/retention.service';
import { CryptoService } from './security/crypto.service';
import { ChatRecords } from './chat/chat-records';
import { CompanyDirectory } from './company/company-directory';
import { DeliveryJobRepository } from './export/delivery-job.repository';
import { DeliveryOutbox } from './export/delivery-outbox';
import { RecordingDelivery } from './recording/recording-delivery';
import { RecordingSnapshots } from './recording/recording-snapshots';
import { RecordingRepository } from './recording/recording.repository';
import { ProfileRepository } from './transcript/profile.repository';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule],
      controllers: [FlowController, AdminController, HealthController, MetricsController],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        Clock,
        TokenService,
        AuthGuard,
        CompanyService,
        AuditService,
        CryptoService,
        MessageStore,
        RecordingService,
        ChatService,
        SocketNotifier,
        { provide: ChatNotifier, useExisting: SocketNotifier },
        CustomerGateway,
        AgentGateway,
        IdleSweeper,
        RetentionService,
        RateLimiter,
        AccessAuditService,
        SocketDispatcher,
        ChatRecords,
        CompanyDirectory,
        ProfileRepository,
        RecordingRepository,
        RecordingSnapshots,
        RecordingDelivery,
        DeliveryJobRepository,
        DeliveryOutbox,
        ExportTargetService,
        DeliverySignal,
        { provide: TargetAddressPolicy, useFactory: (c: AppConfig) => TargetAddressPolicy.fromConfig(c), inject: [AppConfig] },
        TransportRegistry,
        { provide: DeliveryTransport, useExisting: TransportRegistry },
        DeliveryWorker,
        AdminService,
      ],
    };
  }
}
