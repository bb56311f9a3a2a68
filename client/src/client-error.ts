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

// Refusals worth trying again with the same clientMsgId; the others are final.
export function isRetryable(code: SocketErrorCode): boolean {
  return code === 'unavailable' || code === 'rate_limited';
}
