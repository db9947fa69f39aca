/**
 * `npm run bench [-- --quick] [-- --cpu-prof]`: the pipeline measured beside the physical limit, in
 * one run on this machine's RabbitMQ and Postgres (issue 8).
 *
 * 1. Raw hop (the limit): plain amqplib, persistent 512-byte messages into a quorum queue, publisher
 *    confirms with a window in flight, manual acks — saturation throughput, and p50/p99 at a fixed
 *    1,000 msg/s (bench/lib/raw-hop.ts).
 * 2. Pipeline: signed Twilio SMS webhooks over keep-alive HTTP → sms adapter → broker → router
 *    (stored, conversation resolved, routed, outbox) → agent event on the `agent` exchange, with the
 *    router and the adapter running as processes from dist/ (bench/lib/pipeline.ts). Mixed traffic:
 *    new conversations and follow-ups on threads that already have an agent; 100 online agents with
 *    a large async cap, so routing never waits for capacity. Closed-loop saturation, then p50/p99
 *    ingest→agent-event latency at offered rates of 500 and 1,000 msg/s.
 * 3. The adapter stage alone, the pipeline's upper bound: the same webhooks, answered by the sms
 *    adapter once the broker confirmed them, while the router is stopped (SIGSTOP) and does nothing;
 *    then the router continues (SIGCONT) and every message must still be stored once and reach an
 *    agent. Its latency column is the webhook's answer time.
 *
 * Isolation: its own vhost (management API or rabbitmqctl) and its own database (created, migrated,
 * seeded; dropped at the end, also on failure or interruption). Every phase ends with checks — every
 * message stored once, announced to an agent once, nothing nacked, lost or duplicated — and a broken
 * check fails the run (exit 1) instead of reporting a figure. RSS of the bench, the router and the
 * adapter is sampled from /proc throughout; the peak of each is reported.
 *
 * Output: a short table, then exactly one JSON line, last on stdout; progress and checks on stderr.
 * `--cpu-prof` runs the router and the adapter under `node --cpu-prof` and prints the top self-time
 * functions to stderr (the profiler slows them: figures from such a run are not the reference).
 * `BENCH_LOG_LEVEL` sets the services' LOG_LEVEL (default info, as deployed).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL } from '@app/config';
import { createDataSource, runMigrationsLocked } from '@app/persistence';
import { summarizeProfile } from './lib/cpu-profile';
import { dropDatabase, ensureDatabase, pickVhostAdmin, postgresVersion, withVhost, type VhostAdmin } from './lib/infrastructure';
import { PipelineDriver, type PhaseFigures } from './lib/pipeline';
import { RawHop, type RawHopResult } from './lib/raw-hop';
import { prng } from './lib/prng';
import { BenchFailure, err, fmt, mb, out, round, table } from './lib/report';
import { RssSampler } from './lib/rss-sampler';
import { ServiceProcess } from './lib/service-process';
import { newTwilioAccount } from './lib/sms-traffic';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const CPU_PROF = args.has('--cpu-prof');

const PLAN = QUICK
  ? {
      raw: { warmupMessages: 500, saturationMs: 2_000, latencyMs: 2_000 },
      pipeline: { warmupMessages: 100, saturationMs: 2_500, rateMs: 1_500, stageMs: 1_000, minDrainMs: 10_000 },
      timeLimitMs: 58_000,
    }
  : {
      raw: { warmupMessages: 2_000, saturationMs: 10_000, latencyMs: 10_000 },
      pipeline: { warmupMessages: 1_000, saturationMs: 20_000, rateMs: 10_000, stageMs: 5_000, minDrainMs: 30_000 },
      timeLimitMs: 600_000,
    };

const CONFIRM_WINDOW = 256;
const RAW_PREFETCH = 256;
const PIPELINE_CONCURRENCY = 128;
const FOLLOW_UP_SHARE = 0.5;
const AGENTS = 100;
const AGENT_ASYNC_CAP = 1_000;
const TARGETS = { ratio: 0.3, latencyRatio: 3, rssMb: 250 };
const PUBLIC_BASE_URL = 'https://hooks.bench.example.com/sms';

async function seed(databaseUrl: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`INSERT INTO queues (tenant_id, id, name, channels) VALUES ('default', 'sms', 'Bench SMS', '{sms}')`);
    await client.query(
      `INSERT INTO agents (id, tenant_id, name, presence, sync_cap, async_cap, lease_expires_at, presence_changed_at, idle_since)
       SELECT 'bench-' || lpad(i::text, 4, '0'), 'default', 'Agent ' || i, 'online', 0, $1::int, now() + interval '1 day',
              now(), now()
         FROM generate_series(1, $2::int) i`,
      [AGENT_ASYNC_CAP, AGENTS],
    );
    await client.query('VACUUM (ANALYZE)');
  } finally {
    await client.end();
  }
}

interface Figures {
  raw: RawHopResult;
  warmup: PhaseFigures;
  saturation: PhaseFigures;
  at500: PhaseFigures;
  at1000: PhaseFigures;
  adapterStage: PhaseFigures;
  newConversations: number;
  rss: Map<string, number>;
  rssWithStage: Map<string, number>;
  versions: { rabbitmq: string; postgres: string };
}

async function main(): Promise<Figures> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const brokerUrl = process.env.AMQP_URL || DEFAULT_AMQP_URL;
  const base = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  base.pathname = `/cr_bench_e2e_${runId}`;
  const databaseUrl = base.toString();
  const vhost = `cr-bench-${runId}`;
  const amqpUrl = withVhost(brokerUrl, vhost);
  const profileDir = join(tmpdir(), `cr-bench-${runId}`);

  const rss = new RssSampler(100);
  rss.watch('bench', process.pid);
  let vhostAdmin: VhostAdmin | undefined;
  let vhostCreated = false;
  let databaseCreated = false;
  const services: ServiceProcess[] = [];
  let driver: PipelineDriver | undefined;
  let raw: RawHop | undefined;

  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await driver?.close().catch(() => undefined);
      await raw?.close().catch(() => undefined);
      for (const service of services.reverse()) await service.stop().catch(() => undefined);
      // Also after a failure: where the time went is most interesting then.
      if (CPU_PROF && services.length > 0) {
        try {
          reportProfiles(profileDir);
        } catch (error) {
          err(`bench: could not summarise the profiles in ${profileDir}: ${(error as Error).message}`);
        }
      }
      if (databaseCreated) await dropDatabase(databaseUrl).catch((error: Error) => err(`bench: could not drop the database: ${error.message}`));
      if (vhostCreated) await vhostAdmin?.remove(vhost).catch((error: Error) => err(`bench: could not delete vhost ${vhost}: ${error.message}`));
    })());

  const watchdog = setTimeout(() => {
    err(`bench: FAILED — the run exceeded its time limit of ${PLAN.timeLimitMs / 1000} s`);
    void cleanup().finally(() => process.exit(1));
  }, PLAN.timeLimitMs);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      err(`bench: interrupted (${signal}); cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    vhostAdmin = await pickVhostAdmin(brokerUrl);
    await vhostAdmin.create(vhost);
    vhostCreated = true;
    err(`bench: vhost ${vhost} (via ${vhostAdmin.how}), database ${base.pathname.slice(1)}`);

    // 1. Raw hop.
    raw = new RawHop({
      url: amqpUrl,
      queue: `bench.raw-hop.${runId}`,
      confirmWindow: CONFIRM_WINDOW,
      prefetch: RAW_PREFETCH,
      warmupMessages: PLAN.raw.warmupMessages,
      saturationMs: PLAN.raw.saturationMs,
      latencyRate: 1_000,
      latencyMs: PLAN.raw.latencyMs,
    });
    await raw.open();
    const rawFigures = await raw.run();
    await raw.close();
    raw = undefined;
    err(
      `bench: raw hop: ${fmt(rawFigures.saturation.msgsPerSec)} msg/s saturated; at 1,000 msg/s p50 ` +
        `${rawFigures.fixedRate.latency.p50Ms.toFixed(2)} ms p99 ${rawFigures.fixedRate.latency.p99Ms.toFixed(2)} ms`,
    );

    // 2. Pipeline.
    await ensureDatabase(databaseUrl);
    databaseCreated = true;
    const dataSource = createDataSource({ url: databaseUrl, poolSize: 2, applicationName: 'bench-migrate' });
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    await dataSource.destroy();
    await seed(databaseUrl);
    const postgres = await postgresVersion(databaseUrl);

    const logLevel = process.env.BENCH_LOG_LEVEL || 'info';
    const common = { AMQP_URL: amqpUrl, DATABASE_URL: databaseUrl, LOG_LEVEL: logLevel, SHUTDOWN_DELAY_MS: '0' };
    const profileFlags = (name: string) => {
      if (!CPU_PROF) return [];
      mkdirSync(profileDir, { recursive: true });
      return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
    };
    const router = await ServiceProcess.start('router', { ...common, SCHEDULER_INTERVAL_MS: '0', MIGRATIONS_RUN: 'false' }, profileFlags('router'));
    services.push(router);
    rss.watch('router', router.pid);
    const account = newTwilioAccount(PUBLIC_BASE_URL);
    const adapter = await ServiceProcess.start(
      'adapters/sms',
      {
        ...common,
        TWILIO_ACCOUNT_SID: account.accountSid,
        TWILIO_AUTH_TOKEN: account.authToken,
        TWILIO_FROM: account.to,
        TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
        PUBLIC_BASE_URL,
        TENANT_ID: 'default',
      },
      profileFlags('adapter'),
    );
    services.push(adapter);
    rss.watch('sms adapter', adapter.pid);
    err(`bench: router pid ${router.pid} :${router.port}, sms adapter pid ${adapter.pid} :${adapter.port}, LOG_LEVEL ${logLevel}`);

    driver = new PipelineDriver({
      amqpUrl,
      databaseUrl,
      adapterPort: adapter.port,
      account,
      maxSockets: 512,
      followUpShare: FOLLOW_UP_SHARE,
      random: prng(0x5eed_0008),
    });
    await driver.open();
    const { pipeline: plan } = PLAN;
    const progress = (phase: PhaseFigures) =>
      err(
        `bench: pipeline ${phase.label}: ${fmt(phase.messages)} messages, ${fmt(phase.msgsPerSec, 1)} msg/s done, ` +
          `p50 ${phase.latency.p50Ms.toFixed(1)} ms, p99 ${phase.latency.p99Ms.toFixed(1)} ms`,
      );
    const warmup = await driver.closedLoop('warm-up', 32, 60_000, plan.warmupMessages, plan.minDrainMs);
    await driver.verify('warm-up');
    const saturation = await driver.closedLoop('saturation', PIPELINE_CONCURRENCY, plan.saturationMs, Number.POSITIVE_INFINITY, plan.minDrainMs);
    progress(saturation);
    await driver.verify('saturation');
    // An offered rate above what the pipeline sustains leaves a backlog: give it time to drain (twice
    // what the saturated rate needs) before an unanswered message counts as lost.
    const drainFor = (rate: number) => Math.max(plan.minDrainMs, (2 * rate * plan.rateMs) / saturation.msgsPerSec);
    const at500 = await driver.fixedRate('500 msg/s', 500, plan.rateMs, drainFor(500));
    progress(at500);
    await driver.verify('500 msg/s');
    const at1000 = await driver.fixedRate('1,000 msg/s', 1_000, plan.rateMs, drainFor(1_000));
    progress(at1000);
    await driver.verify('1,000 msg/s');
    // The issue's phases end here: the RSS target is read off them. The adapter stage drives the
    // adapter far harder than the pipeline ever does, so its peaks are reported on their own.
    const pipelinePeaks = rss.peaksBytes();
    const routerPid = router.pid;
    const signalRouter = (signal: NodeJS.Signals) => {
      if (routerPid !== undefined) process.kill(routerPid, signal);
    };
    const adapterStage = await driver.adapterOnly(
      'adapter stage alone',
      PIPELINE_CONCURRENCY,
      plan.stageMs,
      // The router then works off the stage's backlog: twice what the saturated rate needs.
      (backlog) => Math.max(plan.minDrainMs, (2_000 * backlog) / saturation.msgsPerSec),
      () => signalRouter('SIGSTOP'),
      () => signalRouter('SIGCONT'),
    );
    err(`bench: adapter stage alone: ${fmt(adapterStage.messages)} webhooks, ${fmt(adapterStage.msgsPerSec, 1)} msg/s answered`);
    await driver.verify('adapter stage alone');
    const newConversations = driver.newConversations;
    const stagePeaks = rss.peaksBytes();

    await cleanup();
    return {
      raw: rawFigures,
      warmup,
      saturation,
      at500,
      at1000,
      adapterStage,
      newConversations,
      rss: pipelinePeaks,
      rssWithStage: stagePeaks,
      versions: { rabbitmq: await rabbitmqVersion(brokerUrl), postgres },
    };
  } finally {
    rss.stop();
    await cleanup();
    clearTimeout(watchdog);
  }
}

async function rabbitmqVersion(url: string): Promise<string> {
  const { connect } = await import('amqplib');
  const connection = await connect(url);
  try {
    const properties = (connection as unknown as { connection: { serverProperties?: { version?: string } } }).connection.serverProperties;
    return properties?.version ?? 'unknown';
  } finally {
    await connection.close();
  }
}

function reportProfiles(dir: string): void {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const path = join(dir, file);
    const summary = summarizeProfile(path, 25);
    const busy = summary.totalMs - summary.idleMs;
    err(`\n===== ${path}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy =====`);
    err('top self time by function:');
    for (const entry of summary.functions) err(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(6)} ms  ${entry.name}`);
    err('self time by package / file:');
    for (const entry of summary.groups) err(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(6)} ms  ${entry.name}`);
  }
}

function report(figures: Figures): void {
  const { raw, saturation, at500, at1000, adapterStage } = figures;
  const ms = (value: number) => value.toFixed(2);
  const rows = [
    ['raw hop, saturated', fmt(raw.saturation.messages), '', fmt(raw.saturation.msgsPerSec), ms(raw.saturation.latency.p50Ms), ms(raw.saturation.latency.p99Ms), ms(raw.saturation.latency.maxMs)],
    ['raw hop, 1,000 msg/s', fmt(raw.fixedRate.messages), fmt(raw.fixedRate.achievedRate), '', ms(raw.fixedRate.latency.p50Ms), ms(raw.fixedRate.latency.p99Ms), ms(raw.fixedRate.latency.maxMs)],
    ...[saturation, at500, at1000, adapterStage].map((phase) => [
      phase === adapterStage
        ? 'adapter stage alone (router stopped)'
        : `pipeline, ${phase.offeredRate ? `${fmt(phase.offeredRate)} msg/s` : `saturated (${PIPELINE_CONCURRENCY} in flight)`}`,
      fmt(phase.messages),
      phase.achievedSendRate ? fmt(phase.achievedSendRate) : '',
      fmt(phase.msgsPerSec),
      ms(phase.latency.p50Ms),
      ms(phase.latency.p99Ms),
      ms(phase.latency.maxMs),
    ]),
  ];
  out(
    `e2e bench (${QUICK ? 'quick' : 'full'}${CPU_PROF ? ', UNDER --cpu-prof' : ''}): RabbitMQ ${figures.versions.rabbitmq}, Postgres ${figures.versions.postgres}, ` +
      `confirm window ${CONFIRM_WINDOW}, ${AGENTS} agents, ${FOLLOW_UP_SHARE * 100}% follow-ups`,
  );
  for (const line of table(['phase', 'messages', 'sent/s', 'done msg/s', 'p50 ms', 'p99 ms', 'max ms'], rows)) out(line);
  const totalSent = figures.warmup.messages + saturation.messages + at500.messages + at1000.messages + adapterStage.messages;
  out(`pipeline traffic: ${fmt(totalSent)} messages, ${fmt(figures.newConversations)} new conversations, ${fmt(totalSent - figures.newConversations)} follow-ups; all stored once and routed once`);
  const peaks = (of: Map<string, number>) => [...of].map(([name, bytes]) => `${name} ${mb(bytes).toFixed(0)} MB`).join(', ');
  out(`RSS peak (raw hop and pipeline phases): ${peaks(figures.rss)}; with the adapter stage too: ${peaks(figures.rssWithStage)}`);
  const ratio = saturation.msgsPerSec / raw.saturation.msgsPerSec;
  const latencyRatio = at1000.latency.p99Ms / raw.fixedRate.latency.p99Ms;
  const serviceRss = Math.max(...[...figures.rss].filter(([name]) => name !== 'bench').map(([, bytes]) => mb(bytes)));
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  out(
    `targets: pipeline/raw throughput ${ratio.toFixed(3)} ≥ ${TARGETS.ratio}: ${met(ratio >= TARGETS.ratio)}; ` +
      `p99 ratio at 1,000 msg/s ${latencyRatio.toFixed(2)} ≤ ${TARGETS.latencyRatio}: ${met(latencyRatio <= TARGETS.latencyRatio)}; ` +
      `service RSS ${serviceRss.toFixed(0)} MB ≤ ${TARGETS.rssMb} MB: ${met(serviceRss <= TARGETS.rssMb)}`,
  );
  out(
    JSON.stringify({
      rawHop: { msgsPerSec: round(raw.saturation.msgsPerSec, 1), p99Ms: round(raw.fixedRate.latency.p99Ms, 2) },
      pipeline: {
        msgsPerSec: round(saturation.msgsPerSec, 1),
        p50Ms: round(at1000.latency.p50Ms, 2),
        p99Ms: round(at1000.latency.p99Ms, 2),
        p99MsAt500: round(at500.latency.p99Ms, 2),
      },
      ratio: round(ratio, 3),
      latencyRatio: round(latencyRatio, 2),
      adapterStage: { msgsPerSec: round(adapterStage.msgsPerSec, 1), ratio: round(adapterStage.msgsPerSec / raw.saturation.msgsPerSec, 3) },
    }),
  );
}

main().then(
  (figures) => {
    report(figures);
    process.exit(0);
  },
  (error: Error) => {
    err(`bench: FAILED — ${error instanceof BenchFailure ? error.message : (error.stack ?? error.message)}`);
    process.exit(1);
  },
);
