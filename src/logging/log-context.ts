import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

// Who and what a log line is about. Identifiers only: never a message body, a token or a secret.
export interface LogFields {
  chatId?: string | null;
  recordingId?: string | null;
  companyId?: string | null;
  userId?: string | null;
  namespace?: string;
  event?: string;
}

// A context keeps its own fields and the context it runs in; the merged fields are built when a
// line is first logged in it, not when it starts: most socket events log nothing.
interface Context {
  readonly outer: Context | undefined;
  readonly fields: LogFields;
  merged?: Readonly<Record<string, string>>;
}

const context = new AsyncLocalStorage<Context>();

// Runs fn with these fields added to every line logged inside it (through AsyncLocalStorage,
// across its awaits), on top of the fields of the context it runs in. Used where Nest has no
// request to bind a logger to: socket events and delivery jobs. Nothing is built until a line is
// logged (pino's mixin reads the fields then), so an event that logs nothing pays only for the run.
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  return context.run({ outer: context.getStore(), fields }, fn);
}

// The fields of the current context, for pino's mixin; a call site's own fields win over them.
// A copy each time: pino merges the call site's fields into the object the mixin returns, which
// must not carry them into the context's next lines.
export function logContextFields(): Record<string, string> {
  const c = context.getStore();
  return c ? { ...mergedOf(c) } : {};
}

// The outer contexts' fields, then this one's string fields over them (a null or absent field
// leaves the outer value).
function mergedOf(c: Context): Readonly<Record<string, string>> {
  if (c.merged) return c.merged;
  const merged: Record<string, string> = c.outer ? { ...mergedOf(c.outer) } : {};
  for (const [k, v] of Object.entries(c.fields)) if (typeof v === 'string') merged[k] = v;
  c.merged = merged;
  return merged;
}

// The context this module was loaded in: no request, no socket event, no job.
const ROOT = new AsyncResource('webchat.detached');

// Runs fn outside every request's and event's context: the log fields of this module and the
// request logger of pino-http alike (both live in AsyncLocalStorage). For work that a request or an
// event only starts (a wake of the delivery worker, a batch that serves many chats, a sweep): the
// timers and promises it creates inherit the context they are created in, so without this every
// later line of a worker's loop would carry the reqId or chatId of whatever woke it first.
export function detached<T>(fn: () => T): T {
  return ROOT.runInAsyncScope(fn);
}
