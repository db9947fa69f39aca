/**
 * Serves the reference agent desk (apps/desk, built by `npm run build` into dist/desk) under /desk.
 * Vite names every file in assets/ by its content hash, so those are cached for good; index.html is
 * revalidated on every load, so a new build reaches desktops at once. Any other path under /desk is
 * the single-page app's (its routes live in the fragment, but deep links must not 404) and gets
 * index.html. Every answer carries a Content-Security-Policy that allows this origin only — scripts,
 * styles, REST and the socket.io WebSocket (CSP level 3 `'self'` covers ws/wss to the same host).
 * A gateway started without the bundle answers 404 with how to build it, and keeps serving the API.
 */
import type { NextFunction, Request, Response } from 'express';

export const DESK_PATH = '/desk';

export const DESK_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = 'The agent desk is not built: run `npm run build` (it writes dist/desk), then restart the gateway.\n';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Express middleware for the desk, to mount at DESK_PATH; `bundleDir` is dist/desk. */
export function deskAssets(bundleDir: string) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      next();
      return;
    }
    response.setHeader('Content-Security-Policy', DESK_CSP);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');

    const path = request.path;
    // A last segment with a dot names a file (dotfiles included, so they are refused, not answered with the app).
    const isFile = (path.split('/').pop() ?? '').includes('.');
    const file = isFile ? path.slice(1) : 'index.html';
    const hashed = path.startsWith('/assets/');
    // `root` confines the lookup to the bundle (a `..` is refused); dotfiles are never served.
    response.sendFile(
      file,
      { root: bundleDir, dotfiles: 'deny', cacheControl: false, headers: { 'Cache-Control': hashed ? IMMUTABLE : REVALIDATE } },
      (error?: Error & { status?: number; statusCode?: number }) => {
        if (!error || response.headersSent) return;
        const status = error.status ?? error.statusCode ?? 500;
        response.setHeader('Cache-Control', 'no-store');
        if (status === 404 && !isFile) {
          response.status(404).type('text/plain').send(NOT_BUILT);
        } else if (status === 404 || status === 403) {
          response.status(404).type('text/plain').send(`Not found: ${DESK_PATH}${path}\n`);
        } else {
          next(error);
        }
      },
    );
  };
}
