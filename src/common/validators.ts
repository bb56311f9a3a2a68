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
