import { AuditModule } from '../audit/audit.module';
import { CompanyModule } from '../company/company.module';
import { Module } from '@nestjs/common';
import { ExportModule } from '../export/export.module';
import { TranscriptModule } from '../transcript/transcript.module';
import { RecordingAdminService } from './recording-admin.service';
import { RecordingErasureService } from './recording-erasure.service';
import { RecordingDelivery } from './recording-delivery';
import { RecordingSnapshots } from './recording-snapshots';
import { RecordingRepository } from './recording.repository';
import { RecordingService } from './recording.service';

// Recording bookkeeping, outcomes, snapshots, and the delivery jobs' source.
@Module({
  imports: [AuditModule, CompanyModule, ExportModule, TranscriptModule],
  providers: [RecordingRepository, RecordingService, RecordingSnapshots, RecordingDelivery, RecordingAdminService, RecordingErasureService],
  exports: [RecordingService, RecordingAdminService, RecordingErasureService],
})
export class RecordingModule {}
