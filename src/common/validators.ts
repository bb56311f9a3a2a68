import { ValidateBy, ValidationOptions } from 'class-validator';

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
