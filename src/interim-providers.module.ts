import { Global, Module } from '@nestjs/common';
import { AccessAuditService } from './audit/access-audit.service';
import { AuditService } from './audit/audit.service';
import { ChatRecords } from './chat/chat-records';
import { CompanyDirectory } from './company/company-directory';
import { CompanyService } from './company/company.service';
import { SecurityModule } from './security/security.module';

// A stand-in, to be replaced by the audit, company and chat modules (issue 11 item 5, made on
// another branch): the public services of those features that the recording, retention and
// export modules use, provided once.
@Global()
@Module({
  imports: [SecurityModule],
  providers: [AuditService, AccessAuditService, CompanyService, CompanyDirectory, ChatRecords],
  exports: [AuditService, AccessAuditService, CompanyService, CompanyDirectory, ChatRecords],
})
export class InterimProvidersModule {}
