import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { gatewayEnvSchema } from '../../apps/gateway/src/gateway.config';
import { GatewayModule } from '../../apps/gateway/src/gateway.module';
import { buildOpenApi } from '../../apps/gateway/src/openapi';

/** Builds the document from the route metadata alone: preview mode connects to nothing. */
export async function renderOpenApi(version: string): Promise<string> {
  const config = gatewayEnvSchema.parse({});
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return `${JSON.stringify(buildOpenApi(app, version), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
