/**
 * The router: consumes `router.inbound`, persists and routes each message, publishes the resulting
 * events through the outbox. HTTP serves health and metrics only.
 */
import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadConfigOrExit } from '@app/config';
import { QUEUES } from '@app/contracts';
import { AmqpConnection, AmqpTransport, PRODUCT_TOPOLOGY, Publisher } from '@app/messaging';
import { installGracefulShutdown } from '@app/observability';
import { DatabaseHealth } from '@app/persistence';
import { routerEnvSchema } from './router.config';
import { RouterModule } from './router.module';

const CONSUMED = [QUEUES.routerInbound, QUEUES.routerCommands, QUEUES.routerDelivery];
const DELIVERY_LIMIT = Math.min(
  ...PRODUCT_TOPOLOGY.workQueues.filter((queue) => CONSUMED.includes(queue.name as never)).map((queue) => queue.deliveryLimit),
);

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(routerEnvSchema, 'router');
  const app = await NestFactory.create(RouterModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  const logger = new NestLogger('Router');

  const database = app.get(DatabaseHealth);
  const transport = new AmqpTransport(
    app.get(AmqpConnection),
    app.get(Publisher),
    {
      queues: CONSUMED,
      prefetch: config.AMQP_PREFETCH,
      deliveryLimit: DELIVERY_LIMIT,
      dependenciesUp: () => database.checkNow(),
    },
    new NestLogger('AmqpTransport'),
  );
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });

  installGracefulShutdown(app, logger, { delayMs: config.SHUTDOWN_DELAY_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, '0.0.0.0');
  logger.log({ port: config.HTTP_PORT }, 'router listening');
}

bootstrap().catch((error: Error) => {
  process.stderr.write(`router: failed to start: ${error.message}\n`);
  process.exit(1);
});
