import { PinoLogger } from 'nestjs-pino';

// Who and what a log line is about. Identifiers only: never a message body, a token or a secret.
export interface LogFields {
  chatId?: string | null;
  recordingId?: string | null;
  companyId?: string | null;
  userId?: string | null;
  namespace?: string;
  event?: string;
}

let runner: PinoLogger | null = null;

// Runs fn with these fields bound to every line logged inside it (through AsyncLocalStorage, across
// its awaits), on top of the fields of the context it runs in. Used where Nest has no request to
// bind a logger to: socket events and delivery jobs. Without the logging module (unit specs) it
// just runs fn.
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  if (!PinoLogger.root) return fn();
  runner ??= new PinoLogger({});
  const bindings: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') bindings[k] = v;
  return runner.runInContext(fn, { bindings, inherit: true });
}
