/**
 * The routing knobs of queues and agents, against real Postgres and RabbitMQ with a manual clock:
 * wrap-up, auto-accept, caps (global → queue → agent), the sync-blocks-async rule and its overrides,
 * the offline grace for async threads, first-reply timing, the wait/handle/first-response histograms,
 * and stickiness of a customer's new conversation to their last agent.
 */
import { replayAudit, waitFor, type Collected } from '@app/testing';
import { routerMetrics } from '../../apps/router/src/router.metrics';
import { routerHarness } from '../support/router-harness';

/** The global async cap this suite runs with: distinct from the queue's (2) and the agent's (3) below. */
const DEFAULT_ASYNC_CAP = 4;
const DEFAULTS = { syncCap: 1, asyncCap: DEFAULT_ASYNC_CAP };

describe('routing options', () => {
  const h = routerHarness({ env: { DEFAULT_ASYNC_CAP: String(DEFAULT_ASYNC_CAP) } });
  const { clock, agent, queue, ingest, stored, command, tick, conversation, loads, expectCountersMatchRows, idleAgents, histogram } = h;

  const heartbeat = async (...names: string[]) => {
    for (const name of names) expect(await command({ type: 'presence.heartbeat', agentId: agent(name) })).toMatchObject({ ok: true });
  };
  const eventsOf = (conversationId: string, type: string) =>
    h.agentEvents.matching((item: Collected) => {
      const body = item.body as { conversationId?: string; type?: string };
      return body.conversationId === conversationId && body.type === `agent.${type}`;
    });
  const auditOf = async (conversationId: string) =>
    (await h.pool.query(`SELECT action, agent_id, actor FROM assignment_audit WHERE conversation_id = $1 ORDER BY id`, [conversationId])).rows;
  const expectConsistent = async () => {
    await expectCountersMatchRows();
    expect((await replayAudit(h.pool, h.tenant, DEFAULTS)).violations).toEqual([]);
  };

  it('wrap-up: a closed call keeps its agent from new calls for the queue wrap-up, then the waiting call is offered to them by the timers', async () => {
    await queue('live', ['voice'], { wrap_up_s: 30 });
    await idleAgents(['a']);
    const call = await stored(ingest({ channel: 'voice' }));
    expect(call).toMatchObject({ status: 'offered', agentId: agent('a') });
    expect(await command({ type: 'offer.accept', agentId: agent('a'), conversationId: call.conversationId })).toMatchObject({ ok: true });
    clock.advance(10_000);
    const waiting = await stored(ingest({ channel: 'voice' }));
    expect(waiting.status).toBe('queued');

    const closedAt = clock.now();
    expect(await command({ type: 'conversation.close', agentId: agent('a'), conversationId: call.conversationId })).toEqual({
      ok: true,
      data: { handed: [] },
    });
    const { rows } = await h.pool.query(`SELECT wrap_up_until FROM agents WHERE id = $1`, [agent('a')]);
    expect(new Date(rows[0].wrap_up_until).getTime()).toBe(closedAt.getTime() + 30_000);

    clock.advance(29_000);
    await heartbeat('a');
    await tick();
    expect(await conversation(waiting.conversationId)).toMatchObject({ status: 'queued', assigned_agent_id: null });
    expect(await loads()).toEqual({ [agent('a')]: [0, 0] });

    clock.advance(2_000);
    await heartbeat('a');
    await tick();
    expect(await conversation(waiting.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('a') });
    const after = await h.pool.query(`SELECT wrap_up_until FROM agents WHERE id = $1`, [agent('a')]);
    expect(after.rows[0].wrap_up_until).toBeNull();
    await waitFor(() => eventsOf(waiting.conversationId, 'offer').length === 1, 'offer of the waiting call');
    await expectConsistent();
  });

  it('auto-accept: a call in an auto-accept queue is assigned at once, never offered, and fills the agent to 1/1', async () => {
    await queue('live', ['voice'], { auto_accept: true });
    await idleAgents(['a']);
    const call = await stored(ingest({ channel: 'voice' }));
    expect(call).toMatchObject({ status: 'assigned', agentId: agent('a') });
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });
    const assignments = await h.pool.query(`SELECT state, accepted_at, expires_at FROM assignments WHERE conversation_id = $1`, [call.conversationId]);
    expect(assignments.rows).toEqual([{ state: 'active', accepted_at: expect.any(Date), expires_at: null }]);
    const timing = await h.pool.query(`SELECT first_offered_at, first_assigned_at FROM conversation_timings WHERE conversation_id = $1`, [
      call.conversationId,
    ]);
    expect(timing.rows[0]).toEqual({ first_offered_at: null, first_assigned_at: expect.any(Date) });
    expect((await auditOf(call.conversationId)).map((row) => row.action)).toEqual(['enqueue', 'assign']);
    expect(await loads()).toEqual({ [agent('a')]: [1, 0] });

    // Full at 1/1: the next call waits.
    const next = await stored(ingest({ channel: 'voice' }));
    expect(next.status).toBe('queued');
    await waitFor(() => eventsOf(call.conversationId, 'assigned').length === 1, 'assigned event');
    expect(eventsOf(call.conversationId, 'offer')).toEqual([]);
    await expectConsistent();
  });

  it('caps: the queue cap overrides the global default, the agent cap overrides the queue cap', async () => {
    await queue('capped', ['sms'], { async_cap: 2 });
    await queue('msg', ['email']);
    // a: no cap of its own in a queue with cap 2; b: its own cap 3 there; c: neither, in a queue without a cap.
    await idleAgents(['a'], { queueIds: ['capped'] });
    for (let i = 0; i < 5; i += 1) await ingest({ channel: 'sms' });
    expect(await loads()).toEqual({ [agent('a')]: [0, 2] });

    await idleAgents(['b'], { queueIds: ['capped'], asyncCap: 3 });
    await ingest({ channel: 'sms' });
    await idleAgents(['c'], { queueIds: ['msg'] });
    for (let i = 0; i < DEFAULT_ASYNC_CAP + 1; i += 1) await ingest({ channel: 'email' });
    expect(await loads()).toEqual({ [agent('a')]: [0, 2], [agent('b')]: [0, 3], [agent('c')]: [0, DEFAULT_ASYNC_CAP] });

    const waiting = await h.pool.query(
      `SELECT queue_id, count(*)::int AS n FROM conversations WHERE tenant_id = $1 AND status = 'queued' GROUP BY queue_id ORDER BY queue_id`,
      [h.tenant],
    );
    expect(waiting.rows).toEqual([
      { queue_id: 'capped', n: 1 },
      { queue_id: 'msg', n: 1 },
    ]);
    await tick();
    expect(await loads()).toEqual({ [agent('a')]: [0, 2], [agent('b')]: [0, 3], [agent('c')]: [0, DEFAULT_ASYNC_CAP] });
    const replay = await replayAudit(h.pool, h.tenant, DEFAULTS);
    expect(Object.fromEntries([...replay.peak].map(([id, peak]) => [id, peak.async]))).toEqual({
      [agent('a')]: 2,
      [agent('b')]: 3,
      [agent('c')]: DEFAULT_ASYNC_CAP,
    });
    await expectConsistent();
  });

  it('sync blocks async by default; a queue lifts the rule, and an agent setting wins over the queue either way', async () => {
    await queue('live', ['voice']);
    await queue('msg', ['sms']);
    await queue('open', ['email'], { sync_blocks_async: false });
    // a: inherits; b: keeps the rule even in `open`; c: lifts it even in `msg`.
    await idleAgents(['a']);
    await idleAgents(['b'], { syncBlocksAsync: true });
    await idleAgents(['c'], { syncBlocksAsync: false });
    const calls = [];
    for (let i = 0; i < 3; i += 1) calls.push(await stored(ingest({ channel: 'voice' })));
    expect(calls.map((call) => call.agentId).sort()).toEqual([agent('a'), agent('b'), agent('c')]);
    for (const call of calls) {
      expect(await command({ type: 'offer.accept', agentId: call.agentId!, conversationId: call.conversationId })).toMatchObject({ ok: true });
    }

    // In `msg` (no setting) the rule holds for a and b, who hold nothing and would otherwise be the least loaded.
    const threads = [await stored(ingest({ channel: 'sms' })), await stored(ingest({ channel: 'sms' }))];
    expect(threads.map((thread) => thread.agentId)).toEqual([agent('c'), agent('c')]);
    // In `open` a, on a call, takes async threads; b (its own rule) does not, though it holds none.
    const emails = [await stored(ingest({ channel: 'email' })), await stored(ingest({ channel: 'email' }))];
    expect(emails.map((email) => email.agentId)).toEqual([agent('a'), agent('a')]);
    expect(await loads()).toEqual({ [agent('a')]: [1, 2], [agent('b')]: [1, 0], [agent('c')]: [1, 2] });
    await expectConsistent();
  });

  it('offline grace: an agent whose lease runs out keeps their threads for the queue grace, then they go to an online agent', async () => {
    await queue('msg', ['sms'], { offline_grace_s: 60 });
    await idleAgents(['a']);
    const threads = [await stored(ingest({ channel: 'sms' })), await stored(ingest({ channel: 'sms' }))];
    expect(threads.map((thread) => thread.agentId)).toEqual([agent('a'), agent('a')]);
    await idleAgents(['b']);

    clock.advance(31_000);
    await heartbeat('b');
    await tick();
    const presence = await h.pool.query(`SELECT presence, offline_since FROM agents WHERE id = $1`, [agent('a')]);
    expect(presence.rows[0]).toEqual({ presence: 'offline', offline_since: clock.now() });
    for (const thread of threads) expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });

    clock.advance(59_000);
    await heartbeat('b');
    await tick();
    for (const thread of threads) expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });
    expect(await loads()).toEqual({ [agent('a')]: [0, 2], [agent('b')]: [0, 0] });

    clock.advance(2_000);
    await heartbeat('b');
    await tick();
    for (const thread of threads) {
      expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('b') });
      expect((await auditOf(thread.conversationId)).slice(-2)).toEqual([
        { action: 'requeue', agent_id: agent('a'), actor: 'system' },
        { action: 'assign', agent_id: agent('b'), actor: 'router' },
      ]);
    }
    expect(await loads()).toEqual({ [agent('a')]: [0, 0], [agent('b')]: [0, 2] });
    await expectConsistent();
  });

  it('first agent reply: stamped once, and the first-response histogram counts it once', async () => {
    await queue('msg', ['sms']);
    const labels = { queue: 'msg', mode: 'async' };
    const before = await histogram(routerMetrics.firstResponseSeconds, labels);
    const queuedAt = clock.now();
    const thread = await stored(ingest({ channel: 'sms' }));
    expect(thread.status).toBe('queued');
    clock.advance(30_000);
    await idleAgents(['a']);
    expect(await conversation(thread.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });

    clock.advance(14_000);
    const repliedAt = clock.now();
    const reply = (text: string) =>
      command({ type: 'conversation.reply', agentId: agent('a'), conversationId: thread.conversationId, clientMessageId: `m-${text}`, text });
    expect(await reply('first')).toMatchObject({ ok: true });
    const stamp = async () =>
      (await h.pool.query(`SELECT first_agent_reply_at FROM conversation_timings WHERE conversation_id = $1`, [thread.conversationId])).rows[0]
        .first_agent_reply_at as Date;
    expect(await stamp()).toEqual(repliedAt);
    expect(await histogram(routerMetrics.firstResponseSeconds, labels)).toEqual({
      count: before.count + 1,
      sum: before.sum + (repliedAt.getTime() - queuedAt.getTime()) / 1000,
    });

    clock.advance(10_000);
    expect(await reply('second')).toMatchObject({ ok: true });
    expect(await stamp()).toEqual(repliedAt);
    expect((await histogram(routerMetrics.firstResponseSeconds, labels)).count).toBe(before.count + 1);
    const sent = await h.pool.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND direction = 'outbound'`, [
      thread.conversationId,
    ]);
    expect(sent.rows[0].n).toBe(2);
    await expectConsistent();
  });

  it('wait and handle histograms: one sample per assignment and one per close, under the queue and mode', async () => {
    await queue('live', ['voice']);
    await queue('msg', ['sms']);
    const thread = { queue: 'msg', mode: 'async' };
    const call = { queue: 'live', mode: 'sync' };
    const samples = async () => ({
      waitThread: await histogram(routerMetrics.waitSeconds, thread),
      waitCall: await histogram(routerMetrics.waitSeconds, call),
      waitAll: (await histogram(routerMetrics.waitSeconds, {})).count,
      handleThread: await histogram(routerMetrics.handleSeconds, thread),
      handleCall: await histogram(routerMetrics.handleSeconds, call),
      handleAll: (await histogram(routerMetrics.handleSeconds, {})).count,
    });
    const start = await samples();

    // An async thread waits 31 s, is assigned (a wait sample), held 90 s and closed (a handle sample).
    const waiting = await stored(ingest({ channel: 'sms' }));
    clock.advance(30_000);
    await idleAgents(['a']);
    expect(await conversation(waiting.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });
    let now = await samples();
    expect(now.waitThread).toEqual({ count: start.waitThread.count + 1, sum: start.waitThread.sum + 31 });
    expect(now.waitAll).toBe(start.waitAll + 1);
    expect(now.handleAll).toBe(start.handleAll);
    clock.advance(90_000);
    expect(await command({ type: 'conversation.close', agentId: agent('a'), conversationId: waiting.conversationId })).toMatchObject({ ok: true });
    now = await samples();
    expect(now.handleThread).toEqual({ count: start.handleThread.count + 1, sum: start.handleThread.sum + 90 });
    expect(now.handleAll).toBe(start.handleAll + 1);
    expect(now.waitAll).toBe(start.waitAll + 1);

    // A call: the offer is no assignment; the accept 5 s later is (a wait sample); the close 60 s after that a handle sample.
    const live = await stored(ingest({ channel: 'voice' }));
    expect(live).toMatchObject({ status: 'offered', agentId: agent('a') });
    expect((await samples()).waitAll).toBe(start.waitAll + 1);
    clock.advance(5_000);
    expect(await command({ type: 'offer.accept', agentId: agent('a'), conversationId: live.conversationId })).toMatchObject({ ok: true });
    now = await samples();
    expect(now.waitCall).toEqual({ count: start.waitCall.count + 1, sum: start.waitCall.sum + 5 });
    expect(now.waitAll).toBe(start.waitAll + 2);
    expect(now.handleAll).toBe(start.handleAll + 1);
    clock.advance(60_000);
    expect(await command({ type: 'conversation.close', agentId: agent('a'), conversationId: live.conversationId })).toMatchObject({ ok: true });
    now = await samples();
    expect(now.handleCall).toEqual({ count: start.handleCall.count + 1, sum: start.handleCall.sum + 60 });
    expect(now.handleAll).toBe(start.handleAll + 2);
    expect(now.waitAll).toBe(start.waitAll + 2);
    await expectConsistent();
  });

  it("sticky: a customer's new conversation goes to their last agent when online with room, else to the least loaded", async () => {
    await queue('msg', ['sms', 'email']);
    const customerId = `crm-${h.tenant}`;
    const phone = { address: '+15550007777', customerId };

    await idleAgents(['c']);
    const other = await stored(ingest({ channel: 'sms' }));
    expect(other.agentId).toBe(agent('c'));
    await idleAgents(['a']);
    const first = await stored(ingest({ channel: 'sms', customer: phone }));
    expect(first).toMatchObject({ status: 'assigned', agentId: agent('a') });
    clock.advance(60_000);
    expect(await command({ type: 'conversation.close', agentId: agent('a'), conversationId: first.conversationId })).toMatchObject({ ok: true });
    await idleAgents(['b']);

    // A new channel, so a new conversation: back to a, though b (idle, never assigned) is the least-loaded pick.
    clock.advance(3_600_000);
    await heartbeat('a', 'b', 'c');
    const email = await stored(ingest({ channel: 'email', customer: { address: 'sticky@example.com', customerId } }));
    expect(email).toMatchObject({ opened: 'new', status: 'assigned', agentId: agent('a') });
    expect(email.conversationId).not.toBe(first.conversationId);
    await waitFor(() => eventsOf(email.conversationId, 'assigned').length === 1, 'sticky assignment event');
    expect(eventsOf(email.conversationId, 'assigned')[0].body).toMatchObject({ via: 'sticky' });

    // a goes offline: the customer's next new conversation (a new thread) goes to b, who holds less than c.
    expect(await command({ type: 'presence.set', agentId: agent('a'), presence: 'offline' })).toMatchObject({ ok: true });
    const thread = await stored(ingest({ channel: 'sms', customer: phone, provider: { messageId: `SM-${h.tenant}-2`, threadId: 'second' } }));
    expect(thread).toMatchObject({ opened: 'new', status: 'assigned', agentId: agent('b') });
    expect(await loads()).toEqual({ [agent('a')]: [0, 1], [agent('b')]: [0, 1], [agent('c')]: [0, 1] });
    await expectConsistent();
  });
});
