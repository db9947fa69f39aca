import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DESK_CSP, DESK_PATH, deskAssets } from './desk-assets.middleware';

@Module({})
class EmptyModule {}

async function gatewayServing(bundleDir: string) {
  const app = await NestFactory.create<NestExpressApplication>(EmptyModule, { logger: false });
  app.use(DESK_PATH, deskAssets(bundleDir));
  await app.init();
  return app;
}

describe('desk assets', () => {
  const root = mkdtempSync(join(tmpdir(), 'desk-'));
  const bundle = join(root, 'desk');
  let app: NestExpressApplication;

  beforeAll(async () => {
    mkdirSync(join(bundle, 'assets'), { recursive: true });
    writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>desk</title>');
    writeFileSync(join(bundle, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(bundle, '.env'), 'SECRET=1');
    writeFileSync(join(root, 'outside.txt'), 'OUTSIDE-CONTENT');
    app = await gatewayServing(bundle);
  });

  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html, revalidated on every load, under a same-origin CSP', async () => {
    for (const path of ['/desk', '/desk/', '/desk/supervisor']) {
      const response = await request(app.getHttpServer()).get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.text).toContain('<title>desk</title>');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(DESK_CSP);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves hashed assets as immutable, and 404s (not index.html) for a missing one', async () => {
    const asset = await request(app.getHttpServer()).get('/desk/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await request(app.getHttpServer()).get('/desk/assets/index-gone.js');
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain('<title>');
  });

  it('never serves dotfiles or files outside the bundle', async () => {
    const dotfile = await request(app.getHttpServer()).get('/desk/.env');
    expect([dotfile.status, dotfile.text]).toEqual([404, expect.not.stringContaining('SECRET')]);
    expect((await request(app.getHttpServer()).get('/desk/%2e%2e/outside.txt')).status).toBe(404);
    expect((await request(app.getHttpServer()).get('/desk/../outside.txt')).text).not.toContain('OUTSIDE-CONTENT');
  });

  it('leaves other methods and paths alone', async () => {
    expect((await request(app.getHttpServer()).post('/desk/')).status).toBe(404);
    expect((await request(app.getHttpServer()).get('/desktop')).headers['content-security-policy']).toBeUndefined();
  });

  it('without a build, answers 404 saying how to build it', async () => {
    const bare = await gatewayServing(join(root, 'not-built'));
    try {
      const response = await request(bare.getHttpServer()).get('/desk/');
      expect(response.status).toBe(404);
      expect(response.text).toContain('npm run build');
    } finally {
      await bare.close();
    }
  });
});
