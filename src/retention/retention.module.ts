import { Module } from '@nestjs/common';
import { RecordingModule } from '../recording/recording.module';
import { RetentionService } from './retention.service';

// The retention sweep. AuditService, CompanyDirectory and ChatRecords come from
// InterimProvidersModule until the audit, company and chat modules exist.
@Module({ imports: [RecordingModule], providers: [RetentionService] })
export class RetentionModule {}
