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

// Turns an untrusted payload into a validated DTO or a bad_request naming the field.
export function validatePayload<T extends object>(cls: Ctor<T>, payload: unknown): T {
  if (payload === undefined || payload === null) payload = {};
  if (typeof payload !== 'object' || Array.isArray(payload)) throw AppException.badRequest('payload must be an object');
  const dto = plainToInstance(cls, payload, { excludeExtraneousValues: false, enableImplicitConversion: false });
  const errors = validateSync(dto as object, { whitelist: true, forbidUnknownValues: false, validationError: { target: false, value: false } });
  if (errors.length > 0) throw AppException.badRequest(describeValidationErrors(errors));
  return dto;
}
