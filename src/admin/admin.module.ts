import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { CompanyModule } from '../company/company.module';
import { ExportModule } from '../export/export.module';
import { RecordingModule } from '../recording/recording.module';
import { TranscriptModule } from '../transcript/transcript.module';
import { SecurityModule } from '../security/security.module';
import { AdminController } from './admin.controller';
import { AdminSettingsService } from './admin-settings.service';
import { AdminService } from './admin.service';
import { ProfileAdminService } from './profile-admin.service';

// The export feature's services it uses come from app.module.ts until export has its own module.
@Module({
  imports: [AuditModule, AuthModule, ChatModule, CompanyModule, SecurityModule, ExportModule, RecordingModule, TranscriptModule],
  controllers: [AdminController],
  providers: [AdminService, AdminSettingsService, ProfileAdminService],
})
export class AdminModule {}
