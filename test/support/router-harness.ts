/**
 * The router's Nest module booted in-process against the run's Postgres and RabbitMQ, with a manual
 * clock and the timers driven by hand (`tick`). Call `routerHarness()` inside a `describe`: it
 * registers the hooks that boot and close the app, and gives each test a fresh tenant (queues are
 * the caller's to insert, in its own `beforeEach`). Not exported from `@app/testing`, so the other
 * suites do not load the router.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Pool } from 'pg';
import { loadConfig } from '@app/config';
import { EXCHANGES, type InboundEnvelopeInput, type RouterCommandInput, inboundEnvelopeSchema, routerCommandSchema } from '@app/contracts';
import { CommandController, type CommandResult } from '../../apps/router/src/commands/command.controller';
import { IngestMessageUseCase } from '../../apps/router/src/ingest/ingest-message.use-case';
import { routerEnvSchema } from '../../apps/router/src/router.config';
import { RouterModule } from '../../apps/router/src/router.module';
import { ManualClock } from '../../apps/router/src/routing/clock';
import { RoutingScheduler } from '../../apps/router/src/timers/routing-scheduler';
import { TestBroker, type Collector } from './broker';
import { openDatabase } from './database';
import { buildEnvelope } from './fixtures';
import { createDatabase, dropDatabase, withDatabase } from './infrastructure';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type CommandArgs = DistributiveOmit<RouterCommandInput, 'commandId' | 'tenantId'> & { commandId?: string };

/** An agent's own settings; null or omitted inherits the queue's, then the global default. */
export interface AgentSettings {
  syncCap?: number | null;
  asyncCap?: number | null;
  syncBlocksAsync?: boolean | null;
  queueIds?: string[];
}

/** A prom-client histogram as the router's metrics expose it. */
interface HistogramLike {
  get(): Promise<{ values: Array<{ metricName?: string; value: number; labels: Partial<Record<string, string | number>> }> }>;
}

/**
 * `ownDatabase`: the suite gets a database of its own (named after it and the run). The timers act
 * on every tenant they can see; a suite whose clock jumps days ahead would otherwise act on the other
 * suites' waiting work, and theirs on its.
 */
