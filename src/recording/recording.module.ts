import { AuditModule } from '../audit/audit.module';
import { CompanyModule } from '../company/company.module';
import { Module } from '@nestjs/common';
import { ExportModule } from '../export/export.module';
import { SecurityModule } from '../security/security.module';
import { TranscriptModule } from '../transcript/transcript.module';
import { RecordingManifests } from './recording-manifests';
import { RecordingAdminService } from './recording-admin.service';
import { RecordingErasureService } from './recording-erasure.service';
import { RecordingDelivery } from './recording-delivery';
import { RecordingSnapshots } from './recording-snapshots';
import { RecordingRepository } from './recording.repository';
import { RecordingService } from './recording.service';

// Recording bookkeeping, outcomes, snapshots, and the delivery jobs' source.
@Module({
  imports: [AuditModule, CompanyModule, ExportModule, SecurityModule, TranscriptModule],
  providers: [RecordingRepository, RecordingService, RecordingSnapshots, RecordingDelivery, RecordingManifests, RecordingAdminService, RecordingErasureService],
  exports: [RecordingService, RecordingAdminService, RecordingErasureService],
})
export class RecordingModule {}
