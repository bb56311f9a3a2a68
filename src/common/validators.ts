import { ValidateBy, ValidationOptions } from 'class-validator';
import { containsCardNumber } from './redact-card-data';

// Identifiers must survive a round trip through the database unchanged: a lone surrogate would be
// stored as U+FFFD and then match other ids.
export function isWellFormed(v: string): boolean {
  return v.isWellFormed();
}

export function IsWellFormed(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWellFormed',
      validator: {
        validate: (v: unknown) => typeof v !== 'string' || isWellFormed(v),
        defaultMessage: (args) => `${args?.property ?? 'value'} must be well-formed text (no lone surrogates)`,
      },
    },
    options,
  );
}

// A JSON value's serialised size, for free-form fields that land in a TEXT column.
export function MaxJsonLength(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'maxJsonLength',
      validator: {
        validate: (v: unknown) => v === undefined || v === null || JSON.stringify(v).length <= max,
        defaultMessage: (args) => `${args?.property ?? 'value'} must be at most ${max} characters as JSON`,
      },
    },
    options,
  );
}

// Contract section 8: card numbers are kept nowhere. Free text is masked; an identifier is never
// silently changed, so one that holds a card number is refused.
export const cardNumberMessage = (field: string) => `${field} must not contain a card number`;

export function NoCardNumber(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'noCardNumber',
      validator: {
        validate: (v: unknown) => typeof v !== 'string' || !containsCardNumber(v),
        defaultMessage: (args) => cardNumberMessage(args?.property ?? 'value'),
      },
    },
    options,
  );
}

// The keys of a free-form object (chat metadata) are names chosen by the caller: values are
// masked as free text, but a key is refused rather than changed.
export function NoCardNumberInKeys(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'noCardNumberInKeys',
      validator: {
        validate: (v: unknown) => !hasCardKey(v, 0),
        defaultMessage: (args) => `${args?.property ?? 'value'} must not contain a card number in its keys`,
      },
    },
    options,
  );
}

function hasCardKey(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object' || depth > 16) return false;
  if (Array.isArray(v)) return v.some((x) => hasCardKey(x, depth + 1));
  return Object.entries(v as Record<string, unknown>).some(([k, x]) => containsCardNumber(k) || hasCardKey(x, depth + 1));
}
