import { Module } from '@nestjs/common';
import { AccessAuditService } from './access-audit.service';
import { AuditService } from './audit.service';

@Module({ providers: [AuditService, AccessAuditService], exports: [AuditService, AccessAuditService] })
export class AuditModule {}
