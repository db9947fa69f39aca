import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

function flatten(errors: ValidationError[], prefix = ''): Array<{ field: string; problems: string[] }> {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Unknown fields are refused, not silently dropped: a misspelt field is a bug the caller should see. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const summary = details
        .slice(0, 3)
        .map((detail) => detail.problems.join(', '))
        .join('; ');
      return new ApiError(400, 'validation_failed', summary || 'the request is not valid', details);
    },
  });
}
