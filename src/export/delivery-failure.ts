// Why a delivery failed, as export reports it: whether retrying can help, a stable code, and the
// text kept as the recording's lastError. Whoever knows the cause builds it; export sorts by
// `permanent` alone, never by another feature's error class.
export interface DeliveryFailure {
  permanent: boolean;
  code: string;
  message: string;
}

export class DeliveryFailureError extends Error implements DeliveryFailure {
  constructor(
    readonly permanent: boolean,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryFailureError';
  }
}

function isDeliveryFailure(err: unknown): err is DeliveryFailure {
  const e = err as Partial<DeliveryFailure> | null;
  return typeof e === 'object' && e !== null && typeof e.permanent === 'boolean' && typeof e.code === 'string' && typeof e.message === 'string';
}

// Anything else (a socket error, a database error) is worth retrying; its code, when it has one,
// leads the message.
export function deliveryFailureOf(err: unknown): DeliveryFailure {
  if (isDeliveryFailure(err)) return { permanent: err.permanent, code: err.code, message: err.message };
  const e = err as { message?: string; code?: unknown };
  const code = typeof e?.code === 'string' && e.code ? e.code : '';
  return { permanent: false, code: code || 'error', message: `${code ? code + ': ' : ''}${e?.message ?? String(err)}` };
}
