import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { CompanyModule } from '../company/company.module';
import { SecurityModule } from '../security/security.module';
import { ChatCreationService } from './chat-creation.service';
import { ChatErasureService } from './chat-erasure.service';
import { ChatHoldService } from './chat-hold.service';
import { RecordingModule } from '../recording/recording.module';
import { ChatEventsModule } from './chat-events.module';
import { ChatRecordsModule } from './chat-records.module';
import { ChatJournal } from './chat-journal';
import { ChatLifecycleService } from './chat-lifecycle.service';
import { ChatMessagesService } from './chat-messages.service';
import { ChatTransactions } from './chat-transactions';
import { ChatViewsService } from './chat-views.service';
import { FlowController } from './flow.controller';
import { IdleSweeper } from './idle-sweeper';
import { MessageStore } from './message-store';
import { RecordingControlsService } from './recording-controls.service';

// Chats: their life, messages and recording controls, and the flow's REST side.
@Module({
  imports: [AuditModule, AuthModule, CompanyModule, SecurityModule, ChatEventsModule, ChatRecordsModule, RecordingModule],
  controllers: [FlowController],
  providers: [
    ChatTransactions,
    ChatJournal,
    ChatCreationService,
    ChatLifecycleService,
    ChatMessagesService,
    RecordingControlsService,
    ChatViewsService,
    MessageStore,
    IdleSweeper,
    ChatHoldService,
    ChatErasureService,
  ],
  exports: [
    ChatEventsModule,
    ChatRecordsModule,
    ChatLifecycleService,
    ChatMessagesService,
    RecordingControlsService,
    ChatViewsService,
    MessageStore,
    ChatHoldService,
    ChatErasureService,
  ],
})
export class ChatModule {}
