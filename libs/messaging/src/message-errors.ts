/**
 * One place decides what a consumer does with a failure: permanent failures (the message itself is
 * wrong) go to the dead-letter queue with a reason; anything else is temporary and the message is
 * redelivered until the queue's delivery limit, after which the broker dead-letters it.
 */
import { ZodError } from 'zod';

export class PermanentMessageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentMessageError';
  }
}

export class TemporaryMessageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TemporaryMessageError';
  }
}

export interface FailureClass {
  kind: 'permanent' | 'temporary';
  code: string;
  reason: string;
}

const MAX_REASON_LENGTH = 1_000;

/** Zod issue messages describe the expected shape, never the offending value, so they are safe to ship. */
function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof ZodError) {
    return { kind: 'permanent', code: 'invalid_envelope', reason: describeZodError(error).slice(0, MAX_REASON_LENGTH) };
  }
  if (error instanceof PermanentMessageError) {
    return { kind: 'permanent', code: error.code, reason: error.message.slice(0, MAX_REASON_LENGTH) };
  }
  if (error instanceof TemporaryMessageError) {
    return { kind: 'temporary', code: error.code, reason: error.message.slice(0, MAX_REASON_LENGTH) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'temporary', code: 'handler_failed', reason: message.slice(0, MAX_REASON_LENGTH) };
}
