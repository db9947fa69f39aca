/**
 * Checks, before anything starts, that RabbitMQ and Postgres answer, and creates the database when
 * the server is up but the database is not there yet. A failure is one line naming the URL (without
 * its password) and how to start the service.
 */
import { connect } from 'amqplib';
import { Client } from 'pg';

export function safeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export async function checkBroker(url: string): Promise<void> {
  try {
    const connection = await connect(url);
    await connection.close();
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${safeUrl(url)} (${(error as Error).message}). ` +
        'Start it with `rabbitmq-server -detached`, or `docker compose up -d rabbitmq postgres`, or set AMQP_URL.',
      { cause: error },
    );
  }
}

export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Postgres is not reachable at ${safeUrl(url)} (${(error as Error).message}). ` +
        'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, ' +
        'or `docker compose up -d rabbitmq postgres`, or set DATABASE_URL.',
      { cause: error },
    );
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }
}
