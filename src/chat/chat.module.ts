import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { CompanyModule } from '../company/company.module';
import { SecurityModule } from '../security/security.module';
import { ChatCreationService } from './chat-creation.service';
import { ChatEventBus } from './chat-events';
import { ChatJournal } from './chat-journal';
import { ChatLifecycleService } from './chat-lifecycle.service';
import { ChatMessagesService } from './chat-messages.service';
import { ChatTransactions } from './chat-transactions';
import { ChatViewsService } from './chat-views.service';
import { FlowController } from './flow.controller';
import { IdleSweeper } from './idle-sweeper';
import { MessageStore } from './message-store';
import { RecordingControlsService } from './recording-controls.service';

// Chats: their life, messages and recording controls, and the flow's REST side. RecordingService
// comes from the recording feature (see app.module.ts until it has its own module).
@Module({
  imports: [AuditModule, AuthModule, CompanyModule, SecurityModule],
  controllers: [FlowController],
  providers: [
    ChatEventBus,
    ChatTransactions,
    ChatJournal,
    ChatCreationService,
    ChatLifecycleService,
    ChatMessagesService,
    RecordingControlsService,
    ChatViewsService,
    MessageStore,
    IdleSweeper,
  ],
  exports: [ChatEventBus, ChatLifecycleService, ChatMessagesService, RecordingControlsService, ChatViewsService, MessageStore],
})
export class ChatModule {}
