/**
 * The reference agent desk: a single-page app the gateway serves at /desk. `vite build` writes it to
 * dist/desk beside the compiled services; `vitest run` runs its component tests in jsdom.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/desk/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/desk', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
  },
  server: {
    // `vite --config apps/desk/vite.config.ts` against a gateway on GATEWAY_URL (default :3002).
    proxy: Object.fromEntries(
      ['/v1', '/socket.io'].map((path) => [path, { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:3002', ws: path === '/socket.io' }]),
    ),
  },
  test: {
    root,
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
  },
});
