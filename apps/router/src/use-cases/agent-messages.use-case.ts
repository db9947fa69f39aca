/**
 * What an agent writes on a conversation it holds: replies, which are stored and handed to the
 * channel's adapter through the outbox, and internal notes, which are stored only. Both are
 * idempotent on the client's id: a desktop that retries after a lost answer gets the first message
 * back, and the customer receives one reply.
 *
 * A bot-first queue's bot answers the customer the same way (`botReply`), while the conversation is
 * with it: its reply joins the same history (sender `bot`), so whoever picks the thread up next sees
 * what the bot said. A bot is not an agent row, so its message has no `author_agent_id`; the bot's
 * id is kept in the message's attributes, and the message's own key, `bot:<conversation>:<bot>:<client
 * id>`, makes the (conversation, bot, client id) unique through the key every message has.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, routingKeys, type DeliveryStatus, type OutboundMessage } from '@app/contracts';
import { afterCommit } from '@app/persistence';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { routerMetrics } from '../router.metrics';
import { RoutingEngine, type ConversationRow } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

export interface WrittenMessage {
  messageId: string;
  deliveryStatus: DeliveryStatus | null;
  duplicate: boolean;
}

/** Who writes: an agent (`author_agent_id`), or a bot, recorded by its message key and attributes. */
type Author = { kind: 'agent'; id: string } | { kind: 'bot'; id: string; key: string };

/** A bot message's key (`provider_message_id`); bot ids and conversation ids hold no `:`, so it is unambiguous. */
export const botMessageKey = (conversationId: string, botId: string, clientMessageId: string) =>
  `bot:${conversationId}:${botId}:${clientMessageId}`;

interface Recipient {
  address: string;
  thread_id: string | null;
  in_reply_to: string | null;
}

