/**
 * The routing engine against real Postgres and RabbitMQ, with a manual clock driving the timers:
 * offers, declines and timeouts (I5), caps and the sync/async rule (I2, I3), queue order and
 * draining on freed capacity (I6), stickiness, presence leases, and idempotent commands.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { type Gauge, register } from 'prom-client';
import { EXCHANGES, routerCommandSchema } from '@app/contracts';
import { replayAudit, seedAgents, TestBroker, waitFor, type Collector } from '@app/testing';
import { CommandController } from '../../apps/router/src/commands/command.controller';
import { routerMetrics } from '../../apps/router/src/router.metrics';
import { agentSeries, RoutingStats } from '../../apps/router/src/routing/routing-stats';
import { routerHarness, type CommandArgs } from '../support/router-harness';

describe('routing engine', () => {
  const h = routerHarness();
  const { clock, agent, ingest, command, tick, conversation, counters, expectCountersMatchRows, idleAgents } = h;
  let app: INestApplication;
  let pool: Pool;
  let broker: TestBroker;
  let agentEvents: Collector;
  let notices: Collector;
  let tenant: string;

  beforeAll(async () => {
    ({ app, pool, broker, agentEvents } = h);
    notices = await broker.collect(EXCHANGES.outbound, 'outbound.#');
  });

  beforeEach(async () => {
    tenant = h.tenant;
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, offer_timeout_s, wrap_up_s) VALUES
         ($1, 'live', 'Live', '{webchat,voice}', 20, 0), ($1, 'msg', 'Messaging', '{sms,email}', 20, 0)`,
      [tenant],
    );
  });

  it('offers sync work to the longest-idle free agent, moves on after a decline and never re-offers to the decliner', async () => {
    await idleAgents(['a', 'b']);
    const outcome = await ingest({ channel: 'webchat' });
    if (outcome.kind !== 'stored') throw new Error('not stored');
    expect(outcome).toMatchObject({ status: 'offered', agentId: agent('a') });

    expect(await command({ type: 'offer.decline', agentId: agent('a'), conversationId: outcome.conversationId })).toMatchObject({ ok: true });
    expect(await conversation(outcome.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('b') });

    expect(await command({ type: 'offer.decline', agentId: agent('b'), conversationId: outcome.conversationId })).toMatchObject({ ok: true });
    expect(await conversation(outcome.conversationId)).toMatchObject({ status: 'queued', assigned_agent_id: null });
    await tick();
    expect(await conversation(outcome.conversationId)).toMatchObject({ status: 'queued' });
    await expectCountersMatchRows();
  });

  it('withdraws an offer that times out and offers the next agent; a late accept is refused', async () => {
    await idleAgents(['a', 'b']);
    const outcome = await ingest({ channel: 'voice' });
    if (outcome.kind !== 'stored') throw new Error('not stored');
    clock.advance(20_001);
    await tick();
    expect(await conversation(outcome.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('b') });
    expect(await command({ type: 'offer.accept', agentId: agent('a'), conversationId: outcome.conversationId })).toMatchObject({
      ok: false,
      code: 'offer_unavailable',
    });
    expect(await command({ type: 'offer.accept', agentId: agent('b'), conversationId: outcome.conversationId })).toMatchObject({ ok: true });
    expect(await conversation(outcome.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('b') });
    await waitFor(
      () => agentEvents.matching((e) => e.routingKey === `agent.${agent('a')}.offer-withdrawn`).length === 1,
      'offer-withdrawn event for the first agent',
    );
  });

  it('keeps one sync item per agent and gives an agent on a call no async thread (I2, I3)', async () => {
    await idleAgents(['a']);
    const call = await ingest({ channel: 'voice' });
    if (call.kind !== 'stored') throw new Error('not stored');
    await command({ type: 'offer.accept', agentId: agent('a'), conversationId: call.conversationId });
    clock.advance(1_000);
    const secondCall = await ingest({ channel: 'voice' });
    clock.advance(1_000);
    const thread = await ingest({ channel: 'sms' });
    expect(secondCall).toMatchObject({ status: 'queued' });
    expect(thread).toMatchObject({ status: 'queued' });

    // Closing the call frees the agent: the queue drains at once, without waiting for a timer.
    expect(await command({ type: 'conversation.close', agentId: agent('a'), conversationId: call.conversationId })).toMatchObject({ ok: true });
    const statuses = await pool.query(
      `SELECT channel, status FROM conversations WHERE tenant_id = $1 AND id <> $2 ORDER BY channel`,
      [tenant, call.conversationId],
    );
    // The second call is offered; the sms thread waits, because an agent with a sync item gets no async work.
    expect(statuses.rows).toEqual([
      { channel: 'sms', status: 'queued' },
      { channel: 'voice', status: 'offered' },
    ]);
    await expectCountersMatchRows();
  });

  it('assigns async threads to the least-loaded agent and drains the queue in priority-then-age order', async () => {
    await idleAgents(['a', 'b'], { asyncCap: 2 });
    const first = await Promise.all([0, 1, 2, 3].map(() => ingest({ channel: 'sms' })));
    const loads = await counters();
    expect(loads.map((row) => row.active_async)).toEqual([2, 2]);
    expect(first.every((outcome) => outcome.kind === 'stored' && outcome.status === 'assigned')).toBe(true);

    const older = await ingest({ channel: 'sms' });
    clock.advance(60_000);
    const urgent = await ingest({ channel: 'sms', priority: 90 });
    clock.advance(60_000);
    const newer = await ingest({ channel: 'sms' });
    for (const waiting of [older, urgent, newer]) expect(waiting).toMatchObject({ status: 'queued' });

    const held = first[0];
    if (held.kind !== 'stored' || !held.agentId) throw new Error('not assigned');
    await command({ type: 'conversation.close', agentId: held.agentId, conversationId: held.conversationId });
    if (urgent.kind !== 'stored' || older.kind !== 'stored') throw new Error('not stored');
    expect(await conversation(urgent.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: held.agentId });
    expect(await conversation(older.conversationId)).toMatchObject({ status: 'queued' });
    await expectCountersMatchRows();
  });

  /** Conversation ids of ingest outcomes that were stored. */
  const stored = (outcomes: Array<Awaited<ReturnType<typeof ingest>>>) =>
    outcomes.map((outcome) => {
      if (outcome.kind !== 'stored') throw new Error('not stored');
      return outcome;
    });
  const batch = (inputs: CommandArgs[]) =>
    app.get(CommandController).executeBatch(
      inputs.map((input) => ({ command: routerCommandSchema.parse({ commandId: randomUUID(), tenantId: tenant, ...input }), correlationId: undefined })),
    );
  const fallbacks = async () => (await routerMetrics.commandBatchFallbacks.get()).values.reduce((sum, value) => sum + value.value, 0);
  const handled = async () =>
    (await routerMetrics.handleSeconds.get()).values
      .filter((value) => value.metricName === 'router_handle_seconds_count')
      .reduce((sum, value) => sum + value.value, 0);

  it('closes batched together hand each agent the next thread in queue order, as closes one by one would', async () => {
    await idleAgents(['a', 'b', 'c'], { asyncCap: 1 });
    const held = stored(await Promise.all([0, 1, 2].map(() => ingest({ channel: 'sms' }))));
    expect(held.map((outcome) => outcome.agentId).sort()).toEqual([agent('a'), agent('b'), agent('c')]);
    const waiting: string[] = [];
    for (const priority of [0, 0, 0, 90, 0]) {
      clock.advance(60_000);
      waiting.push(stored([await ingest({ channel: 'sms', priority })])[0].conversationId);
    }
    // Queue order: the urgent one (fourth to arrive), then the oldest two.
    const [w0, w1, w2, urgent, w4] = waiting;
    const before = await fallbacks();

    const results = await batch(held.map((outcome) => ({ type: 'conversation.close', agentId: outcome.agentId!, conversationId: outcome.conversationId })));
    expect(await fallbacks()).toBe(before);
    const handedTo = new Map(
      held.map((outcome, index) => {
        const settled = results[index];
        if (!settled.ok || !settled.outcome.ok) throw new Error(`close ${index} failed: ${JSON.stringify(settled)}`);
        const { handed } = settled.outcome.data as { handed: string[] };
        expect(handed).toHaveLength(1);
        return [outcome.agentId!, handed[0]];
      }),
    );
    // Agents in lock order (their ids) take the items in queue order.
    expect([agent('a'), agent('b'), agent('c')].map((id) => handedTo.get(id))).toEqual([urgent, w0, w1]);
    for (const [agentId, conversationId] of handedTo) {
      expect(await conversation(conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agentId });
    }
    for (const left of [w2, w4]) expect(await conversation(left)).toMatchObject({ status: 'queued' });
    for (const closed of held) expect(await conversation(closed.conversationId)).toMatchObject({ status: 'closed' });
    await expectCountersMatchRows();
    expect((await replayAudit(pool, tenant)).violations).toEqual([]);
  });

  it('a batched close of an agent with work waiting in two lanes drains lane by lane, skipping a call it declined; a refused close sends the batch one by one', async () => {
    await idleAgents(['a', 'b'], { asyncCap: 1 });
    const held = stored(await Promise.all([0, 1].map(() => ingest({ channel: 'sms' }))));
    const call = stored([await ingest({ channel: 'voice' })])[0];
    await command({ type: 'offer.decline', agentId: call.agentId!, conversationId: call.conversationId });
    await command({ type: 'offer.decline', agentId: agent(call.agentId === agent('a') ? 'b' : 'a'), conversationId: call.conversationId });
    clock.advance(60_000);
    const thread = stored([await ingest({ channel: 'sms' })])[0];
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'queued' });
    expect(await conversation(thread.conversationId)).toMatchObject({ status: 'queued' });

    // Both agents declined the call, so each close hands over the waiting thread or nothing.
    const results = await batch(held.map((outcome) => ({ type: 'conversation.close', agentId: outcome.agentId!, conversationId: outcome.conversationId })));
    const handed = results.map((settled) => (settled.ok && settled.outcome.ok ? (settled.outcome.data as { handed: string[] }).handed : undefined));
    expect(handed.flat().sort()).toEqual([thread.conversationId]);
    expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned' });
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'queued' });

    const before = await fallbacks();
    const handledBefore = await handled();
    const holder = (await conversation(thread.conversationId)).assigned_agent_id as string;
    const other = holder === agent('a') ? agent('b') : agent('a');
    const mixed = await batch([
      { type: 'conversation.close', agentId: holder, conversationId: thread.conversationId },
      { type: 'conversation.close', agentId: other, conversationId: thread.conversationId },
    ]);
    expect(await fallbacks()).toBe(before + 1);
    // The close ran in the batch that rolled back and again on its own: its handle time counts once.
    expect(await handled()).toBe(handledBefore + 1);
    expect(mixed.map((settled) => settled.ok && settled.outcome)).toEqual([
      { ok: true, data: { handed: [] } },
      { ok: false, code: 'not_holder', message: 'you do not hold this conversation' },
    ]);
    expect(await conversation(thread.conversationId)).toMatchObject({ status: 'closed' });
    await expectCountersMatchRows();
    expect((await replayAudit(pool, tenant)).violations).toEqual([]);
  });

  it('reopens a closed thread when the customer writes again and returns it to the same agent', async () => {
    await idleAgents(['a', 'b']);
    const customer = { address: '+15550003333' };
    const first = await ingest({ channel: 'sms', customer });
    if (first.kind !== 'stored' || !first.agentId) throw new Error('not assigned');
    await command({ type: 'conversation.close', agentId: first.agentId, conversationId: first.conversationId });
    clock.advance(3_600_000);
    const again = await ingest({ channel: 'sms', customer, content: { text: 'me again' } });
    expect(again).toMatchObject({ kind: 'stored', conversationId: first.conversationId, opened: 'reopened', agentId: first.agentId });
  });

  it('takes an agent whose lease ran out offline: a held call goes back to the front of the queue at once', async () => {
    await idleAgents(['a']);
    const call = await ingest({ channel: 'webchat' });
    if (call.kind !== 'stored') throw new Error('not stored');
    await command({ type: 'offer.accept', agentId: agent('a'), conversationId: call.conversationId });
    const thread = await ingest({ channel: 'sms' });
    expect(thread).toMatchObject({ status: 'queued' });
    await idleAgents(['b']);
    clock.advance(31_000);
    await command({ type: 'presence.heartbeat', agentId: agent('b') });
    await tick();
    const { rows } = await pool.query(`SELECT presence FROM agents WHERE id = $1`, [agent('a')]);
    expect(rows[0].presence).toBe('offline');
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('b') });
    await expectCountersMatchRows();
  });

  it('an offer put back by an agent going away reaches an agent who declined meanwhile (found by A1)', async () => {
    await idleAgents(['a', 'b']);
    const first = await h.stored(ingest({ channel: 'webchat' }));
    const second = await h.stored(ingest({ channel: 'webchat' }));
    expect([first.agentId, second.agentId]).toEqual([agent('a'), agent('b')]);
    // The interleaving A1 hit by chance: a's "away" puts its offer back and finds b still busy,
    // b declines and looks once more after commit, and only then does a's transaction commit. An
    // uncommitted row with a's command id holds a's transaction at its last insert.
    const awayId = randomUUID();
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO processed_commands (command_id, type, result) VALUES ($1, 'presence.set', '{}')`, [awayId]);
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const away = command({ commandId: awayId, type: 'presence.set', agentId: agent('a'), presence: 'away' });
      await waitFor(async () => {
        const blocked = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid))`, [rows[0].pid]);
        return blocked.rowCount === 1;
      }, "a's transaction waiting on the held row");
      expect(await command({ type: 'offer.decline', agentId: agent('b'), conversationId: second.conversationId })).toMatchObject({ ok: true });
      expect(await conversation(first.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('a') });
      await holder.query('ROLLBACK');
      expect(await away).toMatchObject({ ok: true });
    } finally {
      holder.release();
    }
    expect(await conversation(first.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('b') });
    expect(await conversation(second.conversationId)).toMatchObject({ status: 'queued' });
    await expectCountersMatchRows();
  });

  it('processes a command id once, however often it is delivered', async () => {
    await idleAgents(['a', 'b']);
    const thread = await ingest({ channel: 'sms' });
    if (thread.kind !== 'stored' || !thread.agentId) throw new Error('not assigned');
    const commandId = randomUUID();
    const transfer = { type: 'conversation.transfer' as const, agentId: thread.agentId, conversationId: thread.conversationId };
    const other = thread.agentId === agent('a') ? agent('b') : agent('a');
    const results = await Promise.all([1, 2, 3].map(() => command({ ...transfer, commandId, to: { agentId: other } } as CommandArgs).catch((e: Error) => e)));
    expect(results.filter((result) => !(result instanceof Error) && result.ok)).not.toHaveLength(0);
    expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: other });
    const audit = await pool.query(`SELECT count(*)::int AS n FROM assignment_audit WHERE conversation_id = $1 AND action = 'transfer'`, [
      thread.conversationId,
    ]);
    expect(audit.rows[0].n).toBe(1);
    await expectCountersMatchRows();
  });

  it('never exceeds a cap when many messages race for few agents', async () => {
    await idleAgents(['a', 'b', 'c'], { asyncCap: 2 });
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => ingest({ channel: 'sms' })));
    const assigned = outcomes.filter((outcome) => outcome.kind === 'stored' && outcome.status === 'assigned');
    expect(assigned).toHaveLength(6);
    const rows = await counters();
    expect(rows.map((row) => row.active_async)).toEqual([2, 2, 2]);
    await expectCountersMatchRows();
  });

  const noticesFor = (conversationId: string) =>
    notices.matching((item) => (item.body as { conversationId?: string }).conversationId === conversationId).map(
      (item) => item.body as { kind: string; position?: number; estimatedWaitS?: number; opensAt?: string; text: string },
    );

  it('tells waiting customers their position and expected wait, and messaging customers when to expect a reply', async () => {
    await idleAgents(['a']);
    const first = await ingest({ channel: 'webchat' });
    clock.advance(1_000);
    const second = await ingest({ channel: 'webchat' });
    clock.advance(1_000);
    const third = await ingest({ channel: 'webchat' });
    if (second.kind !== 'stored' || third.kind !== 'stored' || first.kind !== 'stored') throw new Error('not stored');
    expect(first.status).toBe('offered');
    await waitFor(() => noticesFor(third.conversationId).length === 1, 'position notice');
    expect(noticesFor(second.conversationId)[0]).toMatchObject({ kind: 'queue-position', position: 1 });
    expect(noticesFor(third.conversationId)[0]).toMatchObject({ kind: 'queue-position', position: 2 });
    expect(noticesFor(third.conversationId)[0].estimatedWaitS).toBeGreaterThan(0);

    // The only agent has a live offer, so an email waits (I3) and its customer hears when to expect a reply.
    const thread = await ingest({ channel: 'email' });
    if (thread.kind !== 'stored') throw new Error('not stored');
    expect(thread.status).toBe('queued');
    await waitFor(() => noticesFor(thread.conversationId).length === 1, 'expected-reply notice');
    expect(noticesFor(thread.conversationId)[0]).toMatchObject({ kind: 'expected-reply', expectedReplyS: 3600 });

    // Long waits hear again, every notice interval.
    clock.advance(61_000);
    await tick();
    await waitFor(() => noticesFor(third.conversationId).length === 2, 'repeated notice');
  });

  it('after its max wait a live item overflows, or becomes a message thread the customer is told about', async () => {
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, max_wait_s, overflow_queue_id) VALUES ($1, 'front', 'Front', '{voice}', 30, 'live')`,
      [tenant],
    );
    await pool.query(`UPDATE queues SET max_wait_s = 30 WHERE tenant_id = $1 AND id = 'live'`, [tenant]);
    const call = await ingest({ channel: 'voice' });
    if (call.kind !== 'stored') throw new Error('not stored');
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'queued', queue_id: 'front' });
    clock.advance(31_000);
    await tick();
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'queued', queue_id: 'live' });
    // The overflow queue's oldest wait starts when the item entered it, as its max wait does.
    expect((await app.get(RoutingStats).queues(tenant)).find((q) => q.queueId === 'live')).toMatchObject({ oldestWaitS: 0 });
    clock.advance(31_000);
    await tick();
    const { rows } = await pool.query(`SELECT mode, status FROM conversations WHERE id = $1`, [call.conversationId]);
    expect(rows[0]).toEqual({ mode: 'async', status: 'queued' });
    await waitFor(() => noticesFor(call.conversationId).some((n) => n.kind === 'downgraded'), 'downgrade notice');

    // An agent with async room now takes it as a thread: same conversation, same history.
    await idleAgents(['late']);
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('late') });
  });

  it('outside business hours a live chat becomes a thread with an after-hours notice naming the reopening', async () => {
    // 2026-11-23 is a Monday; the queue opens only on Tuesdays.
    await pool.query(
      `UPDATE queues SET business_hours = $2 WHERE tenant_id = $1 AND id = 'live'`,
      [tenant, JSON.stringify({ timeZone: 'UTC', weekly: { tue: [['09:00', '17:00']] } })],
    );
    const chat = await ingest({ channel: 'webchat' });
    if (chat.kind !== 'stored') throw new Error('not stored');
    const { rows } = await pool.query(`SELECT mode FROM conversations WHERE id = $1`, [chat.conversationId]);
    expect(rows[0].mode).toBe('async');
    await waitFor(() => noticesFor(chat.conversationId).length === 1, 'after-hours notice');
    const notice = noticesFor(chat.conversationId)[0];
    expect(notice.kind).toBe('after-hours');
    expect(new Date(notice.opensAt!).getUTCDay()).toBe(2);
  });

  it('escalates a thread to a live item and keeps it with the agent when they have sync room', async () => {
    await idleAgents(['a']);
    const thread = await ingest({ channel: 'sms' });
    if (thread.kind !== 'stored' || !thread.agentId) throw new Error('not assigned');
    expect(await command({ type: 'conversation.escalate', agentId: agent('a'), conversationId: thread.conversationId })).toMatchObject({
      ok: true,
      data: { status: 'assigned', agentId: agent('a') },
    });
    const rows = await counters();
    expect(rows[0]).toMatchObject({ active_sync: 1, active_async: 0 });
    await expectCountersMatchRows();
    expect((await replayAudit(pool, tenant)).violations).toEqual([]);
  });

  it('uses raised capacity at once, and reports live queue and agent statistics', async () => {
    await idleAgents(['a'], { asyncCap: 1 });
    await ingest({ channel: 'sms' });
    clock.advance(1_000);
    await ingest({ channel: 'sms' });
    const stats = app.get(RoutingStats);
    expect((await stats.queues(tenant)).find((q) => q.queueId === 'msg')).toMatchObject({
      waitingAsync: 1,
      waitingSync: 0,
      agentsOnline: 1,
      agentsAvailable: 1,
    });
    expect(
      await command({ type: 'agent.capacity.set', agentId: 'supervisor-1', targetAgentId: agent('a'), asyncCap: 2 }),
    ).toMatchObject({ ok: true });
    expect((await stats.queues(tenant)).find((q) => q.queueId === 'msg')).toMatchObject({ waitingAsync: 0 });
    expect((await stats.agents(tenant))[0]).toMatchObject({ agentId: agent('a'), activeAsync: 2, asyncCap: 2, presence: 'online' });

    // The per-agent gauges as a scrape reads them: each agent's load by mode and its presence (1 = current).
    const away = agent('0-away');
    await seedAgents(pool, [{ id: away, tenantId: tenant, presence: 'away' }]);
    const scrape = async (name: string) => {
      stats.invalidate();
      const { values } = await (register.getSingleMetric(name) as Gauge).get();
      return values
        .filter((value) => value.labels.tenant === tenant)
        .map(({ labels, value }): Record<string, string | number | undefined> => ({ ...labels, value }))
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    };
    expect(await scrape('router_agent_load')).toEqual([
      { tenant, agent: away, mode: 'async', value: 0 },
      { tenant, agent: away, mode: 'sync', value: 0 },
      { tenant, agent: agent('a'), mode: 'async', value: 2 },
      { tenant, agent: agent('a'), mode: 'sync', value: 0 },
    ]);
    expect(await scrape('router_agent_presence')).toEqual([
      { tenant, agent: away, presence: 'away', value: 1 },
      { tenant, agent: away, presence: 'offline', value: 0 },
      { tenant, agent: away, presence: 'online', value: 0 },
      { tenant, agent: agent('a'), presence: 'away', value: 0 },
      { tenant, agent: agent('a'), presence: 'offline', value: 0 },
      { tenant, agent: agent('a'), presence: 'online', value: 1 },
    ]);
    expect(await scrape('router_agent_series_omitted')).toEqual([{ tenant, value: 0 }]);
    // Over the limit, online agents keep their series before the away one (whose id sorts first).
    const limited = agentSeries(await stats.agents(tenant), 1);
    expect({ shown: limited.agents.map((a) => a.agentId), omitted: limited.omitted.get(tenant) }).toEqual({ shown: [agent('a')], omitted: 1 });
    // An agent that disappears leaves no stale series.
    await pool.query(`DELETE FROM agents WHERE id = $1`, [away]);
    expect((await scrape('router_agent_load')).map((series) => series.agent)).toEqual([agent('a'), agent('a')]);
    expect((await scrape('router_agent_presence')).map((series) => series.agent)).toEqual([agent('a'), agent('a'), agent('a')]);
  });

  it('agent statistics show caps as the desk and the supervisor do: own, else the most a queue served allows, else the default', async () => {
    // Defaults are 1 sync and 8 async; live caps sync at 2 (async uncapped: the default), msg caps async at 3.
    await pool.query(
      `UPDATE queues SET sync_cap = CASE id WHEN 'live' THEN 2 END, async_cap = CASE id WHEN 'msg' THEN 3 END WHERE tenant_id = $1`,
      [tenant],
    );
    // `every` has an empty queue list (every queue), `live` and `msg` serve one queue, `own` serves msg with its own async cap.
    await pool.query(
      `INSERT INTO agents (id, tenant_id, name, queue_ids, sync_cap, async_cap) VALUES
         ($2, $1, 'Every', '{}', NULL, NULL), ($3, $1, 'Live', '{live}', NULL, NULL), ($4, $1, 'Msg', '{msg}', NULL, NULL),
         ($5, $1, 'Own', '{msg}', NULL, 5)`,
      [tenant, agent('every'), agent('live'), agent('msg'), agent('own')],
    );
    const caps = (await app.get(RoutingStats).agents(tenant)).map(({ agentId, syncCap, asyncCap }) => ({ agentId, syncCap, asyncCap }));
    expect(caps).toEqual([
      { agentId: agent('every'), syncCap: 2, asyncCap: 8 },
      { agentId: agent('live'), syncCap: 2, asyncCap: 8 },
      { agentId: agent('msg'), syncCap: 1, asyncCap: 3 },
      { agentId: agent('own'), syncCap: 1, asyncCap: 5 },
    ]);
  });

  it('bot first: the bot gets the conversation, hands off with what it gathered, or is timed out', async () => {
    await pool.query(`UPDATE queues SET bot_first = true, bot_timeout_s = 30 WHERE tenant_id = $1 AND id = 'msg'`, [tenant]);
    const bots = await broker.collect(EXCHANGES.bot, 'bot.#');
    await idleAgents(['a']);
    const helped = await ingest({ channel: 'sms' });
    const silent = await ingest({ channel: 'sms' });
    if (helped.kind !== 'stored' || silent.kind !== 'stored') throw new Error('not stored');
    expect(helped.status).toBe('bot');
    await bots.waitForCount(2, 'bot messages');

    const result = await command({
      type: 'bot.handoff',
      agentId: 'faq-bot',
      conversationId: helped.conversationId,
      context: { summary: 'wants a refund for order 42', attributes: { order: '42' } },
    });
    expect(result).toMatchObject({ ok: true, data: { status: 'assigned', agentId: agent('a') } });
    const { rows } = await pool.query(`SELECT context FROM conversations WHERE id = $1`, [helped.conversationId]);
    expect(rows[0].context).toEqual({ bot: { summary: 'wants a refund for order 42', attributes: { order: '42' } } });

    clock.advance(31_000);
    await command({ type: 'presence.heartbeat', agentId: agent('a') });
    await tick();
    expect(await conversation(silent.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });
    expect(await command({ type: 'bot.resolve', agentId: 'faq-bot', conversationId: silent.conversationId })).toMatchObject({
      ok: false,
      code: 'not_with_bot',
    });
    expect((await replayAudit(pool, tenant)).violations).toEqual([]);
  });
});
