/**
 * `npm run bench:routing [-- --quick] [-- --explain]`: assignment decisions per second and decision
 * latency of the routing engine at a small and a large size, in one run, on a fresh database.
 *
 * A decision is one conversation handed to an agent by the engine on the production path: an agent
 * closes one of its async threads with a `conversation.close` command, submitted to the router's
 * `CommandController` as the broker consumer does (through its batcher: under load, up to
 * COMMAND_BATCH_SIZE commands share one transaction; the command's result recorded, its events
 * written to the outbox, the after-commit routing look, the relay kicked after commit). The close
 * frees one unit of capacity and the drain hands that agent the best waiting item. Every agent starts
 * full (8 of 8 async threads), so each close yields exactly one decision. The latency of a decision
 * is from submitting the command to its result, waiting in the batcher and commit included;
 * decisions/s is decisions over the wall time of the measured phase, with as many commands in flight
 * (on as many different agents) as a loaded router holds from the broker — its AMQP_PREFETCH, 50 by
 * default (`BENCH_CONCURRENCY=<n>` changes that, to see where throughput stops growing).
 *
 * Each size ends with invariant checks (decisions = drained assignments, no agent over its cap,
 * counters = live assignment rows, queue order kept); a broken invariant fails the run instead of
 * reporting a figure. The run has its own database and vhost, removed at the end, also on failure or
 * interruption.
 *
 * Output: a human-readable table, then exactly one JSON line on stdout as the last line. Router logs
 * (warn and above) go to stderr; `--explain` prints, also to stderr, EXPLAIN (ANALYZE, BUFFERS) of
 * every statement of one extra close+drain transaction at each size (each explained statement runs
 * inside a savepoint that is rolled back, then the statement runs for real).
 *
 * Memory: the bench runs itself again in a child process with the services' Node flags
 * (`SERVICE_NODE_FLAGS`: the young generation and the heap capped, unless a semi-space size is already given), and
 * the child does the work and is measured — the footprint the router has under `npm start`, the
 * benches and the container image, which all run with those flags.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DataSource, QueryRunner } from 'typeorm';
import { DataSource as DataSourceToken } from 'typeorm';
import { DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, loadConfig, SERVICE_NODE_FLAGS } from '@app/config';
import { createDataSource, inTransaction, runMigrationsLocked } from '@app/persistence';
import { CommandController } from '../apps/router/src/commands/command.controller';
import { OutboxRelay } from '../apps/router/src/outbox/outbox.relay';
import { writeOutbox, type OutboxEvent } from '../apps/router/src/outbox/outbox.writer';
import { routerEnvSchema } from '../apps/router/src/router.config';
import { routerMetrics } from '../apps/router/src/router.metrics';
import { RouterModule } from '../apps/router/src/router.module';
import { ConversationHandlingUseCase } from '../apps/router/src/use-cases/conversation-handling.use-case';
import { ensureDatabase, safeUrl } from '../scripts/lib/preflight';
import { dropDatabase, pickVhostAdmin, withVhost, type VhostAdmin } from './lib/infrastructure';
import { prng } from './lib/prng';
import { BenchFailure, err, fmt, mb, out, percentile, round } from './lib/report';

// ---------------------------------------------------------------------------------------------
// Parameters

interface SizeSpec {
  name: 'small' | 'large';
  agents: number;
  queued: number;
  warmup: number;
  decisions: number;
  /** Safety caps on each phase's wall time, so the run stays bounded however slow the engine is. */
  warmupBudgetS: number;
  budgetS: number;
}

const TENANT = 'bench';
const QUEUE = 'chat';
const ASYNC_CAP = 8;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || loadConfig(routerEnvSchema, process.env).AMQP_PREFETCH);
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || CONCURRENCY > 500) {
  process.stderr.write(`bench: BENCH_CONCURRENCY must be an integer from 1 to 500, got ${process.env.BENCH_CONCURRENCY}\n`);
  process.exit(2);
}
const SEED = 0x5eed_2026;
const RSS_SAMPLE_MS = 20;

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const EXPLAIN = args.has('--explain');

/**
 * The small queue holds only 1,000 items, so the small size makes fewer decisions than the large one
 * (each decision takes one item off the queue and nothing refills it).
 */
