import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { CompanyModule } from '../company/company.module';
import { SecurityModule } from '../security/security.module';
import { AdminController } from './admin.controller';
import { AdminSettingsService } from './admin-settings.service';
import { AdminService } from './admin.service';

// The export feature's services it uses come from app.module.ts until export has its own module.
@Module({
  imports: [AuditModule, AuthModule, ChatModule, CompanyModule, SecurityModule],
  controllers: [AdminController],
  providers: [AdminService, AdminSettingsService],
})
export class AdminModule {}
