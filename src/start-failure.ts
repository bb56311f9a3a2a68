import type { AppConfig } from './config/app-config';

// What stopped a start, as one line an operator can act on: the step that failed (the app's build,
// which connects to the database and migrates it; Redis; the port) and the cause's own words.

/** A start's step failed: `step` says which, in words, and `cause` is the error it threw. */
export class StartStepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${describe(cause)}`);
  }
}

/** Runs one step of the start; a failure is rethrown naming the step. */
export async function startStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof StartStepError ? err : new StartStepError(step, err);
  }
}

export function databaseLabel(config: AppConfig): string {
  const db = config.database;
  return db.type === 'sqlite' ? `SQLite ${db.path}` : `MySQL ${db.host}:${db.port}/${db.database}`;
}

/** A Redis URL without its credentials. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'Redis';
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const message = err.message || (err as AggregateError).errors?.map((e: Error) => e.message).join('; ') || err.name;
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}

/** The start's failure as the message of its one line, and the cause's code and stack for the fields. */
export function startFailure(err: unknown, config: AppConfig): { msg: string; cause: { code?: string; stack?: string } } {
  const cause = err instanceof StartStepError ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  let msg: string;
  if (err instanceof StartStepError && err.step === LISTEN && code === 'EADDRINUSE') {
    msg = `start failed: port ${config.port} is already in use`;
  } else if (err instanceof StartStepError && err.step === LISTEN && code === 'EACCES') {
    msg = `start failed: no permission to listen on port ${config.port}`;
  } else {
    msg = `start failed: ${err instanceof StartStepError ? err.message : describe(err)}`;
  }
  return { msg, cause: { ...(typeof code === 'string' ? { code } : {}), ...(cause instanceof Error ? { stack: cause.stack } : {}) } };
}

export const LISTEN = 'listening';
