import { AuditModule } from '../audit/audit.module';
import { ChatRecordsModule } from '../chat/chat-records.module';
import { CompanyModule } from '../company/company.module';
import { Module } from '@nestjs/common';
import { RecordingModule } from '../recording/recording.module';
import { RetentionService } from './retention.service';

// The retention sweep.
@Module({ imports: [AuditModule, CompanyModule, ChatRecordsModule, RecordingModule], providers: [RetentionService] })
export class RetentionModule {}
