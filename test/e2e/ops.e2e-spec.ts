/**
 * K2 and K3 (docs reliability): what Kubernetes relies on, against the services as real processes.
 *
 * K3 — a dependency down. The router, the SMS adapter and the gateway reach Postgres and RabbitMQ
 * through `StoppableProxy`s. Stopping a proxy resets every open connection and refuses new ones,
 * which is what a stopped dependency looks like from the service's side of the socket (a real
 * Postgres would first send an admin-shutdown error; a stopped broker a connection.close — the proxy
 * is the harsher case). Liveness must stay 200 and readiness turn 503 while the dependency is away;
 * when it listens again on the same port, readiness must return to 200 by itself within 10 s, in the
 * same process.
 *
 * K2 — SIGTERM under load. A router replica is terminated mid-way through a burst of envelopes while
 * another keeps running, and an SMS adapter mid-way through signed webhooks whose sender retries
 * until answered 200 (as Twilio does), a replacement then taking over its port. Readiness must be 503
 * at once after the signal, the process must exit 0 before SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS,
 * and nothing may be lost (every envelope / MessageSid stored once) or assigned twice.
 * "At once" allows one readiness answer that raced the signal (both pending in the same event-loop
 * turn); after the first 503 there must be no 200.
 * Sizes are small for `npm test`: K2_ENVELOPES, K2_AGENTS, K2_WEBHOOKS, K3_DOWN_MS and
 * K2_SHUTDOWN_DELAY_MS / K2_SHUTDOWN_TIMEOUT_MS scale them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES } from '@app/contracts';
import {
  AgentDriver,
  buildEnvelope,
  FakeTwilio,
  freePort,
  httpStatus,
  openDatabase,
  processAlive,
  replayAudit,
  seedAgents,
  ServiceProcess,
  StoppableProxy,
  TestBroker,
  twilioSignature,
  waitFor,
} from '@app/testing';

const ENVELOPES = Number(process.env.K2_ENVELOPES ?? 500);
const AGENTS = Number(process.env.K2_AGENTS ?? 12);
const WEBHOOKS = Number(process.env.K2_WEBHOOKS ?? 400);
const DOWN_MS = Number(process.env.K3_DOWN_MS ?? 4_000);
const SHUTDOWN = { SHUTDOWN_DELAY_MS: process.env.K2_SHUTDOWN_DELAY_MS ?? '1000', SHUTDOWN_TIMEOUT_MS: process.env.K2_SHUTDOWN_TIMEOUT_MS ?? '5000' };
const GRACE_MS = Number(SHUTDOWN.SHUTDOWN_DELAY_MS) + Number(SHUTDOWN.SHUTDOWN_TIMEOUT_MS);

const ACCOUNT = `AC${randomBytes(16).toString('hex')}`;
const TOKEN = randomBytes(16).toString('hex');
const PUBLIC_BASE = 'https://hooks.example.com/sms-gw';

function smsWebhook(port: number, params: Record<string, string>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/twilio/sms`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(`${PUBLIC_BASE}/twilio/sms`, params, TOKEN),
    },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(15_000),
  });
}

const smsParams = () => ({
  MessageSid: `SM${randomBytes(16).toString('hex')}`,
  AccountSid: ACCOUNT,
  From: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
  To: '+15005550006',
  Body: 'ops',
  NumMedia: '0',
});

const smsEnv = (twilio: FakeTwilio, tenant: string, port: number) => ({
  TWILIO_ACCOUNT_SID: ACCOUNT,
  TWILIO_AUTH_TOKEN: TOKEN,
  TWILIO_FROM: '+15005550006',
  TWILIO_API_BASE_URL: twilio.url,
  PUBLIC_BASE_URL: PUBLIC_BASE,
  TENANT_ID: tenant,
  HTTP_PORT: String(port),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newTenant = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * Polls readiness from the moment of the signal until the process stops answering: the statuses
 * seen in order and when the first 503 came.
 */
async function watchReadinessAfterSignal(service: ServiceProcess, signalledAt: number) {
  const statuses: Array<number | 'unreachable'> = [];
  let first503Ms: number | undefined;
  let okBefore503 = 0;
  let okAfter503 = 0;
  for (;;) {
    const status = await httpStatus(service, '/health/ready', 1_000);
    statuses.push(status);
    if (status === 503 && first503Ms === undefined) first503Ms = Date.now() - signalledAt;
    if (status === 200) {
      if (first503Ms === undefined) okBefore503 += 1;
      else okAfter503 += 1;
    }
    if (status === 'unreachable') break;
    await sleep(20);
  }
  return { polls: statuses.length, first503Ms, okBefore503, okAfter503 };
}

