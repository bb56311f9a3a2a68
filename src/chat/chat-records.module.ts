import { Module } from '@nestjs/common';
import { SecurityModule } from '../security/security.module';
import { ChatRecords } from './chat-records';

// What other features (recording, retention) may read and purge of a chat's tables, as plain data,
// in a module of its own so that they need not import the chat module (which uses recording).
@Module({ imports: [SecurityModule], providers: [ChatRecords], exports: [ChatRecords] })
export class ChatRecordsModule {}
