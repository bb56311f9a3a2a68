import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { AppException } from './app.exception';
import { assertPlainShape, describeValidationErrors } from './validate';

class ShapeCheckingValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') assertPlainShape(value);
    return super.transform(value, metadata);
  }
}

// Body validation for REST: unknown fields are stripped, a bad field is a 400 naming it.
export function appValidationPipe(): ValidationPipe {
  return new ShapeCheckingValidationPipe({
    whitelist: true,
    transform: true,
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => AppException.badRequest(describeValidationErrors(errors) || 'invalid body'),
  });
}
