/**
 * Mounts an adapter's webhook routes on the HTTP server with the raw body kept as bytes. Every
 * request: verify (the adapter's route) → publish with confirms → answer as the provider expects.
 * A refused request gets its status and a JSON error naming the problem, and nothing is published;
 * a broker that does not confirm makes the answer 503, so the provider retries.
 */
import type { LoggerService } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import type { Channel } from '@app/contracts';
import { WebhookRejected, type WebhookRoute } from './channel-adapter';
import { adapterMetrics } from './adapter.metrics';
import type { InboundPublisher } from './inbound-publisher';

export interface WebhookMountOptions {
  channel: Channel;
  bodyLimit: string;
  /** Rebuilds the URL providers signed; falls back to the request's own when no public base is set. */
  publicBaseUrl?: string;
}

function publicUrl(request: Request, base: string | undefined): string {
  if (base) return `${base.replace(/\/$/, '')}${request.originalUrl}`;
  return `${request.protocol}://${request.get('host') ?? 'localhost'}${request.originalUrl}`;
}

function lowerCaseHeaders(request: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  return headers;
}

export function mountWebhooks(
  app: NestExpressApplication,
  routes: WebhookRoute[],
  inbound: InboundPublisher,
  options: WebhookMountOptions,
  logger: LoggerService,
): void {
  app.useBodyParser('raw', { type: () => true, limit: options.bodyLimit });
  const server = app.getHttpAdapter().getInstance() as import('express').Express;
  for (const route of routes) {
    const register = route.method === 'GET' ? server.get.bind(server) : server.post.bind(server);
    register(route.path, (request: Request, response: Response) => {
      void handle(route, request, response);
    });
  }

  async function handle(route: WebhookRoute, request: Request, response: Response): Promise<void> {
    try {
      const outcome = await route.handle({
        method: request.method,
        publicUrl: publicUrl(request, options.publicBaseUrl),
        headers: lowerCaseHeaders(request),
        rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        query: Object.fromEntries(Object.entries(request.query).map(([key, value]) => [key, String(value)])),
      });
      const { published, duplicates } = await inbound.publish(outcome);
      adapterMetrics.webhooks.inc({ channel: options.channel, outcome: published === 0 && duplicates > 0 ? 'duplicate' : 'accepted' });
      response.status(outcome.response.status);
      if (outcome.response.contentType) response.type(outcome.response.contentType);
      response.send(outcome.response.body ?? '');
    } catch (error) {
      if (error instanceof WebhookRejected) {
        adapterMetrics.webhooks.inc({ channel: options.channel, outcome: 'rejected' });
        logger.warn?.({ channel: options.channel, path: route.path, code: error.code, status: error.status }, 'webhook refused');
        response.status(error.status).json({ error: { code: error.code, message: error.message } });
        return;
      }
      adapterMetrics.webhooks.inc({ channel: options.channel, outcome: 'error' });
      logger.error?.({ channel: options.channel, path: route.path, err: (error as Error).message }, 'webhook not accepted; the provider will retry');
      response.status(503).json({ error: { code: 'unavailable', message: 'the message could not be queued; retry later' } });
    }
  }
}

/** body-parser refusals (too large, unreadable) in the same JSON shape, before any route runs. */
export function webhookBodyErrors(
  error: { status?: number; type?: string },
  _request: Request,
  response: Response,
  next: (error?: unknown) => void,
): void {
  if (!error || typeof error.status !== 'number') {
    next(error);
    return;
  }
  const tooLarge = error.type === 'entity.too.large';
  response
    .status(tooLarge ? 413 : error.status)
    .json({ error: { code: tooLarge ? 'payload_too_large' : 'bad_request', message: tooLarge ? 'the request body is too large' : 'the request body could not be read' } });
}
