import { randomBytes } from 'node:crypto';
import {
  amqpAnswers,
  createDatabase,
  LOCAL_AMQP_URL,
  LOCAL_DATABASE_URL,
  pickVhostAdmin,
  postgresAnswers,
  rabbitmqctlAdmin,
  withDatabase,
  withVhost,
  type VhostAdmin,
} from './infrastructure';
import { createDataSource, runMigrationsLocked } from '../../libs/persistence/src';

export interface TestRunState {
  vhost: string;
  vhostAdmin: VhostAdmin;
  database: string;
  adminDatabaseUrl: string;
  stopContainers: Array<() => Promise<unknown>>;
}

declare global {
  var __CHANNEL_ROUTER_TEST_RUN__: TestRunState | undefined;
}

async function resolveBroker(stop: TestRunState['stopContainers']): Promise<{ url: string; admin: VhostAdmin }> {
  const url = process.env.AMQP_URL ?? ((await amqpAnswers(LOCAL_AMQP_URL)) ? LOCAL_AMQP_URL : undefined);
  if (url) return { url, admin: await pickVhostAdmin(url) };
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  const container = await new RabbitMQContainer('rabbitmq:3.13-management').start();
  stop.push(() => container.stop());
  const admin = rabbitmqctlAdmin(container.getAmqpUrl(), async (args) => {
    const result = await container.exec(['rabbitmqctl', '-q', ...args]);
    if (result.exitCode !== 0) throw new Error(`rabbitmqctl ${args[0]} failed: ${result.output}`);
  });
  return { url: container.getAmqpUrl(), admin };
}

async function resolvePostgres(stop: TestRunState['stopContainers']): Promise<string> {
  if (process.env.DATABASE_URL) return withDatabase(process.env.DATABASE_URL, 'postgres');
  if (await postgresAnswers(LOCAL_DATABASE_URL)) return LOCAL_DATABASE_URL;
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:16').start();
  stop.push(() => container.stop());
  return withDatabase(container.getConnectionUri(), 'postgres');
}

export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const stopContainers: TestRunState['stopContainers'] = [];
  const broker = await resolveBroker(stopContainers);
  const adminDatabaseUrl = await resolvePostgres(stopContainers);

  const vhost = `cr-test-${runId}`;
  const database = `cr_test_${runId}`;
  await broker.admin.create(vhost);
  await createDatabase(adminDatabaseUrl, database);

  const databaseUrl = withDatabase(adminDatabaseUrl, database);
  const dataSource = createDataSource({ url: databaseUrl, poolSize: 2, applicationName: 'test-setup' });
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  await dataSource.destroy();

  process.env.AMQP_URL = withVhost(broker.url, vhost);
  process.env.DATABASE_URL = databaseUrl;
  process.env.TEST_ADMIN_DATABASE_URL = adminDatabaseUrl;
  process.env.TEST_BROKER_URL = broker.url;
  process.env.TEST_RUN_ID = runId;
  globalThis.__CHANNEL_ROUTER_TEST_RUN__ = { vhost, vhostAdmin: broker.admin, database, adminDatabaseUrl, stopContainers };
}
