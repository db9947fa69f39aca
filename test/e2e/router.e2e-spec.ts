/**
 * The router as a real process against real RabbitMQ and Postgres: what another system publishes
 * comes out as persisted history and agent events; bad input is dead-lettered; duplicates are
 * harmless; kill -9 loses nothing; SIGTERM drains.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXCHANGES, HEADERS, QUEUES, routingKeys } from '@app/contracts';
import { deadLetterQueueName } from '@app/messaging';
import { buildEnvelope, openDatabase, seedAgents, ServiceProcess, TestBroker, waitFor } from '@app/testing';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

const newTenant = () => `t-${randomUUID().slice(0, 8)}`;

describe('router (process)', () => {
  const pool = openDatabase();
  let broker: TestBroker;
  let router: ServiceProcess;

  beforeAll(async () => {
    broker = await TestBroker.open();
    router = await ServiceProcess.start('router');
  });

  afterAll(async () => {
    await router?.stop();
    await broker?.close();
    await pool.end();
  });

  it('npm run send → a persisted message and an assignment event for a free agent, visible in /metrics', async () => {
    const tenant = newTenant();
    const agentId = `${tenant}-a1`;
    await seedAgents(pool, [{ id: agentId, tenantId: tenant }]);
    const events = await broker.collect(EXCHANGES.agent, `agent.${agentId}.#`);

    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'dist/scripts/send.js'), '--channel', 'sms', '--from', '+15550001111', '--text', 'hello', '--tenant', tenant],
      { env: process.env },
    );
    const { messageId } = JSON.parse(stdout) as { messageId: string };

    const [assigned] = await events.waitForCount(1, 'assignment event');
    expect(assigned.routingKey).toBe(routingKeys.agent(agentId, 'assigned'));
    expect(assigned.body).toMatchObject({ type: 'agent.assigned', agentId, channel: 'sms', mode: 'async', via: 'routing' });
    expect(assigned.headers[HEADERS.correlationId]).toBe(messageId);

    const { rows } = await pool.query(
      `SELECT m.body, c.status, c.assigned_agent_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1`,
      [messageId],
    );
    expect(rows).toEqual([{ body: 'hello', status: 'assigned', assigned_agent_id: agentId }]);

    const metrics = await (await fetch(router.url('/metrics'))).text();
    expect(metrics).toMatch(/router_messages_total\{channel="sms",outcome="stored"\} [1-9]/);
    expect(metrics).toMatch(/router_assignments_total\{mode="async"\} [1-9]/);
  });

  it('continues the open conversation and tells the holding agent about the new message', async () => {
    const tenant = newTenant();
    const agentId = `${tenant}-a1`;
    await seedAgents(pool, [{ id: agentId, tenantId: tenant }]);
    const events = await broker.collect(EXCHANGES.agent, `agent.${agentId}.#`);
    const customer = { address: '+15550002222', displayName: 'Returning Customer' };
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', buildEnvelope({ tenantId: tenant, customer }));
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', buildEnvelope({ tenantId: tenant, customer, content: { text: 'again' } }));
    const received = await events.waitForCount(2, 'assigned + message events');
    expect(received.map((event) => event.routingKey).sort()).toEqual([
      routingKeys.agent(agentId, 'assigned'),
      routingKeys.agent(agentId, 'message'),
    ]);
    const { rows } = await pool.query(`SELECT count(DISTINCT conversation_id)::int AS conversations, count(*)::int AS messages
      FROM messages WHERE tenant_id = $1`, [tenant]);
    expect(rows[0]).toEqual({ conversations: 1, messages: 2 });
  });

  it('queues a conversation when nobody is free, and never over an agent cap', async () => {
    const tenant = newTenant();
    await seedAgents(pool, [{ id: `${tenant}-a1`, tenantId: tenant, asyncCap: 2 }]);
    for (let i = 0; i < 5; i += 1) {
      await broker.publish(EXCHANGES.inbound, 'inbound.sms', buildEnvelope({ tenantId: tenant }));
    }
    const counts = await waitFor(async () => {
      const { rows } = await pool.query(
        `SELECT count(*) FILTER (WHERE status = 'assigned')::int AS assigned, count(*) FILTER (WHERE status = 'queued')::int AS queued
           FROM conversations WHERE tenant_id = $1`,
        [tenant],
      );
      return rows[0].assigned + rows[0].queued === 5 ? rows[0] : undefined;
    }, 'five conversations resolved');
    expect(counts).toEqual({ assigned: 2, queued: 3 });
    const { rows } = await pool.query(`SELECT active_async FROM agents WHERE id = $1`, [`${tenant}-a1`]);
    expect(rows[0].active_async).toBe(2);
  });

  it('dead-letters an invalid envelope from another system with the reason, and keeps consuming', async () => {
    const tenant = newTenant();
    await broker.drain(deadLetterQueueName(QUEUES.routerInbound));
    const invalid = { ...buildEnvelope({ tenantId: tenant }), channel: 'carrier-pigeon' };
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', invalid);
    const valid = buildEnvelope({ tenantId: tenant });
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', valid);

    const [dead] = await broker.drainUntil(deadLetterQueueName(QUEUES.routerInbound), 1);
    expect(dead.headers[HEADERS.deadLetterCode]).toBe('invalid_envelope');
    expect(String(dead.headers[HEADERS.deadLetterReason])).toContain('channel');
    expect(dead.body).toEqual(invalid);
    await waitFor(async () => (await pool.query(`SELECT 1 FROM messages WHERE id = $1`, [valid.messageId])).rowCount === 1, 'valid message stored');
  });

  it('stores an envelope published twice once, and routes it once', async () => {
    const tenant = newTenant();
    const agentId = `${tenant}-a1`;
    await seedAgents(pool, [{ id: agentId, tenantId: tenant }]);
    const events = await broker.collect(EXCHANGES.agent, `agent.${agentId}.#`);
    const envelope = buildEnvelope({ tenantId: tenant });
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', envelope);
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', envelope);
    // Same provider id under a fresh message id (a provider retry re-normalized by an adapter).
    await broker.publish(EXCHANGES.inbound, 'inbound.sms', { ...envelope, messageId: randomUUID() });
    await events.waitForCount(1, 'assignment');
    await waitFor(async () => {
      const metrics = await (await fetch(router.url('/metrics'))).text();
      return /router_messages_total\{channel="sms",outcome="duplicate"\} ([2-9]|\d\d)/.test(metrics);
    }, 'duplicates counted');
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1`, [tenant]);
    expect(rows[0].n).toBe(1);
    expect(events.items).toHaveLength(1);
  });

  it('loses nothing when killed with -9 while messages are queued', async () => {
    const tenant = newTenant();
    const agents = Array.from({ length: 40 }, (_, i) => ({ id: `${tenant}-a${i}`, tenantId: tenant, asyncCap: 8 }));
    await seedAgents(pool, agents);
    await router.kill9();
    const total = 300;
    const envelopes = Array.from({ length: total }, () => buildEnvelope({ tenantId: tenant }));
    for (const envelope of envelopes) await broker.publish(EXCHANGES.inbound, 'inbound.sms', envelope);

    router = await ServiceProcess.start('router');
    await waitFor(async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1`, [tenant]);
      return rows[0].n > 20;
    }, 'processing under way', 30_000, 10);
    await router.kill9();
    router = await ServiceProcess.start('router');

    const stored = await waitFor(async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1`, [tenant]);
      return rows[0].n === total ? rows[0].n : undefined;
    }, `all ${total} messages stored`, 60_000, 200);
    expect(stored).toBe(total);

    const { rows: conversations } = await pool.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'assigned')::int AS assigned FROM conversations WHERE tenant_id = $1`,
      [tenant],
    );
    expect(conversations[0]).toEqual({ n: total, assigned: total });
    const { rows: drift } = await pool.query(
      `SELECT a.id, a.active_async, count(s.id)::int AS live
         FROM agents a LEFT JOIN assignments s ON s.agent_id = a.id AND s.state <> 'ended'
        WHERE a.tenant_id = $1 GROUP BY a.id HAVING a.active_async <> count(s.id) OR a.active_async > a.async_cap`,
      [tenant],
    );
    expect(drift).toEqual([]);
  });

  it('on SIGTERM turns unready at once, drains, and exits 0', async () => {
    const draining = await ServiceProcess.start('router', { SHUTDOWN_DELAY_MS: '1500' });
    const exit = draining.stop('SIGTERM');
    await waitFor(async () => (await fetch(draining.url('/health/ready'))).status === 503, 'readiness 503');
    expect((await fetch(draining.url('/health/live'))).status).toBe(200);
    expect(await exit).toBe(0);
    expect(draining.logs()).toContain('shutdown complete');
  });
});
