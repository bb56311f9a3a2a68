import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { ProfileAdminService } from './admin/profile-admin.service';
import { AuthGuard } from './auth/auth.guard';
import { TokenService } from './auth/token.service';
import { AgentGateway } from './chat/agent.gateway';
import { ChatNotifier } from './chat/chat-notifier';
import { ChatService } from './chat/chat.service';
import { CustomerGateway } from './chat/customer.gateway';
import { FlowController } from './chat/flow.controller';
import { IdleSweeper } from './chat/idle-sweeper';
import { MessageStore } from './chat/message-store';
import { SocketDispatcher } from './chat/socket-dispatch';
import { SocketNotifier } from './chat/socket-notifier';
import { CommonModule } from './common/common.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ExportModule } from './export/export.module';
import { HealthController } from './health/health.controller';
import { MetricsController } from './health/metrics.controller';
import { InterimProvidersModule } from './interim-providers.module';
import { RecordingModule } from './recording/recording.module';
import { RetentionModule } from './retention/retention.module';
import { SecurityModule } from './security/security.module';
import { TranscriptModule } from './transcript/transcript.module';

// The chat, socket, auth, admin and health providers below move into their own modules on the
// branch that splits chat (issue 11 item 5); recording, transcript, export, retention, security,
// database and common are modules already.
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        CommonModule,
        SecurityModule,
        InterimProvidersModule,
        TranscriptModule,
        ExportModule,
        RecordingModule,
        RetentionModule,
      ],
      controllers: [FlowController, AdminController, HealthController, MetricsController],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        TokenService,
        AuthGuard,
        MessageStore,
        ChatService,
        SocketNotifier,
        { provide: ChatNotifier, useExisting: SocketNotifier },
        CustomerGateway,
        AgentGateway,
        IdleSweeper,
        SocketDispatcher,
        AdminService,
        ProfileAdminService,
      ],
    };
  }
}
