import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns every error into `{status:'error', message:'Internal server error'}`,
 * which would hide whether a failure is permanent or temporary. For broker deliveries this filter
 * hands the original error to the AMQP transport, which classifies it; HTTP errors keep Nest's
 * default handling.
 */
@Catch()
export class PassThroughRpcFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost) {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}
