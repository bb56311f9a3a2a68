import { Module } from '@nestjs/common';
import { ProfileRepository } from './profile.repository';
import { ProfileService } from './profile.service';

// Rendering and naming are plain functions (recording-renderer.ts, filename-template.ts); the
// module holds the profiles they are configured by.
// ProfileRepository stays inside: other features use ProfileService.
@Module({ providers: [ProfileRepository, ProfileService], exports: [ProfileService] })
export class TranscriptModule {}
