// The contract's error codes (section 3), used on sockets as they are and mapped to HTTP on REST.
export type ErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable';

export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppException';
  }

  static badRequest(message: string): AppException {
    return new AppException('bad_request', message);
  }
  static notFound(message: string): AppException {
    return new AppException('not_found', message);
  }
  static forbidden(message: string): AppException {
    return new AppException('forbidden', message);
  }
  static conflict(message: string): AppException {
    return new AppException('conflict', message);
  }
  static unavailable(message: string): AppException {
    return new AppException('unavailable', message);
  }
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
  }
}

// Database connectivity failures are the client's "try again", not a bug.
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string } | null;
  if (!e) return false;
  const codes = [
    'ECONNREFUSED',
    'ECONNRESET',
    'PROTOCOL_CONNECTION_LOST',
    'ETIMEDOUT',
    'EPIPE',
    'ER_CON_COUNT_ERROR',
    'PROTOCOL_SEQUENCE_TIMEOUT',
    'SQLITE_BUSY',
    'ER_LOCK_WAIT_TIMEOUT',
    'ER_LOCK_DEADLOCK',
    'ER_SERVER_SHUTDOWN',
    'POOL_CLOSED',
  ];
  if (e.code && codes.includes(e.code)) return true;
  return /connect ECONNREFUSED|Connection lost|Pool is closed|closed state|database is locked/i.test(e.message ?? '');
}

export function toAppException(err: unknown): AppException | null {
  if (err instanceof AppException) return err;
  if (isDatabaseUnavailable(err)) return AppException.unavailable('storage is unavailable, try again');
  return null;
}
