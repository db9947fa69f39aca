/**
 * What the adapter e2e specs share: the router and one adapter started as processes beside the
 * local fake of the adapter's provider, a test broker and the database; the agent reply the router
 * would publish; and the checks every channel makes the same way (a delivery status per reply, a
 * refusal with a clear JSON body, a redelivered message stored once).
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Channel, OutboundMessage } from '@app/contracts';
import { TestBroker, type Collector } from '../broker';
import { openDatabase } from '../database';
import { freePort, ServiceProcess } from '../processes';
import { waitFor } from '../wait';

export interface AdapterHarnessOptions<P extends { close(): Promise<void> }> {
  /** The adapter's app folder, e.g. `adapters/sms`. */
  app: string;
  /** Starts the local fake the adapter sends to. */
  provider: () => Promise<P>;
  /** The adapter's settings; HTTP_PORT, a short retry base and the default tenant unless given. */
  env: (provider: P) => Record<string, string> | Promise<Record<string, string>>;
}

export interface AdapterHarness<P> {
  readonly pool: Pool;
  readonly broker: TestBroker;
  readonly provider: P;
  readonly adapter: ServiceProcess;
  /** The adapter's HTTP base URL. */
  readonly base: string;
  /** kill -9 the adapter, then start it again with the same settings: its port is fixed, so clients find it again. */
  kill9AndRestart(): Promise<void>;
}

/** Registers the beforeAll/afterAll that start and stop the processes; the fields are set once beforeAll ran. */
export function adapterHarness<P extends { close(): Promise<void> }>(options: AdapterHarnessOptions<P>): AdapterHarness<P> {
  let broker: TestBroker | undefined;
  let provider: P | undefined;
  let router: ServiceProcess | undefined;
  let adapter: ServiceProcess | undefined;
  let env: Record<string, string> = {};
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use the harness inside a test`);
    return value;
  };
  const harness: AdapterHarness<P> = {
    pool: openDatabase(),
    get broker() {
      return started(broker, 'the broker');
    },
    get provider() {
      return started(provider, 'the provider fake');
    },
    get adapter() {
      return started(adapter, options.app);
    },
    get base() {
      return `http://127.0.0.1:${started(env.HTTP_PORT, options.app)}`;
    },
    async kill9AndRestart() {
      await harness.adapter.kill9();
      adapter = await ServiceProcess.start(options.app, env);
    },
  };

  beforeAll(async () => {
    broker = await TestBroker.open();
    provider = await options.provider();
    env = { HTTP_PORT: String(await freePort()), SEND_RETRY_BASE_MS: '20', TENANT_ID: 'default', ...(await options.env(provider)) };
    router = await ServiceProcess.start('router');
    adapter = await ServiceProcess.start(options.app, env);
  });

  afterAll(async () => {
    await adapter?.stop();
    await router?.stop();
    await provider?.close();
    await broker?.close();
    await harness.pool.end();
  });

  return harness;
}

/** An `agent.reply` for `channel` as the router publishes it; a new message and conversation id unless given. */
export function agentReplyPayload(
  channel: Channel,
  fields: Pick<OutboundMessage, 'to' | 'text'> & Partial<Pick<OutboundMessage, 'messageId' | 'conversationId'>>,
): OutboundMessage {
  return {
    version: 1,
    type: 'agent.reply',
    messageId: fields.messageId ?? randomUUID(),
    occurredAt: new Date().toISOString(),
    tenantId: 'default',
    conversationId: fields.conversationId ?? randomUUID(),
    channel,
    agentId: 'a1',
    to: fields.to,
    text: fields.text,
  };
}

/** The delivery statuses collected so far for one reply, oldest first. */
export function statusesFor(statuses: Collector, messageId: string): Array<Record<string, unknown>> {
  return statuses.items.map((item) => item.body as Record<string, unknown>).filter((body) => body.messageId === messageId);
}

/** Waits for the first delivery status of one reply. */
export function waitForStatus(statuses: Collector, messageId: string, what: string): Promise<Record<string, unknown>> {
  return waitFor(() => statusesFor(statuses, messageId)[0], what);
}

/**
 * Checks a refused webhook (S1): the expected status, a JSON `{error}` whose message says what was
 * wrong, and no stack trace. `name` labels the case in a failure. Returns the error and the raw text
 * for the channel's own checks.
 */
export async function expectClearRefusal(name: string, response: Response, status: number): Promise<{ error: { code: string; message: string }; text: string }> {
  const text = await response.text();
  expect({ name, status: response.status }).toEqual({ name, status });
  const { error } = JSON.parse(text) as { error: { code: string; message: string } };
  expect(error.message.length).toBeGreaterThan(10);
  expect(text).not.toMatch(/at .*\.js:\d+/);
  return { error, text };
}

/** Checks that a message delivered more than once is stored once, also after a pause for late copies. */
export async function expectStoredOnce(pool: Pool, providerMessageId: string, channel?: Channel): Promise<void> {
  const count = async () => {
    const { rows } = channel
      ? await pool.query(`SELECT count(*)::int AS n FROM messages WHERE provider_message_id = $1 AND channel = $2`, [providerMessageId, channel])
      : await pool.query(`SELECT count(*)::int AS n FROM messages WHERE provider_message_id = $1`, [providerMessageId]);
    return rows[0].n as number;
  };
  await waitFor(async () => (await count()) === 1, 'the message stored');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await count()).toBe(1);
}
