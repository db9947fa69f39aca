/**
 * Every error the gateway returns has one shape: `{ "error": { "code", "message", "details"? } }`.
 * `code` is stable (clients branch on it); `message` is for people and may change.
 */
import { HttpException } from '@nestjs/common';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super({ error: { code, message, ...(details === undefined ? {} : { details }) } } satisfies ErrorBody, status);
  }
}
