import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { ExportModule } from '../export/export.module';
import { RecordingModule } from '../recording/recording.module';
import { ErasureController } from './erasure.controller';
import { ErasureRemoval } from './erasure-removal';
import { ErasureRepository } from './erasure.repository';
import { ErasureRunner } from './erasure.runner';
import { ErasureService } from './erasure.service';

// Erasures (contract section 10): the admin REST, and the runner that erases chats through chat's
// and recording's services and removes delivered files through export's transports.
@Module({
  imports: [AuditModule, AuthModule, ChatModule, RecordingModule, ExportModule],
  controllers: [ErasureController],
  providers: [ErasureRepository, ErasureService, ErasureRunner, ErasureRemoval],
})
export class ErasureModule {}
