/** `npm run openapi`: writes the agent gateway's OpenAPI document to docs/openapi.json. */
import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderOpenApi } from './lib/openapi-doc';

async function main(): Promise<void> {
  const root = join(__dirname, '..', '..');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  await writeFile(join(root, 'docs', 'openapi.json'), await renderOpenApi(version));
  process.stdout.write('wrote docs/openapi.json\n');
}

main().catch((error: Error) => {
  process.stderr.write(`openapi: ${error.message}\n`);
  process.exit(1);
});
