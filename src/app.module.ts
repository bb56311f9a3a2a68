import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ChatModule } from './chat/chat.module';
import { CommonModule } from './common/common.module';
import { CompanyModule } from './company/company.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DemoModule } from './demo/demo.module';
import { ErasureModule } from './erasure/erasure.module';
import { ExportModule } from './export/export.module';
import { HealthModule } from './health/health.module';
import { HttpModule } from './http/http.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { RecordingModule } from './recording/recording.module';
import { RetentionModule } from './retention/retention.module';
import { SecurityModule } from './security/security.module';
import { SocketModule } from './socket/socket.module';
import { TranscriptModule } from './transcript/transcript.module';
import { ENTITIES } from './wiring/entities';
import { WiringModule } from './wiring/wiring.module';

// Imports modules only; each feature module imports what it uses and exports its public services.
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        MetricsModule,
        DatabaseModule.forRoot(ENTITIES),
        CommonModule,
        AuditModule,
        AuthModule,
        CompanyModule,
        SecurityModule,
        TranscriptModule,
        ExportModule,
        RecordingModule,
        RetentionModule,
        ChatModule,
        SocketModule,
        AdminModule,
        ErasureModule,
        HealthModule,
        HttpModule,
        WiringModule,
        DemoModule.forRoot(config),
      ],
    };
  }
}
