/**
 * `npm start`: the whole system on one machine. Checks RabbitMQ and Postgres, creates the database,
 * applies migrations, seeds the development agents (SEED_FILE, or SEED=false to skip), then runs
 * every service as its own process with the project's Node, prefixing their output, and stops them
 * all on Ctrl-C / SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { commonEnvSchema, envTypes, loadConfigOrExit } from '@app/config';
import { createDataSource, runMigrationsLocked } from '@app/persistence';
import { checkBroker, ensureDatabase } from './lib/preflight';
import { applySeed, readSeedFile } from './lib/seed';

/** Every service of the product, with its default HTTP port. Adding an app adds a line here. */
export const SERVICES = [
  { name: 'router', entry: 'apps/router/src/main.js', port: 3001 },
  { name: 'agent-gateway', entry: 'apps/gateway/src/main.js', port: 3002 },
];

const schema = commonEnvSchema.extend({
  SEED: envTypes.bool.default(true),
  SEED_FILE: z.string().default(join(__dirname, '..', '..', 'config', 'dev-seed.json')),
});

async function prepare(config: z.output<typeof schema>): Promise<void> {
  await checkBroker(config.AMQP_URL);
  await ensureDatabase(config.DATABASE_URL);
  const dataSource = createDataSource({ url: config.DATABASE_URL, poolSize: 2, applicationName: 'start-all' });
  await dataSource.initialize();
  try {
    await runMigrationsLocked(dataSource);
    if (config.SEED) await applySeed(dataSource, await readSeedFile(config.SEED_FILE));
  } finally {
    await dataSource.destroy();
  }
}

function run(service: (typeof SERVICES)[number], children: Set<ChildProcess>, onExit: (code: number | null) => void): void {
  const child = spawn(process.execPath, [join(__dirname, '..', service.entry)], {
    env: { HTTP_PORT: String(service.port), ...process.env, MIGRATIONS_RUN: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${service.name}] ${line}\n`));
  }
  child.on('exit', (code) => {
    children.delete(child);
    onExit(code);
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(schema, 'start');
  await prepare(config);
  const children = new Set<ChildProcess>();
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children) child.kill(signal);
  };
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  for (const service of SERVICES) {
    run(service, children, (code) => {
      if (!stopping) {
        process.stderr.write(`${service.name} exited with code ${code}; stopping the others\n`);
        stopAll('SIGTERM');
        process.exitCode = 1;
      }
    });
  }
  process.stdout.write(
    `channel router running: ${SERVICES.map((s) => `${s.name} http://127.0.0.1:${s.port}/health/ready`).join(', ')}\n` +
      'send a message with: npm run send -- --channel sms --from +15550001 --text "hello"\n',
  );
}

main().catch((error: Error) => {
  process.stderr.write(`start: ${error.message}\n`);
  process.exit(1);
});
