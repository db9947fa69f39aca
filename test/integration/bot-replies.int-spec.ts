/**
 * A bot-first queue's bot answers the customer through the product (`bot.reply`), against real
 * Postgres and RabbitMQ: the reply is stored once in the conversation's history with sender `bot`
 * and handed once to the channel's adapter, the agent who takes over reads it in the history the
 * gateway serves, the bot can no longer reply once it handed off, and the reply's delivery statuses
 * are recorded without an event for an agent that does not exist. The bot timeout runs from the
 * first customer message the bot has not answered, on the single and the batched ingest path.
 */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EXCHANGES, inboundEnvelopeSchema, routerCommandSchema } from '@app/contracts';
import { buildEnvelope, waitFor, type Collected, type Collector } from '@app/testing';
import type { Principal } from '../../apps/gateway/src/auth/principal';
import type { GatewayConfig } from '../../apps/gateway/src/gateway.config';
import { ReadModel } from '../../apps/gateway/src/agent/read-model';
import { CommandController } from '../../apps/router/src/commands/command.controller';
import { DeliveryStatusUseCase } from '../../apps/router/src/delivery/delivery-status.use-case';
import { IngestMessageUseCase } from '../../apps/router/src/ingest/ingest-message.use-case';
import { routerMetrics } from '../../apps/router/src/router.metrics';
import { routerHarness } from '../support/router-harness';

const BOT = 'faq-bot';

