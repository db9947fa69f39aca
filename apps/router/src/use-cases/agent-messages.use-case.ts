/**
 * What an agent writes on a conversation it holds: replies, which are stored and handed to the
 * channel's adapter through the outbox, and internal notes, which are stored only. Both are
 * idempotent on the client's id: a desktop that retries after a lost answer gets the first message
 * back, and the customer receives one reply.
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
    await this.insert(runner, conversation, agentId, messageId, 'outbound', input, recipient.thread_id);
    await this.recordFirstReply(runner, conversation);

    const now = this.engine.now().toISOString();
    const outbound: OutboundMessage = {
      version: 1,
      type: 'agent.reply',
      messageId,
      occurredAt: now,
      tenantId: conversation.tenant_id,
      conversationId: conversation.id,
      channel: conversation.channel as OutboundMessage['channel'],
      agentId,
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
    this.engine.agentEvent(events, conversation, agentId, 'message', { messageId, sender: 'agent', direction: 'outbound' });
    afterCommit(runner, () => routerMetrics.replies.inc({ channel: conversation.channel }));
    return { messageId, deliveryStatus: 'queued', duplicate: false };
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
    await this.insert(runner, conversation, agentId, messageId, 'internal', input, null);
    this.engine.agentEvent(events, conversation, agentId, 'message', { messageId, sender: 'agent', direction: 'internal' });
    return { messageId, deliveryStatus: null, duplicate: false };
  }

  private async insert(
    runner: QueryRunner,
    conversation: ConversationRow,
    agentId: string,
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
                             body, received_at, author_agent_id, client_message_id, delivery_status, delivery_updated_at, seq)
       SELECT $id, $tenant, $conversation, $channel, $direction, 'agent', $providerId, $thread,
              $body, $now, $agent, $client, $status, $now, counted.message_seq
         FROM counted`,
      {
        id: messageId,
        tenant: conversation.tenant_id,
        conversation: conversation.id,
        channel: conversation.channel,
        direction,
        // The provider's id is not known until the adapter sends it; ours keeps the unique key honest.
        providerId: `agent:${messageId}`,
        thread: threadId,
        body: input.text,
        agent: agentId,
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
