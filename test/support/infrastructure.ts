/**
 * Finds the RabbitMQ and Postgres a test run uses and isolates the run inside them: a vhost and a
 * database named after the run. Order: AMQP_URL / DATABASE_URL when set; the local default ports
 * when something answers there; testcontainers otherwise (needs a Docker engine).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { Client } from 'pg';

const run = promisify(execFile);

export const LOCAL_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const connection = await connect(url, { timeout: 2_000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

export function withVhost(url: string, vhost: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return parsed.toString();
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Vhost administration: the management API when it answers, else rabbitmqctl on this host. */
export interface VhostAdmin {
  create(vhost: string): Promise<void>;
  remove(vhost: string): Promise<void>;
}

export function managementAdmin(amqpUrl: string, managementUrl: string): VhostAdmin {
  const parsed = new URL(amqpUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username || 'guest')}:${decodeURIComponent(parsed.password || 'guest')}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(new URL(path, managementUrl), {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 404) throw new Error(`management API ${method} ${path}: ${response.status}`);
  };
  const user = decodeURIComponent(parsed.username || 'guest');
  return {
    create: async (vhost) => {
      await call('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`, {});
      await call('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
        configure: '.*',
        write: '.*',
        read: '.*',
      });
    },
    remove: (vhost) => call('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`),
  };
}

export function rabbitmqctlAdmin(amqpUrl: string, exec: (args: string[]) => Promise<unknown>): VhostAdmin {
  const user = decodeURIComponent(new URL(amqpUrl).username || 'guest');
  return {
    create: async (vhost) => {
      await exec(['add_vhost', vhost]);
      await exec(['set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
    },
    remove: async (vhost) => {
      await exec(['delete_vhost', vhost]);
    },
  };
}

export async function pickVhostAdmin(amqpUrl: string): Promise<VhostAdmin> {
  const host = new URL(amqpUrl).hostname;
  const managementUrl = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${host}:15672`;
  try {
    const response = await fetch(new URL('/api/overview', managementUrl), { signal: AbortSignal.timeout(1_000) });
    if (response.status === 200 || response.status === 401) return managementAdmin(amqpUrl, managementUrl);
  } catch {
    // No management API: fall back to rabbitmqctl below.
  }
  const ctl = process.env.RABBITMQCTL ?? 'rabbitmqctl';
  try {
    await run(ctl, ['-q', 'status'], { timeout: 20_000 });
  } catch {
    throw new Error(
      `cannot create a test vhost on ${host}: enable the management plugin (rabbitmq-plugins enable rabbitmq_management) ` +
        'or run the tests where rabbitmqctl works, or set RABBITMQ_MANAGEMENT_URL',
    );
  }
  return rabbitmqctlAdmin(amqpUrl, (args) => run(ctl, ['-q', ...args], { timeout: 30_000 }));
}

export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
