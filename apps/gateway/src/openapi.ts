/** The OpenAPI document, served at /docs and written by `npm run openapi` to docs/openapi.json. */
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export function buildOpenApi(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Channel router — agent gateway')
    .setDescription(
      [
        'REST API for agent desktops, supervisors and admins. Authenticate with `Authorization: Bearer <JWT>`',
        '(claims: `sub` = agent id, `tenant`, `role` = agent | supervisor | admin).',
        'Every error has the shape `{"error":{"code","message","details"?}}`; `code` is stable.',
        'Live events: socket.io namespace `/agent` (auth `{token, lastEventId?}`; events `ready`, `event`, `resync`, `typing`)',
        'and `/supervisor` (`stats`). Clients dedupe events on `eventId`.',
      ].join(' '),
    )
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // Probes and metrics are for the platform, not for API clients.
  document.paths = Object.fromEntries(Object.entries(document.paths).filter(([path]) => path.startsWith('/v1/')));
  return document;
}
