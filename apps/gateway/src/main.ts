/**
 * The agent gateway: REST and WebSocket API for agent desktops, supervisors and admins. It reads
 * Postgres and turns changes into router commands on the broker; every replica receives every
 * agent event, so a desktop may connect to any of them.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadConfigOrExit } from '@app/config';
import { installGracefulShutdown } from '@app/observability';
import { DESK_PATH, deskAssets } from './desk/desk-assets.middleware';
import { gatewayEnvSchema } from './gateway.config';
import { GatewayModule } from './gateway.module';
import { configureHttp } from './http/configure-http';
import { buildOpenApi } from './openapi';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(gatewayEnvSchema, 'agent-gateway');
  // Compiled to dist/apps/gateway/src/main.js: four levels up is the package root.
  const packageRoot = join(__dirname, '..', '..', '..', '..');
  const { version: packageVersion } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  configureHttp(app, config.BODY_LIMIT);
  app.use(DESK_PATH, deskAssets(join(packageRoot, 'dist', 'desk')));
  SwaggerModule.setup('docs', app, () => buildOpenApi(app, packageVersion), { jsonDocumentUrl: 'docs/openapi.json' });
  const logger = new NestLogger('AgentGateway');
  installGracefulShutdown(app, logger, { delayMs: config.SHUTDOWN_DELAY_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  await app.listen(config.HTTP_PORT, '0.0.0.0');
  logger.log({ port: config.HTTP_PORT }, 'agent gateway listening');
}

bootstrap().catch((error: Error) => {
  process.stderr.write(`agent-gateway: failed to start: ${error.message}\n`);
  process.exit(1);
});
