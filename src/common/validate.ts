import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AppException } from './app.exception';

type Ctor<T> = new () => T;

export function describeValidationErrors(errors: ValidationError[], prefix = ''): string {
  const parts: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) parts.push(...Object.values(e.constraints).map((c) => c.replace(e.property, path)));
    if (e.children?.length) parts.push(describeValidationErrors(e.children, path));
  }
  return parts.join('; ');
}

const MAX_DEPTH = 8;
const MAX_NODES = 5000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// Payloads are small flat objects. A deep or huge structure is refused before anything walks it
// recursively (class-transformer would, and a deep one overflows the stack).
export function assertPlainShape(payload: unknown): void {
  if (payload === null || typeof payload !== 'object') return;
  const stack: [unknown, number][] = [[payload, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (++nodes > MAX_NODES) throw AppException.badRequest('payload has too many values');
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_DEPTH) throw AppException.badRequest(`payload is nested deeper than ${MAX_DEPTH} levels`);
    for (const k of Object.keys(v)) {
      // Own keys like these reach object internals in the libraries that walk payloads.
      if (FORBIDDEN_KEYS.has(k)) throw AppException.badRequest(`payload has a forbidden key "${k}"`);
      stack.push([(v as Record<string, unknown>)[k], depth + 1]);
    }
  }
}

// Turns an untrusted payload into a validated DTO or a bad_request naming the field.
export function validatePayload<T extends object>(cls: Ctor<T>, payload: unknown): T {
  if (payload === undefined || payload === null) payload = {};
  if (typeof payload !== 'object' || Array.isArray(payload)) throw AppException.badRequest('payload must be an object');
  assertPlainShape(payload);
  const dto = plainToInstance(cls, payload, { excludeExtraneousValues: false, enableImplicitConversion: false });
  const errors = validateSync(dto as object, { whitelist: true, forbidUnknownValues: false, validationError: { target: false, value: false } });
  if (errors.length > 0) throw AppException.badRequest(describeValidationErrors(errors));
  return dto;
}
