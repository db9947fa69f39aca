/**
 * The entry point every adapter's main.ts calls: validated configuration, the Nest app with health
 * and metrics, the webhook routes, the outbound consumer, graceful shutdown.
 */
import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { loadConfigOrExit } from '@app/config';
import { adapterOutboundQueue } from '@app/contracts';
import { AmqpConnection, AmqpTransport, Publisher } from '@app/messaging';
import { installGracefulShutdown } from '@app/observability';
import { DatabaseHealth } from '@app/persistence';
import { adapterEnvSchema, type AdapterEnv } from './adapter.config';
import { ADAPTER, AdapterModule, type AdapterInstance } from './adapter.module';
import type { ChannelAdapter } from './channel-adapter';
import { ADAPTERS } from './registry';
import { mountWebhooks, webhookBodyErrors } from './webhook-routes';

export async function runAdapter(definition: ChannelAdapter): Promise<void> {
  const name = `${definition.channel}-adapter`;
  try {
    const env = loadConfigOrExit(adapterEnvSchema.extend(definition.env.shape), name) as AdapterEnv;
    const app = await NestFactory.create<NestExpressApplication>(AdapterModule.forRoot(definition, env), {
      bufferLogs: true,
      bodyParser: false,
    });
    app.useLogger(app.get(Logger));
    app.flushLogs();
    const logger = new NestLogger(name);
    const adapter = app.get<AdapterInstance>(ADAPTER);
    mountWebhooks(app, adapter.runtime.routes, adapter.inbound, {
      channel: definition.channel,
      bodyLimit: env.WEBHOOK_BODY_LIMIT,
      publicBaseUrl: env.PUBLIC_BASE_URL,
    }, logger);
    app.use(webhookBodyErrors);

    const database = app.get(DatabaseHealth);
    const transport = new AmqpTransport(
      app.get(AmqpConnection),
      app.get(Publisher),
      { queues: [adapterOutboundQueue(definition.channel)], prefetch: env.AMQP_PREFETCH, deliveryLimit: 5, dependenciesUp: () => database.checkNow() },
      new NestLogger('AmqpTransport'),
    );
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
    installGracefulShutdown(app, logger, { delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
    await app.startAllMicroservices();
    const port = env.HTTP_PORT ?? ADAPTERS.find((entry) => entry.channel === definition.channel)?.port ?? 3010;
    await app.listen(port, '0.0.0.0');
    await adapter.runtime.start?.({ httpServer: app.getHttpServer() as import('node:http').Server });
    logger.log({ port }, `${name} listening`);
  } catch (error) {
    process.stderr.write(`${name}: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