export function routerHarness(options: { env?: Record<string, string>; start?: Date; ownDatabase?: string } = {}) {
  const clock = new ManualClock(options.start ?? new Date('2026-11-23T10:00:00Z'));
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL!;
  const database = options.ownDatabase ? `cr_${options.ownDatabase}_${process.env.TEST_RUN_ID}` : undefined;
  let app: INestApplication;
  let pool: Pool;
  let broker: TestBroker;
  let agentEvents: Collector;
  let tenant: string;

  beforeAll(async () => {
    if (database) await createDatabase(adminUrl, database);
    const databaseUrl = database ? withDatabase(adminUrl, database) : process.env.DATABASE_URL;
    const config = loadConfig(routerEnvSchema, {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SCHEDULER_INTERVAL_MS: '0',
      LOG_LEVEL: 'warn',
      ...options.env,
    });
    const moduleRef = await Test.createTestingModule({ imports: [RouterModule.forRoot(config, clock)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    pool = openDatabase(databaseUrl);
    broker = await TestBroker.open();
    agentEvents = await broker.collect(EXCHANGES.agent, 'agent.#');
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await broker?.close();
    if (database) await dropDatabase(adminUrl, database);
  });

  beforeEach(() => {
    tenant = `r-${randomUUID().slice(0, 8)}`;
  });

  const agent = (name: string) => `${tenant}-${name}`;
  const ingest = (overrides: Partial<InboundEnvelopeInput>) =>
    app.get(IngestMessageUseCase).execute(inboundEnvelopeSchema.parse(buildEnvelope({ tenantId: tenant, ...overrides })), undefined);
  const command = (input: CommandArgs): Promise<CommandResult> =>
    app.get(CommandController).execute(routerCommandSchema.parse({ commandId: randomUUID(), tenantId: tenant, ...input }));
  /** Runs every routing timer once, at the clock's time. */
  const tick = () => app.get(RoutingScheduler).tick();
  const conversation = async (id: string) =>
    (await pool.query(`SELECT status, assigned_agent_id, queue_id, mode FROM conversations WHERE id = $1`, [id])).rows[0];
  /** Each agent's counters beside the live assignments they should count, by agent id. */
  const counters = async (): Promise<Array<{ id: string; active_sync: number; active_async: number; live_sync: number; live_async: number }>> =>
    (
      await pool.query(
        `SELECT a.id, a.active_sync, a.active_async,
                count(s.id) FILTER (WHERE s.mode = 'sync')::int AS live_sync,
                count(s.id) FILTER (WHERE s.mode = 'async')::int AS live_async
           FROM agents a LEFT JOIN assignments s ON s.agent_id = a.id AND s.state <> 'ended'
          WHERE a.tenant_id = $1 GROUP BY a.id ORDER BY a.id`,
        [tenant],
      )
    ).rows;
  const expectCountersMatchRows = async () => {
    for (const row of await counters()) {
      expect({ id: row.id, sync: row.active_sync, async: row.active_async }).toEqual({ id: row.id, sync: row.live_sync, async: row.live_async });
    }
  };
  /** Agent id → [active sync, active async]. */
  const loads = async () => Object.fromEntries((await counters()).map((row) => [row.id, [row.active_sync, row.active_async]]));

  /** A queue of the test's tenant, with the schema's defaults for every setting not given (objects go in as JSON). */
  async function queue(id: string, channels: string[], settings: Record<string, unknown> = {}) {
    const columns = Object.keys(settings);
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels${columns.map((column) => `, ${column}`).join('')})
       VALUES ($1, $2, $2, $3${columns.map((_, index) => `, $${index + 4}`).join('')})`,
      [tenant, id, channels, ...Object.values(settings).map((value) => (value !== null && typeof value === 'object' ? JSON.stringify(value) : value))],
    );
  }

  /** An ingest that must have stored its message. */
  async function stored(pending: ReturnType<typeof ingest>) {
    const outcome = await pending;
    if (outcome.kind !== 'stored') throw new Error(`not stored: ${outcome.kind}`);
    return outcome;
  }

  /** Agents come online one after the other, one clock second apart: the first name has been idle longest. */
  async function idleAgents(names: string[], settings: AgentSettings = {}) {
    for (const [index, name] of names.entries()) {
      await pool.query(
        `INSERT INTO agents (id, tenant_id, name, presence, sync_cap, async_cap, sync_blocks_async, queue_ids)
         VALUES ($1, $2, $1, 'offline', $3, $4, $5, $6)`,
        [agent(name), tenant, settings.syncCap ?? null, settings.asyncCap ?? null, settings.syncBlocksAsync ?? null, settings.queueIds ?? []],
      );
      clock.advance(1_000 * (index + 1));
      expect(await command({ type: 'presence.set', agentId: agent(name), presence: 'online' })).toMatchObject({ ok: true });
    }
  }

  /** Count and sum of a histogram's samples with these labels. */
  async function histogram(metric: HistogramLike, labels: Record<string, string>) {
    const values = (await metric.get()).values.filter((value) => Object.entries(labels).every(([key, want]) => value.labels[key] === want));
    const pick = (suffix: string) => values.filter((value) => value.metricName?.endsWith(suffix)).reduce((sum, value) => sum + value.value, 0);
    return { count: pick('_count'), sum: pick('_sum') };
  }

  return {
    clock,
    get app() {
      return app;
    },
    get pool() {
      return pool;
    },
    get broker() {
      return broker;
    },
    get agentEvents() {
      return agentEvents;
    },
    get tenant() {
      return tenant;
    },
    agent,
    queue,
    ingest,
    stored,
    command,
    tick,
    conversation,
    counters,
    loads,
    expectCountersMatchRows,
    idleAgents,
    histogram,
  };
}
