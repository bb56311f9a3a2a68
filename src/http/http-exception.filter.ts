import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessAuditService } from '../audit/access-audit.service';
import type { Principal } from '../auth/principal';
import { AuthError } from '../auth/token.service';
import { ErrorCode, httpStatusFor, toAppException } from '../common/app.exception';

function codeForStatus(status: number): ErrorCode | 'internal_error' {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
    case 405:
      return 'not_found';
    case 409:
      return 'conflict';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'bad_request';
  }
}

// Every REST error leaves as {statusCode, code, message}; internals are logged, never sent.
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly access: AccessAuditService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const known = toAppException(exception);
    if (known) {
      const statusCode = httpStatusFor(known.code);
      if (known.code === 'unavailable') this.logger.warn(known.message);
      const principal = req.principal ?? (known instanceof AuthError ? known.principal : undefined);
      if ((known.code === 'forbidden' || known.code === 'not_found') && principal) {
        const params = (req.params ?? {}) as Record<string, string | undefined>;
        const chatId = params.chatId ?? (typeof req.query?.chatId === 'string' ? req.query.chatId : null);
        const target = params.recordingId ?? params.id ?? params.name ?? params.agentId ?? null;
        const where = `${req.method} ${req.route ? String((req.route as { path?: string }).path) : req.path}`;
        this.access.denied(principal, where, chatId, known.code, known.message, target);
      }
      res.status(statusCode).json({ statusCode, code: known.code, message: known.message });
      return;
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const body = exception.getResponse();
      let message = exception.message;
      if (typeof body === 'object' && body !== null && 'message' in body) {
        const m = (body as { message: unknown }).message;
        message = Array.isArray(m) ? m.join('; ') : String(m);
      }
      if (statusCode === 400 && /JSON|Unexpected token|position/i.test(message)) message = 'body is not valid JSON';
      res.status(statusCode).json({ statusCode, code: codeForStatus(statusCode), message });
      return;
    }
    const e = exception as { type?: string; status?: number; message?: string; stack?: string };
    // body-parser errors (malformed JSON, too large) arrive as plain errors with a status.
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      const message = e.type === 'entity.parse.failed' ? 'body is not valid JSON' : e.type === 'entity.too.large' ? 'body is too large' : 'bad request';
      res.status(e.status).json({ statusCode: e.status, code: codeForStatus(e.status), message });
      return;
    }
    this.logger.error(`unhandled: ${e?.stack ?? String(exception)}`);
    res.status(500).json({ statusCode: 500, code: 'internal_error', message: 'internal error' });
  }
}
