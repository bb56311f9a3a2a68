import { Module } from '@nestjs/common';
import { ProfileRepository } from './profile.repository';

// Rendering and naming are plain functions (recording-renderer.ts, filename-template.ts); the
// module holds the profiles they are configured by.
@Module({ providers: [ProfileRepository], exports: [ProfileRepository] })
export class TranscriptModule {}
