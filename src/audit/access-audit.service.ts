import { Injectable, Logger } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { redactCardData } from '../common/redact-card-data';
import { AuditService } from './audit.service';

// Refused attempts on another chat or company leave a trace the company's admin can read. Written
// off the request path: a refusal is answered at once, whatever the audit write does.
@Injectable()
export class AccessAuditService {
  private readonly logger = new Logger(AccessAuditService.name);

  constructor(private readonly audit: AuditService) {}

  denied(p: Principal, rawWhere: string, rawChatId: string | null, code: string, rawMessage: string, rawTarget: string | null = null): void {
    // What was asked for is whatever the caller sent: card data in it is masked (contract section 8).
    const where = redactCardData(rawWhere);
    const chatId = rawChatId === null ? null : redactCardData(rawChatId);
    const target = rawTarget === null ? null : redactCardData(rawTarget);
    const message = redactCardData(rawMessage);
    this.audit
      .record({
        companyId: p.company,
        chatId: chatId && chatId.length <= 36 ? chatId : null,
        actorRole: p.role,
        actorId: p.sub,
        action: 'access.denied',
        detail: {
          where: where.slice(0, 200),
          chatId: chatId?.slice(0, 64) ?? null,
          target: target?.slice(0, 128) ?? null,
          code,
          message: message.slice(0, 200),
        },
      })
      .catch((err: unknown) => this.logger.warn(`could not audit a refused access: ${(err as Error).message}`));
  }
}
