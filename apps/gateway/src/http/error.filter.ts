/**
 * One error shape for everything the gateway answers with, whatever raised it: our own ApiErrors,
 * Nest's HTTP exceptions (404 for an unknown route, 429 from the rate limiter), validation failures
 * and anything unexpected — which is logged with its stack here and answered without it.
 */
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from './api-error';

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

export function errorBody(status: number, code: string | undefined, message: string, details?: unknown): ErrorBody {
  return { error: { code: code ?? CODE_BY_STATUS[status] ?? 'error', message, ...(details === undefined ? {} : { details }) } };
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as ErrorBody | undefined)?.error;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (isErrorBody(body)) {
        response.status(status).json(body);
        return;
      }
      const message =
        status === HttpStatus.TOO_MANY_REQUESTS
          ? 'too many requests for this caller; slow down and retry after the Retry-After header'
          : typeof body === 'string'
            ? body
            : String((body as { message?: unknown }).message ?? exception.message);
      response.status(status).json(errorBody(status, undefined, message));
      return;
    }
    this.logger.error({ err: exception instanceof Error ? exception.stack : String(exception) }, 'unhandled error');
    response.status(500).json(errorBody(500, 'internal', 'something went wrong on our side; the error has been logged'));
  }
}

/** body-parser errors happen before Nest routes a request, so Express hands them to this middleware. */
export function bodyErrorMiddleware(
  error: { status?: number; type?: string; message?: string },
  _request: unknown,
  response: Response,
  next: (error?: unknown) => void,
): void {
  if (!error || typeof error.status !== 'number') {
    next(error);
    return;
  }
  const [status, code, message] =
    error.type === 'entity.too.large'
      ? [413, 'payload_too_large', 'the request body is larger than this API accepts']
      : error.type === 'entity.parse.failed'
        ? [400, 'malformed_body', 'the request body is not valid JSON']
        : error.type === 'encoding.unsupported' || error.type === 'charset.unsupported'
          ? [415, 'unsupported_media_type', 'the request body encoding is not supported']
          : [error.status, undefined, 'the request body could not be read'];
  response.status(status).json(errorBody(status, code, message));
}
