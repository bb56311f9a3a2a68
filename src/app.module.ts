import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { AccessAuditService } from './audit/access-audit.service';
import { AuditService } from './audit/audit.service';
import { RateLimiter } from './common/rate-limiter';
import { SocketDispatcher } from './socket/socket-dispatcher';
import { AuthGuard } from './auth/auth.guard';
import { TokenService } from './auth/token.service';
import { AgentGateway } from './socket/agent.gateway';
import { ChatCreationService } from './chat/chat-creation.service';
import { ChatEventBus } from './chat/chat-events';
import { ChatJournal } from './chat/chat-journal';
import { ChatLifecycleService } from './chat/chat-lifecycle.service';
import { ChatMessagesService } from './chat/chat-messages.service';
import { ChatTransactions } from './chat/chat-transactions';
import { RecordingControlsService } from './chat/recording-controls.service';
import { CustomerGateway } from './socket/customer.gateway';
import { FlowController } from './chat/flow.controller';
import { IdleSweeper } from './chat/idle-sweeper';
import { MessageStore } from './chat/message-store';
import { SocketNotifier } from './socket/socket-notifier';
import { Clock } from './common/clock';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { CompanyService } from './company/company.service';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ChatEndedListener } from './export/chat-ended.listener';
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
import { TranscriptService } from './transcript/transcript.service';

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
        ChatEventBus,
        ChatTransactions,
        ChatJournal,
        ChatCreationService,
        ChatLifecycleService,
        ChatMessagesService,
        RecordingControlsService,
        SocketNotifier,
        ChatEndedListener,
        CustomerGateway,
        AgentGateway,
        IdleSweeper,
        RetentionService,
        RateLimiter,
        AccessAuditService,
        SocketDispatcher,
        TranscriptService,
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