const SIZES: SizeSpec[] = QUICK
  ? [
      { name: 'small', agents: 100, queued: 1_000, warmup: 100, decisions: 600, warmupBudgetS: 3, budgetS: 7 },
      { name: 'large', agents: 1_000, queued: 10_000, warmup: 100, decisions: 1_000, warmupBudgetS: 3, budgetS: 12 },
    ]
  : [
      { name: 'small', agents: 100, queued: 1_000, warmup: 100, decisions: 800, warmupBudgetS: 8, budgetS: 25 },
      { name: 'large', agents: 10_000, queued: 100_000, warmup: 500, decisions: 12_000, warmupBudgetS: 15, budgetS: 100 },
    ];
/** The whole run is aborted (and reported as a failure) past this. */
const TIME_LIMIT_MS = QUICK ? 58_000 : 290_000;

const TARGETS = { largeDecisionsPerSec: 1_500, ratio: 0.7, largeRssMb: 200 };

// ---------------------------------------------------------------------------------------------
// Helpers

const agentId = (index: number) => `bench-${String(index).padStart(6, '0')}`;
/** Deterministic ids: conversation n is ...-a000-<n>, its customer ...-b000-<n>, its identity ...-c000-<n>. */
const seededUuid = (kind: 'a' | 'b' | 'c', n: number) => `00000000-0000-4000-${kind}000-${n.toString(16).padStart(12, '0')}`;
const sqlUuid = (kind: 'a' | 'b' | 'c', n: string) => `('00000000-0000-4000-${kind}000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;
const sqlAgentId = (index: string) => `('bench-' || lpad((${index})::text, 6, '0'))`;

/** Router logs (warn and above) go to stderr, so stdout carries only the table and the JSON line. */
const stderrLogger: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown, ...rest: unknown[]) => err(`[router warn] ${String(message)} ${rest.map(String).join(' ')}`),
  error: (message: unknown, ...rest: unknown[]) => err(`[router error] ${String(message)} ${rest.map(String).join(' ')}`),
  fatal: (message: unknown, ...rest: unknown[]) => err(`[router fatal] ${String(message)} ${rest.map(String).join(' ')}`),
};

/** Peak RSS of this process (it hosts the router module), sampled on a timer and after every decision. */
class RssPeak {
  private peak = 0;
  /** heapUsed / heapTotal / external at the sample that set the peak, to tell heap from native memory. */
  detail = '';
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
    this.timer.unref();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) {
      this.peak = rss;
      const usage = process.memoryUsage();
      const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
      this.detail =
        `heapUsed ${mb(usage.heapUsed).toFixed(1)} MB, heapTotal ${mb(usage.heapTotal).toFixed(1)} MB ` +
        `(new space ${mb(newSpace?.space_size ?? 0).toFixed(1)} MB), external ${mb(usage.external).toFixed(1)} MB`;
    }
  }

  reset(): void {
    this.peak = 0;
    this.sample();
  }

  get value(): number {
    this.sample();
    return this.peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function seed(admin: DataSource, size: SizeSpec): Promise<void> {
  const held = size.agents * ASYNC_CAP;
  const total = held + size.queued;
  const runner = admin.createQueryRunner();
  await runner.connect();
  try {
    // One session: setseed makes the random priorities and waits repeatable.
    await runner.query(`SELECT setseed(0.4242)`);
    await runner.query(
      `INSERT INTO queues (tenant_id, id, name, channels, sticky_window_s) VALUES ($1, $2, 'Bench chat', '{sms}', 604800)`,
      [TENANT, QUEUE],
    );
    await runner.query(
      `INSERT INTO agents (id, tenant_id, name, presence, async_cap, active_async, lease_expires_at, last_assigned_at,
                           presence_changed_at, idle_since)
       SELECT ${sqlAgentId('i')}, $1, 'Agent ' || i, 'online', $2::int, $2::int, now() + interval '1 day',
              now() - make_interval(secs => i), now() - interval '2 hours', now() - interval '2 hours'
         FROM generate_series(0, $3::int - 1) i`,
      [TENANT, ASYNC_CAP, size.agents],
    );
    await runner.query(
      `INSERT INTO customers (id, tenant_id, display_name)
       SELECT ${sqlUuid('b', 'n')}, $1, 'Customer ' || n FROM generate_series(1, $2::int) n`,
      [TENANT, total],
    );
    await runner.query(
      `INSERT INTO channel_identities (id, tenant_id, customer_id, channel, address)
       SELECT ${sqlUuid('c', 'n')}, $1, ${sqlUuid('b', 'n')}, 'sms', '+1555' || lpad(n::text, 9, '0')
         FROM generate_series(1, $2::int) n`,
      [TENANT, total],
    );
    // Held threads: conversation n (1..agents*8) belongs to agent (n-1)/8.
    await runner.query(
      `INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, mode, status, priority,
                                  assigned_agent_id, queue_id, queued_at, rank_at, last_message_at, created_at, updated_at)
       SELECT ${sqlUuid('a', 'n')}, $1, ${sqlUuid('b', 'n')}, ${sqlUuid('c', 'n')}, 'sms', 'async', 'assigned', 0,
              ${sqlAgentId('(n - 1) / 8')}, $2, now() - interval '3 hours', now() - interval '3 hours',
              now() - interval '1 hour', now() - interval '3 hours', now() - interval '1 hour'
         FROM generate_series(1, $3::int) n`,
      [TENANT, QUEUE, held],
    );
    await runner.query(
      `INSERT INTO assignments (conversation_id, agent_id, mode, state, created_at, accepted_at)
       SELECT ${sqlUuid('a', 'n')}, ${sqlAgentId('(n - 1) / 8')}, 'async', 'active',
              now() - interval '2 hours', now() - interval '2 hours'
         FROM generate_series(1, $1::int) n`,
      [held],
    );
    // Waiting items: priority 0..9, waiting up to an hour; rank_at = queued_at - priority minutes (aging 1/min).
    await runner.query(
      `INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, mode, status, priority,
                                  assigned_agent_id, queue_id, queued_at, rank_at, last_message_at, created_at, updated_at)
       SELECT ${sqlUuid('a', 'n')}, $1, ${sqlUuid('b', 'n')}, ${sqlUuid('c', 'n')}, 'sms', 'async', 'queued', p,
              NULL, $2, queued_at, queued_at - make_interval(mins => p), queued_at, queued_at, queued_at
         FROM (SELECT n, floor(random() * 10)::int AS p,
                      now() - make_interval(secs => floor(random() * 3600)::int) AS queued_at
                 FROM generate_series($3::int + 1, $4::int) n) s`,
      [TENANT, QUEUE, held, total],
    );
    await runner.query(
      `INSERT INTO conversation_timings (conversation_id, queued_at, first_assigned_at)
       SELECT id, queued_at, CASE WHEN status = 'assigned' THEN queued_at + interval '1 minute' END
         FROM conversations WHERE tenant_id = $1`,
      [TENANT],
    );
    await runner.query(`VACUUM (ANALYZE)`);
  } finally {
    await runner.release();
  }
}

async function truncateAll(admin: DataSource): Promise<void> {
  await admin.query(
    `TRUNCATE outbox, assignment_audit, conversation_timings, declines, processed_commands, assignments, messages,
              conversations, channel_identities, customers, agents, queues RESTART IDENTITY CASCADE`,
  );
  await admin.query(`VACUUM (ANALYZE)`);
}

async function waitForOutbox(admin: DataSource, relay: OutboxRelay, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ left }] = (await admin.query(`SELECT count(*)::int AS left FROM outbox`)) as { left: number }[];
    if (left === 0 || Date.now() > deadline) return left;
    relay.kick();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// The measured work

interface Router {
  dataSource: DataSource;
  commands: CommandController;
  /** For --explain, which runs the close+drain statements of one decision directly. */
  closeUseCase: ConversationHandlingUseCase;
  relay: OutboxRelay;
}

interface PhaseResult {
  latencies: number[];
  wallMs: number;
  made: number;
  /** Batches that rolled back and ran their commands one by one. */
  fallbacks: number;
  /** Commands per transaction: mean over the batches of several, and the share of commands that ran in one. */
  meanBatch: number;
  batchedShare: number;
}

/** Which conversations each agent holds (seeded ones by formula, then whatever the drain hands them). */
class Holdings {
  private readonly touched = new Map<number, string[]>();

  constructor(private readonly agents: number) {}

  take(agent: number, random: () => number): string {
    let held = this.touched.get(agent);
    if (!held) {
      held = Array.from({ length: ASYNC_CAP }, (_, slot) => seededUuid('a', agent * ASYNC_CAP + slot + 1));
      this.touched.set(agent, held);
    }
    if (held.length === 0) throw new BenchFailure(`agent ${agentId(agent)} holds nothing to close`);
    const index = Math.floor(random() * held.length);
    const [conversation] = held.splice(index, 1);
    return conversation;
  }

  give(agent: number, conversationId: string): void {
    this.touched.get(agent)!.push(conversationId);
  }

  get size(): number {
    return this.agents;
  }
}

/** The router's command batch metrics so far: batches of several, the commands in them, fallbacks. */
async function batchCounters(): Promise<{ batches: number; batched: number; fallbacks: number }> {
  const sizes = (await routerMetrics.commandBatchSize.get()).values;
  const fallbacks = (await routerMetrics.commandBatchFallbacks.get()).values;
  return {
    batches: sizes.find((value) => value.metricName === 'router_command_batch_size_count')?.value ?? 0,
    batched: sizes.find((value) => value.metricName === 'router_command_batch_size_sum')?.value ?? 0,
    fallbacks: fallbacks[0]?.value ?? 0,
  };
}

async function runPhase(
  router: Router,
  holdings: Holdings,
  random: () => number,
  count: number,
  budgetS: number,
  rss: RssPeak,
  label: string,
): Promise<PhaseResult> {
  const started = performance.now();
  const latencies: number[] = [];
  const busy = new Set<number>();
  let issued = 0;
  let made = 0;
  const before = await batchCounters();
  let failure: unknown;
  const deadline = performance.now() + budgetS * 1000;
  let nextProgress = performance.now() + 5_000;

  const pickAgent = () => {
    for (;;) {
      const agent = Math.floor(random() * holdings.size);
      if (!busy.has(agent)) return agent;
    }
  };

  const worker = async () => {
    while (issued < count && failure === undefined && performance.now() < deadline) {
      issued += 1;
      const agent = pickAgent();
      busy.add(agent);
      const conversationId = holdings.take(agent, random);
      const id = agentId(agent);
      const began = performance.now();
      try {
        const result = await router.commands.submit({
          commandId: randomUUID(),
          tenantId: TENANT,
          agentId: id,
          type: 'conversation.close',
          conversationId,
        });
        latencies.push(performance.now() - began);
        const handed = result.ok ? (result.data as { handed?: string[] } | undefined)?.handed : undefined;
        if (!handed || handed.length !== 1) {
          throw new BenchFailure(
            `closing ${conversationId} for ${id} answered ${JSON.stringify(result)} (expected exactly 1 conversation handed to ${id})`,
          );
        }
        holdings.give(agent, handed[0]);
        made += 1;
      } catch (error) {
        failure ??= error;
      } finally {
        busy.delete(agent);
        rss.sample();
        if (performance.now() >= nextProgress) {
          nextProgress += 5_000;
          err(`bench: ${label}: ${made}/${count} decisions, ${(made / ((performance.now() - started) / 1000)).toFixed(1)}/s`);
        }
      }
    }
  };

  // Each command in flight holds a different agent, so there can be no more of them than agents:
  // with more, pickAgent would wait for a free agent in a loop that never yields.
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, holdings.size) }, () => worker()));
  const wallMs = performance.now() - started;
  if (failure !== undefined) throw failure;
  const after = await batchCounters();
  const batches = after.batches - before.batches;
  const batched = after.batched - before.batched;
  return {
    latencies,
    wallMs,
    made,
    fallbacks: after.fallbacks - before.fallbacks,
    meanBatch: batches > 0 ? batched / batches : 1,
    batchedShare: made > 0 ? batched / made : 0,
  };
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function verify(admin: DataSource, size: SizeSpec, decisions: number): Promise<Check[]> {
  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => ((await admin.query(sql, params)) as T[])[0];
  const held = size.agents * ASYNC_CAP;
  const checks: Check[] = [];

  const audit = await one<{ assigns: number; closes: number }>(
    `SELECT count(*) FILTER (WHERE action = 'assign' AND actor = 'router')::int AS assigns,
            count(*) FILTER (WHERE action = 'close')::int AS closes
       FROM assignment_audit WHERE tenant_id = $1`,
    [TENANT],
  );
  checks.push({
    name: 'assigned by drain = decisions',
    ok: audit.assigns === decisions && audit.closes === decisions,
    detail: `drain assigns ${audit.assigns}, closes ${audit.closes}, decisions ${decisions}`,
  });

  const statuses = await one<{ queued: number; assigned: number; closed: number; live: number }>(
    `SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued,
            count(*) FILTER (WHERE status = 'assigned')::int AS assigned,
            count(*) FILTER (WHERE status = 'closed')::int AS closed,
            (SELECT count(*)::int FROM assignments WHERE state <> 'ended') AS live
       FROM conversations WHERE tenant_id = $1`,
    [TENANT],
  );
  checks.push({
    name: 'conversation states add up',
    ok:
      statuses.queued === size.queued - decisions &&
      statuses.assigned === held &&
      statuses.closed === decisions &&
      statuses.live === held,
    detail: `queued ${statuses.queued} (expected ${size.queued - decisions}), assigned ${statuses.assigned} and live assignments ${statuses.live} (expected ${held}), closed ${statuses.closed}`,
  });

  const overCap = await one<{ over: number; notFull: number }>(
    `SELECT count(*) FILTER (WHERE active_async > COALESCE(async_cap, $2::int) OR active_sync > COALESCE(sync_cap, 1))::int AS over,
            count(*) FILTER (WHERE active_async <> COALESCE(async_cap, $2::int))::int AS "notFull"
       FROM agents WHERE tenant_id = $1`,
    [TENANT, ASYNC_CAP],
  );
  checks.push({
    name: 'no agent over its cap (I2)',
    ok: overCap.over === 0,
    detail: `${overCap.over} agent(s) over cap`,
  });
  checks.push({
    name: 'freed capacity refilled',
    ok: overCap.notFull === 0,
    detail: `${overCap.notFull} agent(s) below cap while the queue is not empty`,
  });

  const counters = await one<{ mismatched: number; sample: string | null }>(
    `SELECT count(*)::int AS mismatched, min(a.id || ': ' || a.active_async || ' vs ' || COALESCE(s.live_async, 0)) AS sample
       FROM agents a
       LEFT JOIN (SELECT agent_id, count(*) FILTER (WHERE mode = 'async') AS live_async,
                         count(*) FILTER (WHERE mode = 'sync') AS live_sync
                    FROM assignments WHERE state <> 'ended' GROUP BY agent_id) s ON s.agent_id = a.id
      WHERE a.tenant_id = $1
        AND (a.active_async <> COALESCE(s.live_async, 0) OR a.active_sync <> COALESCE(s.live_sync, 0))`,
    [TENANT],
  );
  checks.push({
    name: 'counters = live assignment rows',
    ok: counters.mismatched === 0,
    detail: counters.mismatched === 0 ? 'all agents match' : `${counters.mismatched} mismatch(es), e.g. ${counters.sample}`,
  });

  const holders = await one<{ bad: number }>(
    `SELECT count(*)::int AS bad FROM conversations c
      WHERE c.tenant_id = $1 AND c.status = 'assigned'
        AND NOT EXISTS (SELECT 1 FROM assignments s WHERE s.conversation_id = c.id AND s.state = 'active'
                                                      AND s.agent_id = c.assigned_agent_id)`,
    [TENANT],
  );
  checks.push({
    name: 'one live assignment per held conversation (I1)',
    ok: holders.bad === 0,
    detail: `${holders.bad} assigned conversation(s) without a matching live assignment`,
  });

  const order = await one<{ lastTaken: string | null; firstLeft: string | null; inOrder: boolean | null }>(
    `WITH taken AS (
       SELECT c.rank_at, c.id FROM conversations c
         JOIN assignment_audit au ON au.conversation_id = c.id AND au.action = 'assign'
        WHERE c.tenant_id = $1 ORDER BY c.rank_at DESC, c.id DESC LIMIT 1),
     left_ AS (
       SELECT rank_at, id FROM conversations WHERE tenant_id = $1 AND status = 'queued' ORDER BY rank_at, id LIMIT 1)
     SELECT (SELECT rank_at::text FROM taken) AS "lastTaken", (SELECT rank_at::text FROM left_) AS "firstLeft",
            (SELECT (t.rank_at, t.id) < (l.rank_at, l.id) FROM taken t, left_ l) AS "inOrder"`,
    [TENANT],
  );
  checks.push({
    name: 'queue order kept (I6)',
    ok: order.inOrder !== false,
    detail: `last item taken ranks ${order.lastTaken}, first item left ranks ${order.firstLeft}`,
  });
  return checks;
}

// ---------------------------------------------------------------------------------------------
// --explain: plans of every statement in one close+drain transaction

interface Explained {
  sql: string;
  plan: string[];
  executionMs: number;
}

function explainingRunner(runner: QueryRunner, captured: Explained[]): QueryRunner {
  return new Proxy(runner, {
    get(target, property, receiver) {
      if (property === 'query') {
        // A query is SQL text or, for a named prepared statement, pg's { name, text } config.
        return async (query: string | { text: string }, parameters?: unknown[], structured?: boolean) => {
          const text = typeof query === 'string' ? query : query.text;
          if (/^\s*(SELECT|WITH|UPDATE|INSERT|DELETE)\b/i.test(text)) {
            await target.query('SAVEPOINT bench_explain');
            const plan = (await target.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, parameters)) as { 'QUERY PLAN': string }[];
            await target.query('ROLLBACK TO SAVEPOINT bench_explain');
            const lines = plan.map((row) => row['QUERY PLAN']);
            const execution = lines.find((line) => line.startsWith('Execution Time'));
            captured.push({
              sql: text.replace(/\s+/g, ' ').trim(),
              plan: lines,
              executionMs: execution ? Number(/([\d.]+) ms/.exec(execution)?.[1] ?? Number.NaN) : Number.NaN,
            });
          }
          const sent = query as string;
          return structured ? target.query(sent, parameters, true) : target.query(sent, parameters);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function explainOneDecision(router: Router, holdings: Holdings, random: () => number, size: SizeSpec): Promise<void> {
  const agent = Math.floor(random() * holdings.size);
  const conversationId = holdings.take(agent, random);
  const captured: Explained[] = [];
  await inTransaction(router.dataSource, async (runner) => {
    captured.length = 0;
    const collected: OutboxEvent[] = [];
    await router.closeUseCase.close(explainingRunner(runner, captured), agentId(agent), conversationId, collected);
    await writeOutbox(runner, collected);
  });
  router.relay.kick();
  err(`\n===== EXPLAIN (ANALYZE, BUFFERS): one close+drain at size ${size.name} (${fmt(size.agents)} agents, ${fmt(size.queued)} queued) =====`);
  const total = captured.reduce((sum, entry) => sum + entry.executionMs, 0);
  err(`statements: ${captured.length}, summed execution time ${total.toFixed(3)} ms`);
  for (const [index, entry] of captured.entries()) {
    err(`\n--- #${index + 1} ${entry.executionMs.toFixed(3)} ms: ${entry.sql.slice(0, 160)}${entry.sql.length > 160 ? ' …' : ''}`);
    for (const line of entry.plan) err(`    ${line}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

interface SizeResult {
  spec: SizeSpec;
  seedMs: number;
  warmupMade: number;
  decisionsMade: number;
  decisionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  wallMs: number;
  fallbacks: number;
  meanBatch: number;
  batchedShare: number;
  rssPeakMb: number;
  outboxLeft: number;
}

async function main(): Promise<SizeResult[]> {
  const runId = Date.now();
  const base = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  base.pathname = `/cr_bench_${runId}`;
  const url = base.toString();
  // Its own vhost too: the relay publishes every decision's events, which queues of a system
  // running on the default vhost (npm start) would otherwise collect.
  const brokerUrl = process.env.AMQP_URL || DEFAULT_AMQP_URL;
  const vhost = `cr-bench-routing-${runId}`;
  let vhostAdmin: VhostAdmin | undefined;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await dropDatabase(url).catch((error: Error) => err(`bench: could not drop ${safeUrl(url)}: ${error.message}`));
    await vhostAdmin?.remove(vhost).catch((error: Error) => err(`bench: could not delete vhost ${vhost}: ${error.message}`));
  };

  const watchdog = setTimeout(() => {
    err(`bench: FAILED — the run exceeded its time limit of ${TIME_LIMIT_MS / 1000} s`);
    void drop().finally(() => process.exit(1));
  }, TIME_LIMIT_MS);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      err(`bench: interrupted (${signal}); dropping the database and the vhost`);
      void drop().finally(() => process.exit(130));
    });
  }

  const rss = new RssPeak();
  let admin: DataSource | undefined;
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | undefined;
  try {
    const vhosts = await pickVhostAdmin(brokerUrl);
    await vhosts.create(vhost);
    vhostAdmin = vhosts;
    await ensureDatabase(url);
    admin = createDataSource({ url, poolSize: 2, applicationName: 'bench-admin' });
    await admin.initialize();
    await runMigrationsLocked(admin);

    const config = loadConfig(routerEnvSchema, {
      ...process.env,
      DATABASE_URL: url,
      AMQP_URL: withVhost(brokerUrl, vhost),
      SCHEDULER_INTERVAL_MS: '0',
      LOG_LEVEL: 'warn',
      MIGRATIONS_RUN: 'false',
    });
    app = await NestFactory.createApplicationContext(RouterModule.forRoot(config), { logger: stderrLogger });
    const router: Router = {
      dataSource: app.get(DataSourceToken),
      commands: app.get(CommandController),
      closeUseCase: app.get(ConversationHandlingUseCase),
      relay: app.get(OutboxRelay),
    };
    err(
      `bench: database ${safeUrl(url)}, router pool ${config.DATABASE_POOL_SIZE}, broker ${safeUrl(config.AMQP_URL)}, ` +
        `RSS after start ${fmt(mb(process.memoryUsage.rss()), 1)} MB`,
    );

    const results: SizeResult[] = [];
    for (const [index, spec] of SIZES.entries()) {
      if (spec.warmup + spec.decisions + (EXPLAIN ? 1 : 0) > spec.queued) {
        throw new BenchFailure(`size ${spec.name}: ${spec.warmup + spec.decisions} decisions exceed ${spec.queued} queued items`);
      }
      if (index > 0) await truncateAll(admin);
      const seedStarted = performance.now();
      await seed(admin, spec);
      const seedMs = performance.now() - seedStarted;
      err(
        `bench: ${spec.name}: seeded ${fmt(spec.agents)} agents (${fmt(spec.agents * ASYNC_CAP)} held threads) and ` +
          `${fmt(spec.queued)} queued items in ${(seedMs / 1000).toFixed(1)} s; RSS now ${fmt(mb(process.memoryUsage.rss()), 1)} MB`,
      );

      const random = prng(SEED + index);
      const holdings = new Holdings(spec.agents);
      global.gc?.();
      rss.reset();
      if (EXPLAIN) await explainOneDecision(router, holdings, random, spec);
      const warm = await runPhase(router, holdings, random, spec.warmup, spec.warmupBudgetS, rss, `${spec.name} warm-up`);
      const measured = await runPhase(router, holdings, random, spec.decisions, spec.budgetS, rss, spec.name);
      const rssPeak = rss.value;
      err(`bench: ${spec.name}: RSS peak ${mb(rssPeak).toFixed(1)} MB (${rss.detail})`);
      if (measured.made < spec.decisions) {
        err(
          `bench: ${spec.name}: the ${spec.budgetS} s budget ended the measured phase after ${measured.made} of ` +
            `${spec.decisions} planned decisions`,
        );
      }
      const outboxLeft = await waitForOutbox(admin, router.relay, 15_000);

      const decisions = warm.made + measured.made + (EXPLAIN ? 1 : 0);
      const checks = await verify(admin, spec, decisions);
      for (const check of checks) err(`bench: ${spec.name}: ${check.ok ? 'ok  ' : 'FAIL'} ${check.name} — ${check.detail}`);
      const failed = checks.filter((check) => !check.ok);
      if (failed.length > 0) {
        throw new BenchFailure(`size ${spec.name}: invariants broken: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
      }

      const sorted = [...measured.latencies].sort((a, b) => a - b);
      results.push({
        spec,
        seedMs,
        warmupMade: warm.made,
        decisionsMade: measured.made,
        decisionsPerSec: measured.made / (measured.wallMs / 1000),
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted[sorted.length - 1],
        wallMs: measured.wallMs,
        fallbacks: warm.fallbacks + measured.fallbacks,
        meanBatch: measured.meanBatch,
        batchedShare: measured.batchedShare,
        rssPeakMb: mb(rssPeak),
        outboxLeft,
      });
    }
    return results;
  } finally {
    rss.stop();
    await app?.close().catch((error: Error) => err(`bench: closing the router failed: ${error.message}`));
    if (admin?.isInitialized) await admin.destroy().catch(() => undefined);
    await drop();
    clearTimeout(watchdog);
  }
}

