import { DeliveryFailureError } from '../export/delivery-failure';
import { EncryptionKeyErasedError } from '../security/crypto.service';
import { FilenameTemplateError } from '../transcript/filename-template';

// The failures of producing a recording's files that retrying cannot fix, in export's terms; any
// other error goes on as it is (export retries it).
export function asDeliveryFailure(err: unknown): unknown {
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
