import { DynamicModule, Global, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ChatModule } from './chat/chat.module';
import { CommonModule } from './common/common.module';
import { CompanyModule } from './company/company.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ChatEndedListener } from './export/chat-ended.listener';
import { DeliverySignal } from './export/delivery-signal';
import { DeliveryWorker } from './export/delivery.worker';
import { ExportTargetService } from './export/export-target.service';
import { TargetAddressPolicy } from './export/target-address-policy';
import { DeliveryTransport } from './export/transport';
import { TransportRegistry } from './export/transport.registry';
import { HealthModule } from './health/health.module';
import { HttpModule } from './http/http.module';
import { RecordingService } from './recording/recording.service';
import { RetentionService } from './retention/retention.service';
import { SecurityModule } from './security/security.module';
import { SocketModule } from './socket/socket.module';
import { TranscriptService } from './transcript/transcript.service';

// TEMPORARY: the recording, transcript, export and retention providers, until those features have
// modules of their own (issue 11, the other half of item 5). Global so that the feature modules
// above can inject them meanwhile; the modules that replace it say what they export.
@Global()
@Module({
  imports: [AuditModule, CompanyModule, SecurityModule, ChatModule],
  providers: [
    RecordingService,
    TranscriptService,
    RetentionService,
    ExportTargetService,
    DeliverySignal,
    { provide: TargetAddressPolicy, useFactory: (c: AppConfig) => TargetAddressPolicy.fromConfig(c), inject: [AppConfig] },
    TransportRegistry,
    { provide: DeliveryTransport, useExisting: TransportRegistry },
    DeliveryWorker,
    ChatEndedListener,
  ],
  exports: [RecordingService, TranscriptService, ExportTargetService, DeliverySignal, TargetAddressPolicy, DeliveryTransport, DeliveryWorker],
})
class PendingFeaturesModule {}

// Imports modules only; each feature module imports what it uses and exports its public services.
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        CommonModule,
        AuditModule,
        AuthModule,
        CompanyModule,
        SecurityModule,
        PendingFeaturesModule,
        ChatModule,
        SocketModule,
        AdminModule,
        HealthModule,
        HttpModule,
      ],
    };
  }
}