describe('bot replies', () => {
  // Its timers run a bot's clock forward; on a shared database they would time out other suites' bots.
  const h = routerHarness({ ownDatabase: 'bots' });
  const { agent, queue, ingest, stored, command, idleAgents, clock, tick } = h;
  let outbound: Collector;

  beforeAll(async () => {
    outbound = await h.broker.collect(EXCHANGES.outbound, 'outbound.#');
  });

  beforeEach(() => queue('msg', ['sms'], { bot_first: true, bot_timeout_s: 600 }));

  const outboundFor = (conversationId: string) =>
    outbound.matching((item: Collected) => (item.body as { conversationId?: string }).conversationId === conversationId).map((item) => item.body as Record<string, unknown>);
  const history = async (conversationId: string) =>
    (
      await h.pool.query(
        `SELECT seq::int, direction, sender, body, author_agent_id, client_message_id, attributes, delivery_status
           FROM messages WHERE conversation_id = $1 ORDER BY seq`,
        [conversationId],
      )
    ).rows;

  it('is stored once with sender bot, sent once, seen by the agent who takes over, refused after the hand-off; its statuses reach no agent', async () => {
    const address = '+15550104242';
    const arrived = await stored(ingest({ channel: 'sms', customer: { address }, content: { text: 'where is my order?' } }));
    const { conversationId } = arrived;
    expect(arrived.status).toBe('bot');

    // The bot replies; the broker redelivers the command, and the bot retries it under a new command id.
    const reply = { type: 'bot.reply', agentId: BOT, conversationId, clientMessageId: 'b-1', text: 'It ships tomorrow.' } as const;
    const commandId = randomUUID();
    const first = await command({ ...reply, commandId });
    expect(first).toMatchObject({ ok: true, data: { deliveryStatus: 'queued', duplicate: false } });
    const messageId = (first as { data: { messageId: string } }).data.messageId;
    expect(await command({ ...reply, commandId })).toEqual(first);
    expect(await command(reply)).toEqual({ ok: true, data: { messageId, deliveryStatus: 'queued', duplicate: true } });

    expect(await history(conversationId)).toEqual([
      expect.objectContaining({ seq: 1, direction: 'inbound', sender: 'customer', body: 'where is my order?' }),
      {
        seq: 2,
        direction: 'outbound',
        sender: 'bot',
        body: 'It ships tomorrow.',
        author_agent_id: null,
        client_message_id: 'b-1',
        attributes: { botId: BOT },
        delivery_status: 'queued',
      },
    ]);

    // The hand-off finds no agent online: the customer is told when to expect a reply, after the bot's reply.
    expect(await command({ type: 'bot.handoff', agentId: BOT, conversationId, context: { summary: 'order status' } })).toMatchObject({
      ok: true,
      data: { status: 'queued' },
    });
    await waitFor(() => outboundFor(conversationId).some((item) => item.type === 'customer.notice'), 'the notice after the hand-off');
    expect(outboundFor(conversationId).map((item) => item.type)).toEqual(['agent.reply', 'customer.notice']);
    expect(outboundFor(conversationId)[0]).toMatchObject({
      type: 'agent.reply',
      sender: 'bot',
      agentId: BOT,
      messageId,
      channel: 'sms',
      to: { address },
      text: 'It ships tomorrow.',
    });

    // After the hand-off the bot's new replies are refused; its retried one still answers with the first message.
    expect(await command({ ...reply, clientMessageId: 'b-2', text: 'Anything else?' })).toMatchObject({ ok: false, code: 'not_with_bot' });
    expect(await command(reply)).toEqual({ ok: true, data: { messageId, deliveryStatus: 'queued', duplicate: true } });

    // An agent comes online and takes the thread: the history shows the customer, then the bot.
    await idleAgents(['a1']);
    expect(await h.conversation(conversationId)).toMatchObject({ status: 'assigned', assigned_agent_id: agent('a1') });
    const principal: Principal = { subject: agent('a1'), agentId: agent('a1'), tenantId: h.tenant, role: 'agent' };
    const readModel = new ReadModel(h.app.get(DataSource), { HISTORY_ACCESS: 'held' } as GatewayConfig);
    const page = await readModel.messages(principal, conversationId, { limit: 50, scope: 'conversation' });
    expect(page.messages.map(({ seq, sender, direction, text, authorAgentId }) => ({ seq, sender, direction, text, authorAgentId }))).toEqual([
      { seq: 2, sender: 'bot', direction: 'outbound', text: 'It ships tomorrow.', authorAgentId: null },
      { seq: 1, sender: 'customer', direction: 'inbound', text: 'where is my order?', authorAgentId: null },
    ]);

    // The adapter reports the bot's reply delivered: recorded, and no agent hears of it. The agent's own
    // reply, reported after it, does reach its author — so anything about the bot's would have arrived first.
    const statuses = h.app.get(DeliveryStatusUseCase);
    const report = (id: string) =>
      statuses.apply({ version: 1, tenantId: h.tenant, channel: 'sms', messageId: id, status: 'delivered', occurredAt: new Date().toISOString() });
    expect(await report(messageId)).toBe('applied');
    expect((await history(conversationId))[1]).toMatchObject({ sender: 'bot', delivery_status: 'delivered' });
    const answered = await command({ type: 'conversation.reply', agentId: agent('a1'), conversationId, clientMessageId: 'a-1', text: 'Anything else?' });
    const agentMessageId = (answered as { data: { messageId: string } }).data.messageId;
    expect(await report(agentMessageId)).toBe('applied');
    await waitFor(
      () => h.agentEvents.matching((item) => (item.body as { type?: string; messageId?: string }).messageId === agentMessageId && (item.body as { type?: string }).type === 'agent.delivery').length === 1,
      "the agent's delivery status",
    );
    expect(h.agentEvents.matching((item) => (item.body as { type?: string }).type === 'agent.delivery' && (item.body as { conversationId?: string }).conversationId === conversationId)).toHaveLength(1);
    // (The bot's command results carry the id as data; no event is about the message itself.)
    expect(h.agentEvents.matching((item) => (item.body as { messageId?: string }).messageId === messageId)).toEqual([]);
    expect(h.agentEvents.matching((item) => item.routingKey.startsWith(`agent.${BOT}.`) && !item.routingKey.endsWith('.command-result'))).toEqual([]);

    // One bot reply and one agent reply reached the adapter, in the order they were written.
    expect((await history(conversationId)).map(({ seq, sender }) => [seq, sender])).toEqual([
      [1, 'customer'],
      [2, 'bot'],
      [3, 'agent'],
    ]);
    await waitFor(() => outboundFor(conversationId).filter((item) => item.type === 'agent.reply').length === 2, "the agent's reply on outbound");
    expect(outboundFor(conversationId).filter((item) => item.type === 'agent.reply').map((item) => [item.messageId, item.sender])).toEqual([
      [messageId, 'bot'],
      [agentMessageId, undefined],
    ]);
  });

  it('the bot timeout runs from the first message the bot left unanswered: a reply stops it, the customer writing again starts it', async () => {
    const address = '+15550104343';
    const write = (text: string) => stored(ingest({ channel: 'sms', customer: { address }, content: { text } }));
    const state = async (conversationId: string) =>
      (await h.pool.query(`SELECT status, bot_until FROM conversations WHERE id = $1`, [conversationId])).rows[0] as { status: string; bot_until: Date | null };
    const { conversationId } = await write('hi');
    const started = clock.now().getTime();
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: new Date(started + 600_000) });

    clock.advance(300_000);
    const reply = { type: 'bot.reply', agentId: BOT, conversationId, text: 'Hello! What can I do?' } as const;
    expect(await command({ ...reply, clientMessageId: 'b-1' })).toMatchObject({ ok: true });
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: null });

    // Long after the first deadline, the bot still has the conversation: it answered.
    clock.advance(900_000);
    await tick();
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: null });
    await write('one more question');
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: new Date(clock.now().getTime() + 600_000) });
    expect(await command({ ...reply, clientMessageId: 'b-2' })).toMatchObject({ ok: true });
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: null });

    // The customer writes twice; the bot stays silent. The clock starts at the first message only.
    // The first comes in a batch with another customer's, whose bot's clock is already running.
    const other = await stored(ingest({ channel: 'sms', customer: { address: '+15550104344' }, content: { text: 'hi' } }));
    const otherDeadline = (await state(other.conversationId)).bot_until;
    const envelope = (to: string, text: string) =>
      inboundEnvelopeSchema.parse(buildEnvelope({ tenantId: h.tenant, channel: 'sms', customer: { address: to }, content: { text } }));
    const fallbacks = async () => (await routerMetrics.ingestBatchFallbacks.get()).values.reduce((sum, value) => sum + value.value, 0);
    const fellBack = await fallbacks();
    const batch = await h.app
      .get(IngestMessageUseCase)
      .executeBatch([envelope(address, 'my parcel is late'), envelope('+15550104344', 'anyone?')].map((e) => ({ envelope: e, correlationId: undefined })));
    expect(batch.map((settled) => settled.ok && settled.outcome.kind)).toEqual(['stored', 'stored']);
    expect(await fallbacks()).toBe(fellBack);
    expect(await state(other.conversationId)).toEqual({ status: 'bot', bot_until: otherDeadline });
    const unanswered = clock.now().getTime();
    clock.advance(400_000);
    await write('hello??');
    await tick();
    expect(await state(conversationId)).toEqual({ status: 'bot', bot_until: new Date(unanswered + 600_000) });

    clock.advance(201_000);
    await tick();
    expect(await state(conversationId)).toEqual({ status: 'queued', bot_until: null });
    const { rows } = await h.pool.query(`SELECT action, actor FROM assignment_audit WHERE conversation_id = $1 ORDER BY id`, [conversationId]);
    expect(rows).toEqual([
      { action: 'enqueue', actor: expect.any(String) },
      { action: 'bot', actor: 'router' },
      { action: 'handoff', actor: 'system' },
    ]);
  });

  it("another tenant's bot can neither answer, hand off nor resolve a conversation: refused as if no bot had it", async () => {
    const { conversationId } = await stored(ingest({ channel: 'sms' }));
    const asOtherTenant = (input: Record<string, unknown>) =>
      h.app.get(CommandController).execute(routerCommandSchema.parse({ commandId: randomUUID(), tenantId: `${h.tenant}-other`, agentId: BOT, conversationId, ...input }));
    const refused = { ok: false, code: 'not_with_bot' };
    expect(await asOtherTenant({ type: 'bot.reply', clientMessageId: 'x-1', text: 'hi' })).toMatchObject(refused);
    expect(await asOtherTenant({ type: 'bot.handoff', context: { summary: 'taken' } })).toMatchObject(refused);
    expect(await asOtherTenant({ type: 'bot.resolve' })).toMatchObject(refused);
    const { rows } = await h.pool.query(`SELECT status, context FROM conversations WHERE id = $1`, [conversationId]);
    expect(rows[0]).toEqual({ status: 'bot', context: {} });
    expect((await history(conversationId)).map(({ sender }) => sender)).toEqual(['customer']);
  });
});
