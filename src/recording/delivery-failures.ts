import { DeliveryFailureError } from '../export/delivery-failure';
import { EncryptionKeyErasedError } from '../security/crypto.service';
import { FilenameTemplateError } from '../transcript/filename-template';

// The chat's message chain is broken (docs/integrity.md): a row was changed, removed or inserted
// behind the service's back. Nothing of the chat can be trusted, so nothing is delivered, ever.
export class ChainBrokenError extends Error {
  constructor(
    readonly seq: number,
    readonly problem: string,
  ) {
    super(`message chain broken at seq ${seq}: ${problem}`);
    this.name = 'ChainBrokenError';
  }
}

export const INTEGRITY_FAILURE = 'integrity';

// The failures of producing a recording's files that retrying cannot fix, in export's terms; any
// other error goes on as it is (export retries it).
export function asDeliveryFailure(err: unknown): unknown {
  if (err instanceof ChainBrokenError) return new DeliveryFailureError(true, INTEGRITY_FAILURE, err.message);
  if (err instanceof FilenameTemplateError) return new DeliveryFailureError(true, 'file_name', `file name: ${err.reason}`);
  // A transcript whose bodies were crypto-shredded can never be rendered.
  if (err instanceof EncryptionKeyErasedError) return new DeliveryFailureError(true, 'key_erased', `${err.message}: the transcript cannot be rendered`);
  return err;
}

export async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asDeliveryFailure(err);
  }
}