function report(results: SizeResult[]): void {
  const [small, large] = results;
  const ratio = large.decisionsPerSec / small.decisionsPerSec;
  const header = ['size', 'agents', 'queued', 'held', 'seed s', 'warm-up', 'decisions', 'wall s', 'decisions/s', 'p50 ms', 'p99 ms', 'max ms', 'batch', 'batched', 'fallbacks', 'RSS peak MB'];
  const rows = results.map((r) => [
    r.spec.name,
    fmt(r.spec.agents),
    fmt(r.spec.queued),
    fmt(r.spec.agents * ASYNC_CAP),
    (r.seedMs / 1000).toFixed(1),
    r.warmupMade === r.spec.warmup ? fmt(r.warmupMade) : `${fmt(r.warmupMade)}/${fmt(r.spec.warmup)}`,
    r.decisionsMade === r.spec.decisions ? fmt(r.decisionsMade) : `${fmt(r.decisionsMade)}/${fmt(r.spec.decisions)}`,
    (r.wallMs / 1000).toFixed(2),
    fmt(r.decisionsPerSec, 1),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.maxMs.toFixed(2),
    r.meanBatch.toFixed(1),
    `${Math.round(r.batchedShare * 100)} %`,
    String(r.fallbacks),
    r.rssPeakMb.toFixed(1),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');

  out(
    `routing bench (${QUICK ? 'quick' : 'full'}): concurrency ${CONCURRENCY}, async cap ${ASYNC_CAP}, close commands through the router's batcher, PRNG seed ${SEED}`,
  );
  out(line(header));
  out(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) out(line(row));
  out(`ratio large/small decisions/s: ${ratio.toFixed(3)}`);
  for (const r of results) {
    if (r.decisionsMade < r.spec.decisions || r.warmupMade < r.spec.warmup) {
      out(
        `note: ${r.spec.name}: time budget (${r.spec.warmupBudgetS} s warm-up, ${r.spec.budgetS} s measured) cut the run short: ` +
          `${fmt(r.warmupMade)}/${fmt(r.spec.warmup)} warm-up, ${fmt(r.decisionsMade)}/${fmt(r.spec.decisions)} measured decisions`,
      );
    }
    if (r.outboxLeft > 0) out(`note: ${r.spec.name}: ${r.outboxLeft} outbox row(s) still unpublished 15 s after the run`);
  }
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  out(
    `targets: large ≥ ${fmt(TARGETS.largeDecisionsPerSec)} decisions/s: ${met(large.decisionsPerSec >= TARGETS.largeDecisionsPerSec)}; ` +
      `ratio ≥ ${TARGETS.ratio}: ${met(ratio >= TARGETS.ratio)}; ` +
      `large RSS ≤ ${TARGETS.largeRssMb} MB: ${met(large.rssPeakMb <= TARGETS.largeRssMb)}`,
  );
  out(
    JSON.stringify({
      small: { decisionsPerSec: round(small.decisionsPerSec, 1), p99Ms: round(small.p99Ms, 2) },
      large: { decisionsPerSec: round(large.decisionsPerSec, 1), p99Ms: round(large.p99Ms, 2) },
      ratio: round(ratio, 3),
    }),
  );
}

/**
 * Runs this script again with the services' heap flags, forwarding its exit code. A terminal's
 * Ctrl-C reaches the child directly (same process group); a SIGTERM sent to this process is passed on.
 */
function rerunWithServiceFlags(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...SERVICE_NODE_FLAGS, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (!process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size'))) {
  rerunWithServiceFlags();
} else {
  main().then(
    (results) => {
      report(results);
      process.exit(0);
    },
    (error: Error) => {
      err(`bench: FAILED — ${error instanceof BenchFailure ? error.message : (error.stack ?? error.message)}`);
      process.exit(1);
    },
  );
}
