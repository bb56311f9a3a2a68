import { ValidationPipe } from '@nestjs/common';
import { AppException } from './app.exception';
import { describeValidationErrors } from './validate';

// Body validation for REST: unknown fields are stripped, a bad field is a 400 naming it.
export function appValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => AppException.badRequest(describeValidationErrors(errors) || 'invalid body'),
  });
}
