/**
 * `npm start`: the whole system on one machine. Checks RabbitMQ and Postgres, creates the database,
 * applies migrations, seeds the development agents (SEED_FILE, or SEED=false to skip), then runs
 * every service as its own process with the project's Node, prefixing their output, and stops them
 * all on Ctrl-C / SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ADAPTERS } from '@app/channel-kit';
import { commonEnvSchema, envTypes, loadConfigOrExit, SERVICE_NODE_FLAGS } from '@app/config';
import { createDataSource, runMigrationsLocked } from '@app/persistence';
import { checkBroker, ensureDatabase } from './lib/preflight';
import { applySeed, readSeedFile } from './lib/seed';

interface Service {
  name: string;
  entry: string;
  port: number;
  env?: Record<string, string>;
}

/** The router and the gateway; the channel adapters come from their registry in libs/channel-kit. */
const CORE_SERVICES: Service[] = [
  { name: 'router', entry: 'apps/router/src/main.js', port: 3001 },
  { name: 'agent-gateway', entry: 'apps/gateway/src/main.js', port: 3002 },
];

const adapterEnvFileSchema = z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())]));

async function services(config: z.output<typeof schema>): Promise<Service[]> {
  const wanted: string[] =
    config.START_ADAPTERS === 'all'
      ? ADAPTERS.map((adapter) => adapter.channel)
      : config.START_ADAPTERS === 'none'
        ? []
        : config.START_ADAPTERS.split(',').filter(Boolean);
  const unknown = wanted.filter((channel) => !ADAPTERS.some((adapter) => adapter.channel === channel));
  if (unknown.length > 0) throw new Error(`START_ADAPTERS names unknown adapters: ${unknown.join(', ')}`);
  const devEnv = adapterEnvFileSchema.parse(JSON.parse(await readFile(config.ADAPTERS_ENV_FILE, 'utf8')));
  const adapters = ADAPTERS.filter((adapter) => wanted.includes(adapter.channel)).map((adapter) => {
    const env = devEnv[adapter.channel];
    return {
      name: `${adapter.channel}-adapter`,
      entry: `apps/adapters/${adapter.channel}/src/main.js`,
      port: adapter.port,
      env: typeof env === 'object' ? env : {},
    };
  });
  return [...CORE_SERVICES, ...adapters];
}

const schema = commonEnvSchema.extend({
  SEED: envTypes.bool.default(true),
  SEED_FILE: z.string().default(join(__dirname, '..', '..', 'config', 'dev-seed.json')),
  /** `all`, `none`, or a comma-separated list of channels. */
  START_ADAPTERS: z.string().regex(/^(all|none|[a-z,]+)$/).default('all'),
  /** Development settings of the adapters; the environment wins over them. */
  ADAPTERS_ENV_FILE: z.string().default(join(__dirname, '..', '..', 'config', 'dev-adapters.json')),
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

function run(service: Service, children: Set<ChildProcess>, onExit: (code: number | null) => void): void {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, join(__dirname, '..', service.entry)], {
    env: { HTTP_PORT: String(service.port), ...service.env, ...process.env, MIGRATIONS_RUN: 'false' },
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
  const all = await services(config);
  const children = new Set<ChildProcess>();
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children) child.kill(signal);
  };
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  for (const service of all) {
    run(service, children, (code) => {
      if (!stopping) {
        process.stderr.write(`${service.name} exited with code ${code}; stopping the others\n`);
        stopAll('SIGTERM');
        process.exitCode = 1;
      }
    });
  }
  process.stdout.write(
    `channel router running: ${all.map((s) => `${s.name} http://127.0.0.1:${s.port}/health/ready`).join(', ')}\n` +
      'send a message with: npm run send -- --channel sms --from +15550001 --text "hello"\n',
  );
}

main().catch((error: Error) => {
  process.stderr.write(`start: ${error.message}\n`);
  process.exit(1);
});
