/**
 * What waiting customers are told, and when, against real Postgres and RabbitMQ with a manual clock:
 * a queue that closes while live work waits, a closed queue that says so once, a thread whose promised
 * reply is late, a bot hand-off entering the queue like a new conversation; and how a waiting item
 * moves: an upset follow-up moves it up, a transfer tells the new agent and is no second wait.
 */
import { EXCHANGES, inboundEnvelopeSchema } from '@app/contracts';
import { buildEnvelope, replayAudit, waitFor, type Collected, type Collector } from '@app/testing';
import { IngestMessageUseCase } from '../../apps/router/src/ingest/ingest-message.use-case';
import { routerMetrics } from '../../apps/router/src/router.metrics';
import { routerHarness } from '../support/router-harness';

interface Notice {
  kind: string;
  position?: number;
  expectedReplyS?: number;
  opensAt?: string;
  text: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const hhmm = (at: Date) => at.toISOString().slice(11, 16);

describe('customer notices and queue movement', () => {
  // Its clock jumps a week ahead: with a shared database its timers would act on other suites' work.
  const h = routerHarness({ ownDatabase: 'notices' });
  const { clock, agent, queue, ingest, stored, command, tick, conversation, idleAgents, histogram } = h;
  let notices: Collector;

  beforeAll(async () => {
    notices = await h.broker.collect(EXCHANGES.outbound, 'outbound.#');
  });

  /** Business hours (UTC) that are open now and close `minutes` from now, today only. */
  function openFor(minutes: number) {
    const now = clock.now();
    const closes = new Date(now.getTime() + minutes * 60_000);
    if (closes.getUTCDate() !== now.getUTCDate() || now.getUTCHours() === 0) clock.advance(2 * 3_600_000);
    const at = clock.now();
    const start = new Date(at.getTime() - 60_000);
    const end = new Date(at.getTime() + minutes * 60_000);
    return { timeZone: 'UTC', weekly: { [DAYS[at.getUTCDay()]]: [[hhmm(start), hhmm(end)]] } };
  }

  const noticesFor = (conversationId: string): Notice[] =>
    notices.matching((item: Collected) => (item.body as { conversationId?: string }).conversationId === conversationId).map((item) => item.body as Notice);
  const noticeState = async (conversationId: string) =>
    (await h.pool.query(`SELECT mode, status, last_notice_at, next_notice_at FROM conversations WHERE id = $1`, [conversationId])).rows[0] as {
      mode: string;
      status: string;
      last_notice_at: Date | null;
      next_notice_at: Date | null;
    };
  /** Ticks the timers every `stepS` seconds for `totalS` seconds of clock time. */
  async function ticksFor(totalS: number, stepS: number) {
    for (let passed = 0; passed < totalS; passed += stepS) {
      clock.advance(stepS * 1_000);
      await tick();
    }
  }

  it('a live chat still waiting when its queue closes becomes a thread, told once that the team is closed and when it is back', async () => {
    await queue('live', ['webchat'], { business_hours: openFor(5), downgrade_to_async: true, notice_interval_s: 60 });
    const chat = await stored(ingest({ channel: 'webchat' }));
    expect(chat.status).toBe('queued');
    await waitFor(() => noticesFor(chat.conversationId).length === 1, 'the position notice on arrival');
    expect(noticesFor(chat.conversationId)[0]).toMatchObject({ kind: 'queue-position', position: 1 });

    // Still open: the position again after the notice interval.
    await ticksFor(60, 60);
    await waitFor(() => noticesFor(chat.conversationId).length === 2, 'the repeated position notice');

    // The queue closes five minutes after the chat arrived: positions until then, then it becomes a thread, told once.
    await ticksFor(300, 30);
    await waitFor(() => noticesFor(chat.conversationId).some((notice) => notice.kind === 'after-hours'), 'the after-hours notice');
    expect(noticesFor(chat.conversationId).map((notice) => notice.kind)).toEqual([...Array(5).fill('queue-position'), 'after-hours']);
    const closedNotice = noticesFor(chat.conversationId)[5];
    const opensAt = new Date(closedNotice.opensAt!);
    expect(opensAt.getTime() - clock.now().getTime()).toBeGreaterThan(6 * 86_400_000);
    const told = await noticeState(chat.conversationId);
    expect(told).toMatchObject({ mode: 'async', status: 'queued' });
    expect(told.next_notice_at).toEqual(opensAt);

    // Closed for the next hour: no "we are closed" every interval.
    await ticksFor(3_600, 60);
    expect(await noticeState(chat.conversationId)).toEqual(told);
    expect((await h.pool.query(`SELECT count(*)::int AS n FROM assignment_audit WHERE conversation_id = $1 AND action = 'downgrade'`, [chat.conversationId])).rows[0].n).toBe(1);
  });

  it('a closed queue that keeps live work live says so once, and speaks again at its reopening', async () => {
    await queue('live', ['voice'], { business_hours: openFor(2), downgrade_to_async: false, notice_interval_s: 60 });
    const call = await stored(ingest({ channel: 'voice' }));
    await ticksFor(180, 60);
    await waitFor(() => noticesFor(call.conversationId).some((notice) => notice.kind === 'after-hours'), 'the after-hours notice');
    const told = await noticeState(call.conversationId);
    expect(told.mode).toBe('sync');
    await ticksFor(3_600, 120);
    expect(await noticeState(call.conversationId)).toEqual(told);
    expect(noticesFor(call.conversationId).filter((notice) => notice.kind === 'after-hours')).toHaveLength(1);

    // A week later the queue opens again, and the caller still waiting hears their position.
    clock.advance(told.next_notice_at!.getTime() - clock.now().getTime() + 1_000);
    await tick();
    await waitFor(() => noticesFor(call.conversationId).at(-1)?.kind === 'queue-position', 'the position notice at the reopening');
    expect(noticesFor(call.conversationId).at(-1)).toMatchObject({ position: 1 });
  });

  it('a thread hears again only once its promised reply is late, then after each new promise', async () => {
    await queue('msg', ['sms'], { expected_reply_s: 600, notice_interval_s: 60 });
    const thread = await stored(ingest({ channel: 'sms' }));
    await waitFor(() => noticesFor(thread.conversationId).length === 1, 'the expected-reply notice');
    expect(noticesFor(thread.conversationId)[0]).toMatchObject({ kind: 'expected-reply', expectedReplyS: 600 });
    const promised = await noticeState(thread.conversationId);

    // Within the promise: nothing, however many timer passes.
    await ticksFor(540, 60);
    expect(await noticeState(thread.conversationId)).toEqual(promised);

    await ticksFor(120, 60);
    await waitFor(() => noticesFor(thread.conversationId).length === 2, 'the late-reply notice');
    expect(noticesFor(thread.conversationId)[1]).toMatchObject({ kind: 'reply-late', expectedReplyS: 600 });
    expect(noticesFor(thread.conversationId)[1].text).toMatch(/^Sorry for the wait/);

    await ticksFor(540, 60);
    expect(noticesFor(thread.conversationId)).toHaveLength(2);
    expect((await noticeState(thread.conversationId)).last_notice_at).not.toEqual(promised.last_notice_at);
  });

  it('a bot hand-off enters the queue as a new conversation would: downgraded after hours and told so, or told its position', async () => {
    const bots = { bot_first: true, bot_timeout_s: 600, downgrade_to_async: true };
    await queue('live', ['webchat'], { ...bots, business_hours: openFor(3) });
    const early = await stored(ingest({ channel: 'webchat' }));
    const late = await stored(ingest({ channel: 'webchat' }));
    expect([early.status, late.status]).toEqual(['bot', 'bot']);

    expect(await command({ type: 'bot.handoff', agentId: 'faq-bot', conversationId: early.conversationId, context: { summary: 'billing' } })).toMatchObject({
      ok: true,
      data: { status: 'queued' },
    });
    await waitFor(() => noticesFor(early.conversationId).length === 1, 'the position notice after the hand-off');
    expect(noticesFor(early.conversationId)[0]).toMatchObject({ kind: 'queue-position', position: 1 });

    clock.advance(4 * 60_000);
    expect(await command({ type: 'bot.handoff', agentId: 'faq-bot', conversationId: late.conversationId })).toMatchObject({ ok: true });
    await waitFor(() => noticesFor(late.conversationId).length === 1, 'the after-hours notice after the hand-off');
    expect(noticesFor(late.conversationId)[0].kind).toBe('after-hours');
    expect(await conversation(late.conversationId)).toMatchObject({ status: 'queued', mode: 'async' });
  });

  it('a bot that answers the customer itself closes the conversation and its timings', async () => {
    await queue('msg', ['sms'], { bot_first: true, bot_timeout_s: 600 });
    const answered = await stored(ingest({ channel: 'sms' }));
    expect(await command({ type: 'bot.resolve', agentId: 'faq-bot', conversationId: answered.conversationId })).toMatchObject({ ok: true });
    const { rows } = await h.pool.query(`SELECT closed_at FROM conversation_timings WHERE conversation_id = $1`, [answered.conversationId]);
    expect(rows[0].closed_at).toEqual(clock.now());
  });

  it('an upset follow-up moves a waiting thread ahead of calmer ones that waited longer; a calm one leaves it in place', async () => {
    await queue('msg', ['sms'], { aging_per_minute: 1 });
    const customer = (n: number) => ({ address: `+1555010000${n}` });
    const envelope = (n: number, text: string) => inboundEnvelopeSchema.parse(buildEnvelope({ tenantId: h.tenant, channel: 'sms', customer: customer(n), content: { text } }));
    const older = await stored(ingest({ channel: 'sms', customer: customer(1), content: { text: 'hello' } }));
    clock.advance(60_000);
    const upset = await stored(ingest({ channel: 'sms', customer: customer(2), content: { text: 'hello' } }));
    clock.advance(60_000);
    const calm = await stored(ingest({ channel: 'sms', customer: customer(3), content: { text: 'hello' } }));
    const rank = async (id: string) => ((await h.pool.query(`SELECT rank_at FROM conversations WHERE id = $1`, [id])).rows[0].rank_at as Date).getTime();
    const [olderRank, upsetRank, calmRank] = [await rank(older.conversationId), await rank(upset.conversationId), await rank(calm.conversationId)];
    expect(olderRank).toBeLessThan(upsetRank);

    // Both follow-ups in one batch, as a loaded router stores them.
    const fallbacks = async () => (await routerMetrics.ingestBatchFallbacks.get()).values.reduce((sum, value) => sum + value.value, 0);
    const fellBack = await fallbacks();
    const batch = await h.app.get(IngestMessageUseCase).executeBatch(
      [envelope(3, 'thanks, no rush'), envelope(2, 'This is terrible, awful service, I am furious and angry')].map((e) => ({ envelope: e, correlationId: undefined })),
    );
    expect(batch.map((settled) => settled.ok && settled.outcome.kind)).toEqual(['stored', 'stored']);
    expect(await fallbacks()).toBe(fellBack);
    expect(await rank(calm.conversationId)).toBe(calmRank);
    expect(await rank(upset.conversationId)).toBeLessThan(olderRank);

    // One on its own, as a quiet router stores it.
    await stored(ingest({ channel: 'sms', customer: customer(3), content: { text: 'Still nothing? This is awful and I am angry' } }));
    expect(await rank(calm.conversationId)).toBeLessThan(calmRank);

    await idleAgents(['a'], { asyncCap: 1 });
    expect(await conversation(upset.conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a') });
    expect(await conversation(older.conversationId)).toMatchObject({ status: 'queued' });
  });

  it('a transfer tells the new agent it was transferred to them, and counts as an assignment but not as a second wait', async () => {
    await queue('msg', ['sms']);
    await idleAgents(['a', 'b']);
    const labels = { queue: 'msg', mode: 'async' };
    const waitsBefore = await histogram(routerMetrics.waitSeconds, labels);
    const thread = await stored(ingest({ channel: 'sms' }));
    expect(thread.agentId).toBe(agent('a'));
    expect((await histogram(routerMetrics.waitSeconds, labels)).count).toBe(waitsBefore.count + 1);
    const assignedBefore = (await routerMetrics.assignments.get()).values.find((value) => value.labels.mode === 'async')?.value ?? 0;

    clock.advance(3_600_000);
    await command({ type: 'presence.heartbeat', agentId: agent('a') });
    await command({ type: 'presence.heartbeat', agentId: agent('b') });
    expect(
      await command({ type: 'conversation.transfer', agentId: agent('a'), conversationId: thread.conversationId, to: { agentId: agent('b') } }),
    ).toMatchObject({ ok: true, data: { status: 'assigned', agentId: agent('b') } });

    const waits = await histogram(routerMetrics.waitSeconds, labels);
    expect(waits.count).toBe(waitsBefore.count + 1);
    expect((await routerMetrics.assignments.get()).values.find((value) => value.labels.mode === 'async')?.value).toBe(assignedBefore + 1);
    await waitFor(
      () =>
        h.agentEvents.matching(
          (item) => item.routingKey === `agent.${agent('b')}.assigned` && (item.body as { conversationId: string }).conversationId === thread.conversationId,
        )[0],
      'the assigned event for the new agent',
    );
    const event = h.agentEvents.matching((item) => item.routingKey === `agent.${agent('b')}.assigned`)[0].body as { via: string };
    expect(event.via).toBe('transfer');
    expect((await replayAudit(h.pool, h.tenant)).violations).toEqual([]);
  });

  it('a call whose offer was withdrawn when the agent went away counts one wait, from entering the queue, when answered', async () => {
    await queue('live', ['voice']);
    await idleAgents(['a']);
    const labels = { queue: 'live', mode: 'sync' };
    const waitsBefore = await histogram(routerMetrics.waitSeconds, labels);
    const call = await stored(ingest({ channel: 'voice' }));
    expect(call).toMatchObject({ status: 'offered', agentId: agent('a') });
    clock.advance(5_000);
    expect(await command({ type: 'presence.set', agentId: agent('a'), presence: 'away' })).toMatchObject({ ok: true });
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'queued' });

    clock.advance(5_000);
    await idleAgents(['b']);
    expect(await conversation(call.conversationId)).toMatchObject({ status: 'offered', assigned_agent_id: agent('b') });
    expect(await command({ type: 'offer.accept', agentId: agent('b'), conversationId: call.conversationId })).toMatchObject({ ok: true });
    const waits = await histogram(routerMetrics.waitSeconds, labels);
    expect(waits.count).toBe(waitsBefore.count + 1);
    expect(waits.sum - waitsBefore.sum).toBeGreaterThanOrEqual(10);
  });
});
