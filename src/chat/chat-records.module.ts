import { Global, Module } from '@nestjs/common';
import { RecordingChatFacts } from '../recording/chat-facts.port';
import { SecurityModule } from '../security/security.module';
import { ChatRecords } from './chat-records';
import { MessageChainVerifier } from './message-chain-verifier';

// What other features may read and purge of a chat's tables, as plain data, in a module of its own
// so that they need not import the chat module (which uses recording). It also serves recording's
// port RecordingChatFacts. Global because recording must get that port without importing anything
// of chat (the arrow runs chat -> recording only): a global module's exports reach every module once
// the module is imported somewhere (ChatModule and RetentionModule import it).
@Global()
@Module({
  imports: [SecurityModule],
  providers: [ChatRecords, MessageChainVerifier, { provide: RecordingChatFacts, useExisting: ChatRecords }],
  exports: [ChatRecords, RecordingChatFacts],
})
export class ChatRecordsModule {}
