import { AsyncLocalStorage } from 'node:async_hooks';

// Who and what a log line is about. Identifiers only: never a message body, a token or a secret.
export interface LogFields {
  chatId?: string | null;
  recordingId?: string | null;
  companyId?: string | null;
  userId?: string | null;
  namespace?: string;
  event?: string;
}

const context = new AsyncLocalStorage<Readonly<Record<string, string>>>();

// Runs fn with these fields added to every line logged inside it (through AsyncLocalStorage,
// across its awaits), on top of the fields of the context it runs in. Used where Nest has no
// request to bind a logger to: socket events and delivery jobs. Nothing is built until a line is
// logged (pino's mixin reads the fields then), so an event that logs nothing pays only for the run.
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  const merged: Record<string, string> = { ...context.getStore() };
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') merged[k] = v;
  return context.run(merged, fn);
}

// The fields of the current context, for pino's mixin; a call site's own fields win over them.
export function logContextFields(): Readonly<Record<string, string>> {
  return context.getStore() ?? {};
}
