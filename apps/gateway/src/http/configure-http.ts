import type { NestExpressApplication } from '@nestjs/platform-express';
import { bodyErrorMiddleware } from './error.filter';
import { createValidationPipe } from './validation';

/** Body limits (413 beyond them), malformed bodies (400), validation; for the server and for tests. */
export function configureHttp(app: NestExpressApplication, bodyLimit: string): void {
  app.useBodyParser('json', { limit: bodyLimit });
  app.useBodyParser('urlencoded', { limit: bodyLimit, extended: false });
  app.use(bodyErrorMiddleware);
  app.useGlobalPipes(createValidationPipe());
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
}
