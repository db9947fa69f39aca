/** `npm run contracts`: writes docs/asyncapi.json and the JSON Schemas from libs/contracts. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderContractDocs } from './lib/contract-docs';

async function main(): Promise<void> {
  const root = join(__dirname, '..', '..');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  for (const [path, content] of Object.entries(renderContractDocs(version))) {
    const target = join(root, path);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, content);
    process.stdout.write(`wrote ${path}\n`);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`contracts: ${error.message}\n`);
  process.exit(1);
});
