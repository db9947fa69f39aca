/**
 * The widget script and the demo page, read once at boot from `apps/adapters/webchat/public` in the
 * repository. The build compiles TypeScript (and would transpile a copy of widget.js, but not the
 * page), so the files are always read from the source folder: found by walking up from here, in
 * src/ or in dist/, to the repository root (the directory with package.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PUBLIC = join('apps', 'adapters', 'webchat', 'public');

function publicDir(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, PUBLIC))) return join(dir, PUBLIC);
  }
  throw new Error(`the web chat widget files (${PUBLIC}) were not found above ${__dirname}; ship that folder with the app`);
}

export function readWidgetAssets(): { widget: string; demo: string } {
  const dir = publicDir();
  return { widget: readFileSync(join(dir, 'widget.js'), 'utf8'), demo: readFileSync(join(dir, 'demo.html'), 'utf8') };
}