describe('ops (processes)', () => {
  const pool = openDatabase();
  let broker: TestBroker;
  let twilio: FakeTwilio;

  beforeAll(async () => {
    broker = await TestBroker.open();
    twilio = await FakeTwilio.start(ACCOUNT, TOKEN);
  });

  afterAll(async () => {
    await twilio?.close();
    await broker?.close();
    await pool.end();
  });

  describe('K3: a dependency stopped, then back', () => {
    let database: StoppableProxy;
    let rabbit: StoppableProxy;
    let services: ServiceProcess[] = [];
    let smsPort: number;
    const tenant = newTenant('k3');

    beforeAll(async () => {
      database = await StoppableProxy.start(process.env.DATABASE_URL!);
      rabbit = await StoppableProxy.start(process.env.AMQP_URL!);
      smsPort = await freePort();
      const env = {
        DATABASE_URL: database.rewrite(process.env.DATABASE_URL!),
        AMQP_URL: rabbit.rewrite(process.env.AMQP_URL!),
        LOG_LEVEL: 'warn',
      };
      services = await Promise.all([
        ServiceProcess.start('router', env),
        ServiceProcess.start('adapters/sms', { ...env, ...smsEnv(twilio, tenant, smsPort) }),
        ServiceProcess.start('gateway', env),
      ]);
    });

    afterAll(async () => {
      await Promise.all(services.map((service) => service.stop()));
      await database?.resume();
      await rabbit?.resume();
      await database?.stop();
      await rabbit?.stop();
    });

    async function outage(proxy: StoppableProxy) {
      const pids = services.map((service) => service.pid);
      const liveFailures = services.map(() => [] as Array<number | 'unreachable'>);
      await proxy.stop();
      const downAt = Date.now();
      const unreadyMs = await Promise.all(
        services.map((service) =>
          waitFor(async () => ((await httpStatus(service, '/health/ready')) === 503 ? Date.now() - downAt : undefined), `${service.name} unready`, 8_000, 100).catch(
            () => undefined,
          ),
        ),
      );
      // Held down a while (reconnect back-off grows meanwhile): alive, answering, unready throughout.
      const stillReady = services.map(() => 0);
      while (Date.now() - downAt < DOWN_MS) {
        await Promise.all(
          services.map(async (service, index) => {
            const live = await httpStatus(service, '/health/live');
            if (live !== 200) liveFailures[index]!.push(live);
            if ((await httpStatus(service, '/health/ready')) === 200) stillReady[index]! += 1;
          }),
        );
        await sleep(250);
      }
      await proxy.resume();
      const upAt = Date.now();
      const recoveredMs = await Promise.all(
        services.map((service) =>
          waitFor(async () => ((await httpStatus(service, '/health/ready')) === 200 ? Date.now() - upAt : undefined), `${service.name} ready again`, 10_000, 100).catch(
            () => undefined,
          ),
        ),
      );
      const results = services.map((service, index) => ({
        service: service.name,
        liveAlways200: liveFailures[index]!.length === 0,
        unreadyWithin8s: unreadyMs[index] !== undefined,
        neverReadyWhileDown: stillReady[index] === 0,
        readyAgainWithin10s: recoveredMs[index] !== undefined,
        samePidAlive: service.pid === pids[index] && processAlive(service.pid),
      }));
      process.stdout.write(
        `K3 ${proxy === database ? 'Postgres' : 'RabbitMQ'}: ${services
          .map((service, index) => `${service.name} 503 after ${unreadyMs[index] ?? '-'} ms, 200 again ${recoveredMs[index] ?? '-'} ms after return`)
          .join('; ')}\n`,
      );
      const failed = results.filter((result) => Object.values(result).includes(false));
      if (failed.length > 0) {
        const logs = services.map((service) => `--- ${service.name} ---\n${service.logs().slice(-1_500)}`).join('\n');
        process.stdout.write(`K3 failures: ${JSON.stringify(failed)}\n${logs}\n`);
      }
      return results;
    }

    const expected = (service: string) => ({
      service,
      liveAlways200: true,
      unreadyWithin8s: true,
      neverReadyWhileDown: true,
      readyAgainWithin10s: true,
      samePidAlive: true,
    });

    async function smsStillWorks(): Promise<void> {
      const params = smsParams();
      const response = await smsWebhook(smsPort, params);
      expect(response.status).toBe(200);
      await waitFor(
        async () => (await pool.query(`SELECT 1 FROM messages WHERE provider_message_id = $1`, [params.MessageSid])).rowCount === 1,
        'the webhook after recovery stored',
        20_000,
        100,
      );
    }

    it('Postgres stopped: liveness 200, readiness 503; back → ready again within 10 s, same process', async () => {
      const results = await outage(database);
      expect(results).toEqual(['router', 'adapters/sms', 'gateway'].map(expected));
      await smsStillWorks();
    }, 60_000);

    it('RabbitMQ stopped: liveness 200, readiness 503; back → ready again within 10 s, same process', async () => {
      const results = await outage(rabbit);
      expect(results).toEqual(['router', 'adapters/sms', 'gateway'].map(expected));
      await smsStillWorks();
    }, 60_000);
  });

  describe('K2: SIGTERM under load', () => {
    let survivor: ServiceProcess;

    beforeAll(async () => {
      survivor = await ServiceProcess.start('router', { LOG_LEVEL: 'warn' });
    });

    afterAll(async () => {
      await survivor?.stop();
    });

    it(`router: ${ENVELOPES} envelopes for ${AGENTS} agents, SIGTERM mid-way → 503 at once, drained, exit 0 in time, 0 lost, 0 double assignments`, async () => {
      const tenant = newTenant('k2');
      await pool.query(`INSERT INTO queues (tenant_id, id, name, channels, offer_timeout_s) VALUES ($1, 'msg', 'Messaging', '{sms}', 20)`, [tenant]);
      await seedAgents(pool, Array.from({ length: AGENTS }, (_, i) => ({ id: `${tenant}-a${i}`, tenantId: tenant, asyncCap: 8 })));
      const driver = new AgentDriver(broker, { tenantId: tenant, declineRate: 0.1, maxHandleMs: 40 });
      const victim = await ServiceProcess.start('router', SHUTDOWN);
      const stored = async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1`, [tenant])).rows[0].n as number;
      try {
        await driver.start();
        const publishing = (async () => {
          for (let i = 0; i < ENVELOPES; i += 1) {
            await broker.publish(EXCHANGES.inbound, 'inbound.sms', buildEnvelope({ tenantId: tenant }));
          }
        })();
        // The survivor is warm and the victim cold: on a busy machine the survivor alone can store the
        // first quarter, and a victim that stored nothing would prove no drain. Wait for both.
        const victimStored = async () =>
          Number(/router_messages_total\{channel="sms",outcome="stored"\} (\d+)/.exec(await (await fetch(victim.url('/metrics'))).text())?.[1] ?? 0);
        let handledBefore = 0;
        let storedBefore = 0;
        await waitFor(
          async () => {
            [handledBefore, storedBefore] = await Promise.all([victimStored(), stored()]);
            return handledBefore > 0 && storedBefore >= ENVELOPES / 4;
          },
          'the victim storing envelopes and a quarter stored in all',
          60_000,
          20,
        );

        const signalledAt = Date.now();
        const exit = victim.stop('SIGTERM');
        const readiness = await watchReadinessAfterSignal(victim, signalledAt);
        const code = await exit;
        const exitedMs = Date.now() - signalledAt;
        await publishing;

        await waitFor(
          async () => {
            const { rows } = await pool.query(`SELECT count(*) FILTER (WHERE status = 'closed')::int AS closed FROM conversations WHERE tenant_id = $1`, [tenant]);
            return rows[0].closed === ENVELOPES;
          },
          `all ${ENVELOPES} conversations routed, handled and closed`,
          90_000,
          250,
        ).catch(async (error: Error) => {
          const { rows } = await pool.query(`SELECT status, count(*)::int AS n FROM conversations WHERE tenant_id = $1 GROUP BY 1`, [tenant]);
          throw new Error(`${error.message}; by status ${JSON.stringify(rows)}`);
        });
        process.stdout.write(
          `K2 router: victim had stored ${handledBefore} of ${storedBefore} before SIGTERM; first 503 after ${readiness.first503Ms} ms ` +
            `(${readiness.polls} polls, ${readiness.okBefore503} × 200 before it); exit ${code} after ${exitedMs} ms (grace ${GRACE_MS} ms)\n`,
        );

        expect(readiness.okBefore503).toBeLessThanOrEqual(1);
        expect(readiness.okAfter503).toBe(0);
        expect(readiness.first503Ms).toBeLessThan(1_000);
        expect(code).toBe(0);
        expect(exitedMs).toBeLessThan(GRACE_MS);
        expect(victim.logs()).toContain('shutdown complete');

        const messages = await pool.query(
          `SELECT count(*)::int AS n, count(DISTINCT provider_message_id)::int AS distinct_ids FROM messages WHERE tenant_id = $1`,
          [tenant],
        );
        expect(messages.rows[0]).toEqual({ n: ENVELOPES, distinct_ids: ENVELOPES });
        const doubles = await pool.query(
          `SELECT conversation_id FROM assignments s JOIN conversations c ON c.id = s.conversation_id
            WHERE c.tenant_id = $1 AND s.state <> 'ended' GROUP BY conversation_id HAVING count(*) > 1`,
          [tenant],
        );
        expect(doubles.rows).toEqual([]);
        const drift = await pool.query(
          `SELECT a.id FROM agents a LEFT JOIN assignments s ON s.agent_id = a.id AND s.state <> 'ended'
            WHERE a.tenant_id = $1 GROUP BY a.id
           HAVING a.active_sync <> count(s.id) FILTER (WHERE s.mode = 'sync') OR a.active_async <> count(s.id) FILTER (WHERE s.mode = 'async')
               OR a.active_async > a.async_cap`,
          [tenant],
        );
        expect(drift.rows).toEqual([]);
        const replay = await replayAudit(pool, tenant);
        expect(replay.violations).toEqual([]);
        // Each conversation was at least assigned and closed: an audit row lost with the victim would show here.
        const perConversation = await pool.query(
          `SELECT count(*)::int AS n FROM conversations c
            WHERE c.tenant_id = $1
              AND NOT EXISTS (SELECT 1 FROM assignment_audit x WHERE x.conversation_id = c.id AND x.action = 'close')`,
          [tenant],
        );
        expect(perConversation.rows[0].n).toBe(0);
      } finally {
        driver.stop();
        await victim.kill9();
      }
    }, 180_000);

    it(`sms adapter: ${WEBHOOKS} signed webhooks with a retrying sender, SIGTERM mid-way → 503 at once, exit 0 in time, 0 lost after a replacement takes over`, async () => {
      const tenant = newTenant('k2sms');
      const port = await freePort();
      let adapter = await ServiceProcess.start('adapters/sms', { ...smsEnv(twilio, tenant, port), ...SHUTDOWN });
      const victim = adapter;
      const params = Array.from({ length: WEBHOOKS }, smsParams);
      const answers = new Map<string, number>();
      const count = (key: string) => answers.set(key, (answers.get(key) ?? 0) + 1);
      let next = 0;
      const sendWithRetry = async (item: Record<string, string>) => {
        for (;;) {
          try {
            const response = await smsWebhook(port, item);
            count(String(response.status));
            if (response.status === 200) return;
          } catch {
            count('no answer');
          }
          await sleep(50);
        }
      };
      let shutdown: { first503Ms?: number; okBefore503: number; okAfter503: number; polls: number; code: number | null; exitedMs: number } | undefined;
      const terminate = (async () => {
        await waitFor(() => next >= WEBHOOKS / 3, 'a third sent', 60_000, 10);
        const signalledAt = Date.now();
        const exit = adapter.stop('SIGTERM');
        const readiness = await watchReadinessAfterSignal(adapter, signalledAt);
        const code = await exit;
        shutdown = { ...readiness, code, exitedMs: Date.now() - signalledAt };
        adapter = await ServiceProcess.start('adapters/sms', { ...smsEnv(twilio, tenant, port), LOG_LEVEL: 'warn', ...SHUTDOWN });
      })();
      try {
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            while (next < WEBHOOKS) await sendWithRetry(params[next++]!);
          }),
        );
        await terminate;
        const sids = params.map((item) => item.MessageSid);
        const stored = await waitFor(
          async () => {
            const { rows } = await pool.query(
              `SELECT count(DISTINCT provider_message_id)::int AS n, count(*)::int AS total FROM messages WHERE tenant_id = $1 AND provider_message_id = ANY ($2)`,
              [tenant, sids],
            );
            return rows[0].n === WEBHOOKS ? rows[0] : undefined;
          },
          'every MessageSid stored',
          60_000,
          200,
        );
        process.stdout.write(
          `K2 sms: first 503 after ${shutdown?.first503Ms} ms (${shutdown?.polls} polls, ${shutdown?.okBefore503} × 200 before it); exit ${shutdown?.code} after ${shutdown?.exitedMs} ms (grace ${GRACE_MS} ms); answers ${JSON.stringify(Object.fromEntries(answers))}; notices sent meanwhile ${twilio.calls.length}\n`,
        );
        expect(stored).toEqual({ n: WEBHOOKS, total: WEBHOOKS });
        if (shutdown?.code !== 0) {
          const tail = victim.logs().split('\n').filter((line) => /"level":"(warn|error)"|shutting down|shutdown/.test(line));
          process.stdout.write(`--- terminated sms adapter (warnings, shutdown) ---\n${tail.slice(-20).join('\n')}\n`);
        }
        expect(shutdown).toMatchObject({ okBefore503: expect.any(Number), okAfter503: 0, code: 0 });
        expect(shutdown!.okBefore503).toBeLessThanOrEqual(1);
        expect(shutdown!.first503Ms).toBeLessThan(1_000);
        expect(shutdown!.exitedMs).toBeLessThan(GRACE_MS);
        // A refusal the provider retries is fine (503, reset); an error status would not be retried by every provider.
        expect([...answers.keys()].filter((key) => !['200', '503', 'no answer'].includes(key))).toEqual([]);
      } finally {
        await terminate.catch(() => undefined);
        await adapter.stop();
      }
    }, 180_000);
  });
});