@Injectable()
export class AgentMessagesUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  async reply(
    runner: QueryRunner,
    agentId: string,
    input: { conversationId: string; clientMessageId: string; text: string },
    events: OutboxEvent[],
  ): Promise<WrittenMessage> {
    const conversation = await this.held(runner, agentId, input.conversationId);
    const previous = await this.previous(runner, agentId, input.conversationId, input.clientMessageId);
    if (previous) return previous;

    const messageId = await this.send(runner, conversation, { kind: 'agent', id: agentId }, input, events);
    await this.recordFirstReply(runner, conversation);
    this.engine.agentEvent(events, conversation, agentId, 'message', { messageId, sender: 'agent', direction: 'outbound' });
    afterCommit(runner, () => routerMetrics.replies.inc({ channel: conversation.channel }));
    return { messageId, deliveryStatus: 'queued', duplicate: false };
  }

  /**
   * A bot's reply, accepted only while the conversation is with a bot (of the command's tenant); it
   * stops the bot timeout's clock until the customer writes again. The
   * same client id again returns the first message even once the bot has handed off: a bot that
   * retries a reply whose answer was lost learns the customer got it, rather than a refusal.
   */
  async botReply(
    runner: QueryRunner,
    bot: { botId: string; tenantId: string },
    input: { conversationId: string; clientMessageId: string; text: string },
    events: OutboxEvent[],
  ): Promise<WrittenMessage> {
    const conversation = await this.engine.lockConversation(runner, input.conversationId);
    const key = botMessageKey(input.conversationId, bot.botId, input.clientMessageId);
    if (conversation && conversation.tenant_id === bot.tenantId) {
      const [found] = await this.engine.query<{ id: string; delivery_status: DeliveryStatus | null }>(
        runner,
        `SELECT id, delivery_status FROM messages WHERE tenant_id = $tenant AND channel = $channel AND provider_message_id = $key`,
        { tenant: conversation.tenant_id, channel: conversation.channel, key },
      );
      if (found) return { messageId: found.id, deliveryStatus: found.delivery_status, duplicate: true };
    }
    if (!conversation || conversation.tenant_id !== bot.tenantId || conversation.status !== 'bot') {
      throw new CommandRejected('not_with_bot', 'this conversation is not with a bot');
    }
    const messageId = await this.send(runner, conversation, { kind: 'bot', id: bot.botId, key }, input, events);
    // The bot answered: its clock stops until the customer writes again (see ingest's botClock).
    await this.engine.query(runner, `UPDATE conversations SET bot_until = NULL WHERE id = $id`, { id: conversation.id });
    return { messageId, deliveryStatus: 'queued', duplicate: false };
  }

  /** Stores an outbound message and hands it to the channel's adapter through the outbox; the conversation is locked. */
  private async send(
    runner: QueryRunner,
    conversation: ConversationRow,
    author: Author,
    input: { clientMessageId: string; text: string },
    events: OutboxEvent[],
  ): Promise<string> {
    const [recipient] = await this.engine.query<Recipient>(
      runner,
      `SELECT ci.address,
              (SELECT m.provider_thread_id FROM messages m
                WHERE m.conversation_id = c.id AND m.direction = 'inbound' AND m.provider_thread_id IS NOT NULL
                ORDER BY m.created_at DESC LIMIT 1) AS thread_id,
              (SELECT m.provider_message_id FROM messages m
                WHERE m.conversation_id = c.id AND m.direction = 'inbound'
                ORDER BY m.created_at DESC LIMIT 1) AS in_reply_to
         FROM conversations c JOIN channel_identities ci ON ci.id = c.identity_id
        WHERE c.id = $id`,
      { id: conversation.id },
    );
    const messageId = randomUUID();
    await this.insert(runner, conversation, author, messageId, 'outbound', input, recipient.thread_id);

    const now = this.engine.now().toISOString();
    const outbound: OutboundMessage = {
      version: 1,
      type: 'agent.reply',
      messageId,
      occurredAt: now,
      tenantId: conversation.tenant_id,
      conversationId: conversation.id,
      channel: conversation.channel as OutboundMessage['channel'],
      agentId: author.id,
      ...(author.kind === 'bot' ? { sender: 'bot' as const } : {}),
      to: {
        address: recipient.address,
        ...(recipient.thread_id ? { threadId: recipient.thread_id } : {}),
        ...(recipient.in_reply_to ? { inReplyTo: recipient.in_reply_to } : {}),
      },
      text: input.text,
    };
    events.push({
      exchange: EXCHANGES.outbound,
      routingKey: routingKeys.outbound(outbound.channel),
      payload: { eventId: messageId, ...outbound },
    });
    return messageId;
  }

  async note(
    runner: QueryRunner,
    agentId: string,
    input: { conversationId: string; clientMessageId: string; text: string },
    events: OutboxEvent[],
  ): Promise<WrittenMessage> {
    const conversation = await this.held(runner, agentId, input.conversationId);
    const previous = await this.previous(runner, agentId, input.conversationId, input.clientMessageId);
    if (previous) return previous;
    const messageId = randomUUID();
    await this.insert(runner, conversation, { kind: 'agent', id: agentId }, messageId, 'internal', input, null);
    this.engine.agentEvent(events, conversation, agentId, 'message', { messageId, sender: 'agent', direction: 'internal' });
    return { messageId, deliveryStatus: null, duplicate: false };
  }

  private async insert(
    runner: QueryRunner,
    conversation: ConversationRow,
    author: Author,
    messageId: string,
    direction: 'outbound' | 'internal',
    input: { clientMessageId: string; text: string },
    threadId: string | null,
  ): Promise<void> {
    // The conversation is locked (held() took it): its sequence number and the message are stored together.
    await this.engine.query(
      runner,
      `WITH counted AS (
         UPDATE conversations SET message_seq = message_seq + 1 WHERE id = $conversation RETURNING message_seq
       )
       INSERT INTO messages (id, tenant_id, conversation_id, channel, direction, sender, provider_message_id, provider_thread_id,
                             body, attributes, received_at, author_agent_id, client_message_id, delivery_status, delivery_updated_at, seq)
       SELECT $id, $tenant, $conversation, $channel, $direction, $sender, $providerId, $thread,
              $body, $attributes::jsonb, $now, $agent, $client, $status, $now, counted.message_seq
         FROM counted`,
      {
        id: messageId,
        tenant: conversation.tenant_id,
        conversation: conversation.id,
        channel: conversation.channel,
        direction,
        sender: author.kind,
        // The provider's id is not known until the adapter sends it; ours keeps the unique key honest.
        providerId: author.kind === 'bot' ? author.key : `agent:${messageId}`,
        thread: threadId,
        body: input.text,
        attributes: JSON.stringify(author.kind === 'bot' ? { botId: author.id } : {}),
        agent: author.kind === 'agent' ? author.id : null,
        client: input.clientMessageId,
        status: direction === 'outbound' ? 'queued' : null,
      },
    );
  }

  private async recordFirstReply(runner: QueryRunner, conversation: ConversationRow): Promise<void> {
    const [first] = await this.engine.query<{ waited_s: number | null }>(
      runner,
      `UPDATE conversation_timings SET first_agent_reply_at = $now
        WHERE conversation_id = $id AND first_agent_reply_at IS NULL
        RETURNING EXTRACT(EPOCH FROM ($now::timestamptz - queued_at))::float8 AS waited_s`,
      { id: conversation.id },
    );
    if (first?.waited_s != null) {
      const waited = Math.max(0, first.waited_s);
      afterCommit(runner, () => routerMetrics.firstResponseSeconds.observe({ queue: conversation.queue_id, mode: conversation.mode }, waited));
    }
  }

  private async previous(
    runner: QueryRunner,
    agentId: string,
    conversationId: string,
    clientMessageId: string,
  ): Promise<WrittenMessage | undefined> {
    const [found] = await this.engine.query<{ id: string; delivery_status: DeliveryStatus | null }>(
      runner,
      `SELECT id, delivery_status FROM messages
        WHERE conversation_id = $conversation AND author_agent_id = $agent AND client_message_id = $client`,
      { conversation: conversationId, agent: agentId, client: clientMessageId },
    );
    return found ? { messageId: found.id, deliveryStatus: found.delivery_status, duplicate: true } : undefined;
  }

  private async held(runner: QueryRunner, agentId: string, conversationId: string): Promise<ConversationRow> {
    const conversation = await this.engine.lockConversation(runner, conversationId);
    if (!conversation || conversation.status !== 'assigned' || conversation.assigned_agent_id !== agentId) {
      throw new CommandRejected('not_holder', 'you do not hold this conversation');
    }
    return conversation;
  }
}
