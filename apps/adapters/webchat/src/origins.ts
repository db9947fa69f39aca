/**
 * Which web pages may embed the widget (WEBCHAT_ALLOWED_ORIGINS): `*` or a comma-separated list of
 * origins. Browsers enforce it for the token endpoint through CORS; for the socket the server checks
 * the Origin header itself, because WebSocket upgrades are not subject to CORS. Clients that send no
 * Origin (servers, tests) are not browsers embedding the widget and are let through.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';

export type AllowedOrigins = '*' | ReadonlySet<string>;

export function parseOrigins(value: string): AllowedOrigins {
  if (value.trim() === '*') return '*';
  return new Set(value.split(',').map((origin) => origin.trim()).filter(Boolean).map((origin) => new URL(origin).origin));
}

export function originAllowed(allowed: AllowedOrigins, origin: string | undefined): boolean {
  return origin === undefined || allowed === '*' || allowed.has(origin);
}

/**
 * The kit's routes answer with a status, a content type and a body only, so the CORS headers of the
 * token endpoint are added before Express sees the request. The widget posts without a body or custom
 * headers (a "simple" request), so browsers send no preflight.
 */
export function allowCrossOriginTokenRequests(httpServer: HttpServer, allowed: AllowedOrigins, path: string): void {
  httpServer.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    const origin = request.headers.origin;
    if (origin && request.url?.split('?')[0] === path && originAllowed(allowed, origin)) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'Origin');
    }
  });
}
