import { DeliveryFailureError, deliveryFailureOf } from './delivery-failure';
import { HostKeyMismatchError } from './sftp.transport';
import { ContentChangedError, PermanentDeliveryError } from './transport';

describe('deliveryFailureOf', () => {
  it('takes {permanent, code, message} from whoever knows the cause', () => {
    expect(deliveryFailureOf(new DeliveryFailureError(true, 'file_name', 'file name: the template is empty'))).toEqual({
      permanent: true,
      code: 'file_name',
      message: 'file name: the template is empty',
    });
    expect(deliveryFailureOf(new PermanentDeliveryError('a different file already exists at a.txt'))).toMatchObject({
      permanent: true,
      message: 'a different file already exists at a.txt',
    });
    expect(deliveryFailureOf(new HostKeyMismatchError('host key mismatch: x'))).toMatchObject({ permanent: false, message: 'host key mismatch: x' });
  });

  it('retries anything else, its code (if any) leading the message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(deliveryFailureOf(refused)).toEqual({ permanent: false, code: 'ECONNREFUSED', message: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1' });
    expect(deliveryFailureOf(new ContentChangedError('changed'))).toEqual({ permanent: false, code: 'error', message: 'changed' });
    expect(deliveryFailureOf('boom')).toEqual({ permanent: false, code: 'error', message: 'boom' });
  });
});
