/**
 * Shutdown order on SIGTERM (Kubernetes) or SIGINT:
 *   1. readiness turns 503 at once, then wait SHUTDOWN_DELAY_MS so endpoints stop routing to us;
 *   2. Nest disposes the transports: consumers are cancelled and in-flight deliveries finish and ack;
 *   3. the broker connection and the database pool close (onApplicationShutdown).
 * A hard deadline exits the process if draining hangs, so the pod never outlives its grace period.
 *
 * HTTP keep-alive would hold the server open: `server.close()` only closes connections idle at that
 * instant, and a client that keeps sending on a busy one keeps it busy. From the moment shutdown
 * begins every response says `Connection: close`, and connections that fall idle are closed as
 * they do, so draining ends when the last in-flight request is answered.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { ShutdownState } from './health.module';

export interface ShutdownOptions {
  delayMs: number;
  timeoutMs: number;
}

export function installGracefulShutdown(app: INestApplication, logger: LoggerService, options: ShutdownOptions): void {
  let stopping = false;
  const server = app.getHttpServer() as Server;
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    if (stopping) response.setHeader('connection', 'close');
  });
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
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
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
