/**
 * Shutdown order on SIGTERM (Kubernetes) or SIGINT:
 *   1. readiness turns 503 at once, then wait SHUTDOWN_DELAY_MS so endpoints stop routing to us;
 *   2. Nest disposes the transports: consumers are cancelled and in-flight deliveries finish and ack;
 *   3. the broker connection and the database pool close (onApplicationShutdown).
 * A hard deadline exits the process if draining hangs, so the pod never outlives its grace period.
 */
import type { INestApplication, LoggerService } from '@nestjs/common';
import { ShutdownState } from './health.module';

export interface ShutdownOptions {
  delayMs: number;
  timeoutMs: number;
}

export function installGracefulShutdown(app: INestApplication, logger: LoggerService, options: ShutdownOptions): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log({ signal }, 'shutting down');
    app.get(ShutdownState).begin();
    const deadline = setTimeout(() => {
      logger.error?.({ timeoutMs: options.timeoutMs }, 'shutdown deadline passed, exiting');
      process.exit(1);
    }, options.timeoutMs + options.delayMs);
    deadline.unref();
    try {
      if (options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      await app.close();
      logger.log({}, 'shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error?.({ err: (error as Error).message }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}
