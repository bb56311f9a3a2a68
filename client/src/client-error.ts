import type { SocketErrorCode } from './protocol.js';

// A refusal from the service ({ok:false, error:{code, message}}), or the library's own
// `unavailable` when it could not reach the service in time.
export class ClientError extends Error {
  constructor(
    readonly code: SocketErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

// The contract's codes (a record, so that the compiler keeps it complete).
const CODES: Record<SocketErrorCode, true> = {
  bad_request: true,
  unauthorized: true,
  forbidden: true,
  not_found: true,
  conflict: true,
  rate_limited: true,
  unavailable: true,
};

// The service's refusal of a connection (socket.io `connect_error`, whose `data` is the contract's
// {code, message}), as it gave it; `unauthorized` when it came without a code.
export function connectRefusal(err: Error & { data?: { code?: unknown; message?: unknown } }): ClientError {
  const code = err.data?.code;
  const message = typeof err.data?.message === 'string' ? err.data.message : err.message;
  return new ClientError(typeof code === 'string' && code in CODES ? (code as SocketErrorCode) : 'unauthorized', message);
}

// Refusals worth trying again with the same clientMsgId; the others are final.
export function isRetryable(code: SocketErrorCode): boolean {
  return code === 'unavailable' || code === 'rate_limited';
}
