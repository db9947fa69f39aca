import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderOpenApi } from './openapi-doc';

const ROOT = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('the agent gateway OpenAPI document', () => {
  let rendered: string;

  beforeAll(async () => {
    rendered = await renderOpenApi(version);
  });

  it('docs/openapi.json is committed and current (run `npm run openapi` after changing gateway routes)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8')).toBe(rendered);
  });

  it('documents every route with bearer auth and typed bodies', () => {
    const document = JSON.parse(rendered) as {
      paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    expect(operations.length).toBeGreaterThan(20);
    expect(operations.every((operation) => Array.isArray(operation.security) && operation.security.length > 0)).toBe(true);
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(['MessageDto', 'PresenceDto', 'TransferDto']));
  });
});
