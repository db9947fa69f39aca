/**
 * The bench's own corner of the shared RabbitMQ and Postgres: a vhost and a database named after the
 * run, created at the start and removed at the end (also on failure), so a bench never touches what
 * a test run or another engineer is using. Vhosts are made through the management API when it
 * answers, else with rabbitmqctl on this host.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ensureDatabase } from '../../scripts/lib/preflight';

const run = promisify(execFile);

export interface VhostAdmin {
  how: string;
  create(vhost: string): Promise<void>;
  remove(vhost: string): Promise<void>;
}

export function withVhost(amqpUrl: string, vhost: string): string {
  const parsed = new URL(amqpUrl);
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return parsed.toString();
}

function credentials(amqpUrl: string): { user: string; password: string } {
  const parsed = new URL(amqpUrl);
  return { user: decodeURIComponent(parsed.username || 'guest'), password: decodeURIComponent(parsed.password || 'guest') };
}

export async function pickVhostAdmin(amqpUrl: string): Promise<VhostAdmin> {
  const { user, password } = credentials(amqpUrl);
  const management = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${new URL(amqpUrl).hostname}:15672`;
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(new URL(path, management), {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 404) throw new Error(`management API ${method} ${path}: ${response.status}`);
  };
  try {
    const response = await fetch(new URL('/api/overview', management), { headers: { authorization: auth }, signal: AbortSignal.timeout(1_000) });
    if (response.ok) {
      return {
        how: `management API ${management}`,
        create: async (vhost) => {
          await call('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`, {});
          await call('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
        },
        remove: (vhost) => call('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`),
      };
    }
  } catch {
    // No management API: rabbitmqctl below.
  }
  const ctl = process.env.RABBITMQCTL ?? 'rabbitmqctl';
  const exec = (args: string[]) => run(ctl, ['-q', ...args], { timeout: 30_000 });
  try {
    await exec(['list_vhosts']);
  } catch (error) {
    throw new Error(
      `cannot create a bench vhost: no management API at ${management} and rabbitmqctl failed (${(error as Error).message}); ` +
        'enable rabbitmq_management or set RABBITMQ_MANAGEMENT_URL / RABBITMQCTL',
      { cause: error },
    );
  }
  return {
    how: 'rabbitmqctl',
    create: async (vhost) => {
      await exec(['add_vhost', vhost]);
      await exec(['set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
    },
    remove: async (vhost) => {
      await exec(['delete_vhost', vhost]);
    },
  };
}

export { ensureDatabase };

export async function dropDatabase(url: string): Promise<void> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Versions for the report: the broker's from the AMQP handshake, the database's from SQL. */
export async function postgresVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0].server_version;
  } finally {
    await client.end();
  }
}
