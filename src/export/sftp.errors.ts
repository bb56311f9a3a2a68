import { DeliveryFailure } from './delivery-failure';

export class SftpTimeoutError extends Error {}
// Retried: the host key may be fixed in the settings meanwhile.
export class HostKeyMismatchError extends Error implements DeliveryFailure {
  readonly permanent = false;
  readonly code = 'host_key_mismatch';
}

// Whatever went wrong before the SSH handshake completed (refused, reset, timed out, not an SSH
// server, no common algorithm, a name that does not resolve): one message, so that the answers of
// a check cannot be used to map the far side's ports. The cause goes to the service log.
export const TARGET_UNREACHABLE_MESSAGE = 'could not connect to an SSH server at the export target (details are in the service log)';
export class TargetUnreachableError extends Error {
  constructor() {
    super(TARGET_UNREACHABLE_MESSAGE);
    this.name = 'TargetUnreachableError';
  }
}
