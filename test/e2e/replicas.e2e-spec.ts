/**
 * A2 and A3: several router processes share the work of many agents and conversations, with
 * scripted agents accepting, declining and closing over the broker. Postgres alone keeps the
 * invariants: no agent over a cap (now, and at any instant of the replayed audit log — A4), no
 * conversation with two live assignments, counters equal to the rows they count, nothing lost.
 * A2 runs with the routing timers off, so all the draining it needs comes from freed capacity.
 * Sizes are scaled for `npm test`; `npm run test:stress` runs the full sizes (A2_CONVERSATIONS etc).
 */
import { randomUUID } from 'node:crypto';
import { EXCHANGES } from '@app/contracts';
import { AgentDriver, buildEnvelope, openDatabase, replayAudit, ServiceProcess, TestBroker, waitFor } from '@app/testing';

const CONVERSATIONS = Number(process.env.A2_CONVERSATIONS ?? 2_000);
const AGENTS = Number(process.env.A2_AGENTS ?? 200);
const REPLICAS = Number(process.env.A2_REPLICAS ?? 4);
const TIMEOUT_MS = Number(process.env.A2_TIMEOUT_MS ?? 240_000);

interface Scenario {
  schedulerMs: number;
  faults: boolean;
}

describe('router replicas', () => {
  const pool = openDatabase();
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await TestBroker.open();
  });

  afterAll(async () => {
    await broker?.close();
    await pool.end();
  });

  async function run(scenario: Scenario) {
    const tenant = `rep-${randomUUID().slice(0, 8)}`;
    // With the timers off nothing withdraws an expired offer, so offers must outlive a slow machine.
    const offerTimeoutS = scenario.schedulerMs === 0 ? 3_600 : 20;
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, offer_timeout_s)
       VALUES ($1, 'live', 'Live', '{webchat}', $2), ($1, 'msg', 'Messaging', '{sms}', $2)`,
      [tenant, offerTimeoutS],
    );
    await pool.query(
      `INSERT INTO agents (id, tenant_id, name, presence, sync_cap, async_cap)
       SELECT $1 || '-a' || n, $1, 'Agent ' || n, 'online', 1, 8 FROM generate_series(1, $2) n`,
      [tenant, AGENTS],
    );
    // Their own connection name, so the faults below terminate these replicas' connections only,
    // never those of another test's router running at the same time on the same database.
    const applicationName = `router-${tenant}`;
    const env = {
      SCHEDULER_INTERVAL_MS: String(scenario.schedulerMs),
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '8',
      DATABASE_APPLICATION_NAME: applicationName,
    };
    const replicas: ServiceProcess[] = [];
    const driver = new AgentDriver(broker, { tenantId: tenant, declineRate: 0.1, maxHandleMs: 40 });
    let kills = 0;
    let terminations = 0;
    let faulting = false;
    let faults: Promise<void> = Promise.resolve();
    let maxConcurrentSnapshotDrift = 0;
    const started = Date.now();
    try {
      replicas.push(...(await Promise.all(Array.from({ length: REPLICAS }, () => ServiceProcess.start('router', env)))));
      await driver.start();
      faulting = scenario.faults;
      faults = (async () => {
        while (faulting) {
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          if (!faulting) break;
          const { rows } = await pool.query(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
              WHERE application_name = $1 AND datname = current_database()`,
            [applicationName],
          );
          terminations += rows[0].n;
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          if (!faulting) break;
          const victim = Math.floor(Math.random() * replicas.length);
          await replicas[victim].kill9();
          kills += 1;
          replicas[victim] = await ServiceProcess.start('router', env);
        }
      })();

      for (let i = 0; i < CONVERSATIONS; i += 1) {
        const channel = i % 4 === 0 ? 'webchat' : 'sms';
        await broker.publish(EXCHANGES.inbound, `inbound.${channel}`, buildEnvelope({ tenantId: tenant, channel }));
        if (i % 500 === 0) {
          // Counters and the rows they count, read in one snapshot while everything is moving.
          const { rows } = await pool.query(
            `SELECT count(*)::int AS drift FROM agents a
              WHERE a.tenant_id = $1
                AND (a.active_sync <> (SELECT count(*) FROM assignments s WHERE s.agent_id = a.id AND s.state <> 'ended' AND s.mode = 'sync')
                  OR a.active_async <> (SELECT count(*) FROM assignments s WHERE s.agent_id = a.id AND s.state <> 'ended' AND s.mode = 'async'))`,
            [tenant],
          );
          maxConcurrentSnapshotDrift = Math.max(maxConcurrentSnapshotDrift, rows[0].drift);
        }
      }
      await waitFor(
        async () => {
          const { rows } = await pool.query(
            `SELECT count(*) FILTER (WHERE status = 'closed')::int AS closed FROM conversations WHERE tenant_id = $1`,
            [tenant],
          );
          return rows[0].closed === CONVERSATIONS;
        },
        `all ${CONVERSATIONS} conversations handled and closed`,
        TIMEOUT_MS,
        250,
      ).catch(async (error: Error) => {
        const states = await pool.query(
          `SELECT status, mode, count(*)::int AS n FROM conversations WHERE tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
          [tenant],
        );
        const dead = await broker.drain('router.inbound.dlq');
        const deadCommands = await broker.drain('router.commands.dlq');
        const reasons = [...dead, ...deadCommands].map((d) => String(d.headers['x-dead-letter-reason'] ?? d.headers['x-first-death-reason']));
        throw new Error(`${error.message}; conversations by status: ${JSON.stringify(states.rows)}; dead letters: ${JSON.stringify(reasons.slice(0, 10))} (${reasons.length})`);
      });
    } finally {
      faulting = false;
      await faults.catch(() => undefined);
      driver.stop();
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
    const seconds = (Date.now() - started) / 1000;
    return { tenant, kills, terminations, seconds, maxConcurrentSnapshotDrift };
  }

  async function checkInvariants(tenant: string) {
    const messages = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT provider_message_id)::int AS distinct_ids FROM messages WHERE tenant_id = $1`, [tenant]);
    expect(messages.rows[0]).toEqual({ n: CONVERSATIONS, distinct_ids: CONVERSATIONS });
    const overCap = await pool.query(
      `SELECT id FROM agents WHERE tenant_id = $1 AND (active_sync > sync_cap OR active_async > async_cap OR active_sync < 0 OR active_async < 0)`,
      [tenant],
    );
    expect(overCap.rows).toEqual([]);
    const doubles = await pool.query(
      `SELECT conversation_id FROM assignments s JOIN conversations c ON c.id = s.conversation_id
        WHERE c.tenant_id = $1 AND s.state <> 'ended' GROUP BY conversation_id HAVING count(*) > 1`,
      [tenant],
    );
    expect(doubles.rows).toEqual([]);
    const drift = await pool.query(
      `SELECT a.id FROM agents a LEFT JOIN assignments s ON s.agent_id = a.id AND s.state <> 'ended'
        WHERE a.tenant_id = $1 GROUP BY a.id
       HAVING a.active_sync <> count(s.id) FILTER (WHERE s.mode = 'sync') OR a.active_async <> count(s.id) FILTER (WHERE s.mode = 'async')`,
      [tenant],
    );
    expect(drift.rows).toEqual([]);
    const replay = await replayAudit(pool, tenant);
    expect(replay.violations).toEqual([]);
    expect(replay.rows).toBeGreaterThan(CONVERSATIONS * 2);
    return replay;
  }

  it(`A2: ${REPLICAS} replicas, ${AGENTS} agents, ${CONVERSATIONS} mixed conversations — no timers needed, no invariant broken`, async () => {
    const result = await run({ schedulerMs: 0, faults: false });
    expect(result.maxConcurrentSnapshotDrift).toBe(0);
    const replay = await checkInvariants(result.tenant);
    const peakAsync = Math.max(...[...replay.peak.values()].map((peak) => peak.async));
    process.stdout.write(
      `A2: ${CONVERSATIONS} conversations in ${result.seconds.toFixed(1)} s, ${replay.rows} audit rows, peak async load ${peakAsync}\n`,
    );
  }, TIMEOUT_MS + 60_000);

  it(`A3: the same while a replica is killed -9 and Postgres connections are terminated every few seconds`, async () => {
    const result = await run({ schedulerMs: 1_000, faults: true });
    expect(result.kills).toBeGreaterThan(0);
    expect(result.terminations).toBeGreaterThan(0);
    await checkInvariants(result.tenant);
    process.stdout.write(
      `A3: ${CONVERSATIONS} conversations in ${result.seconds.toFixed(1)} s with ${result.kills} kills and ${result.terminations} terminated connections\n`,
    );
  }, TIMEOUT_MS + 60_000);
});
