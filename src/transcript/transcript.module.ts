import { Module } from '@nestjs/common';
import { ProfileRepository } from './profile.repository';
import { ProfileService } from './profile.service';

// Rendering and naming are plain functions (recording-renderer.ts, filename-template.ts); the
// module holds the profiles they are configured by.
// AuditService and CompanyDirectory come from InterimProvidersModule until the audit and company
// modules exist.
@Module({ providers: [ProfileRepository, ProfileService], exports: [ProfileRepository, ProfileService] })
export class TranscriptModule {}
