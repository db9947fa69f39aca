/**
 * Bot first (per queue): a new conversation goes to a bot over the `bot` exchange before any human.
 * The bot answers the customer itself (bot.resolve closes the conversation), or hands off with what
 * it gathered (bot.handoff: a summary and attributes the agent sees). Customer messages that arrive
 * meanwhile are forwarded to the bot. The bot timeout runs from the first customer message the bot
 * has not answered (bot.reply stops it, the customer's next message starts it again): a bot that
 * leaves a message unanswered that long hands off automatically, one in a long exchange does not. A
 * conversation the bot answered and the customer left is the bot's to resolve (or the channel's to
 * end). The conversation keeps its place in the queue throughout (rank unchanged).
 * A hand-off enters the queue as a new conversation would: live work becomes a thread if the queue
 * is closed and says so, and a customer left waiting is told where they stand.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, routingKeys, type Channel } from '@app/contracts';
import { rows } from '@app/persistence';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { CustomerNotices } from '../routing/customer-notices';
import { RoutingEngine, type Actor, type RouteResult } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

export interface BotContext {
  summary?: string;
  attributes: Record<string, string | number | boolean | null>;
}

@Injectable()
export class BotFirstUseCase {
  constructor(
    private readonly engine: RoutingEngine,
    private readonly notices: CustomerNotices,
  ) {}

  /** Called for a conversation that just entered its queue: true when its queue sends it to a bot. */
  async start(runner: QueryRunner, conversationId: string, messageId: string, events: OutboxEvent[]): Promise<boolean> {
    const started = await this.engine.query<{ id: string; tenant_id: string; mode: 'sync' | 'async'; channel: Channel }>(
      runner,
      `UPDATE conversations c
          SET status = 'bot', bot_until = $now::timestamptz + make_interval(secs => q.bot_timeout_s),
              version = c.version + 1, updated_at = $now
         FROM queues q
        WHERE c.id = $id AND c.status = 'queued' AND q.tenant_id = c.tenant_id AND q.id = c.queue_id AND q.bot_first
        RETURNING c.id, c.tenant_id, c.mode, c.channel`,
      { id: conversationId },
    );
    const conversation = started[0];
    if (!conversation) return false;
    await this.engine.audit(runner, conversation, null, 'bot', 'queued', 'bot', 'router');
    this.engine.lifecycleEvent(events, conversation, 'bot-started');
    this.forward(events, conversation, messageId);
    return true;
  }

  /** A customer message on a conversation the bot holds goes to the bot. */
  forward(events: OutboxEvent[], conversation: { id: string; tenant_id: string; channel: Channel }, messageId: string): void {
    events.push({
      exchange: EXCHANGES.bot,
      routingKey: routingKeys.bot(conversation.channel),
      payload: {
        eventId: randomUUID(),
        type: 'bot.message',
        occurredAt: this.engine.now().toISOString(),
        tenantId: conversation.tenant_id,
        conversationId: conversation.id,
        channel: conversation.channel,
        messageId,
      },
    });
  }

  async handoff(
    runner: QueryRunner,
    tenantId: string,
    conversationId: string,
    context: BotContext,
    actor: Actor,
    events: OutboxEvent[],
  ): Promise<RouteResult> {
    await this.withBot(runner, tenantId, conversationId);
    await this.engine.query(
      runner,
      `UPDATE conversations SET context = context || $context::jsonb, bot_until = NULL WHERE id = $id`,
      { id: conversationId, context: JSON.stringify({ bot: context }) },
    );
    const queued = await this.engine.transition(runner, conversationId, 'bot', 'queued', {});
    await this.engine.audit(runner, queued, null, 'handoff', 'bot', 'queued', actor, { summary: context.summary !== undefined });
    this.engine.lifecycleEvent(events, queued, 'handed-off');
    if (await this.notices.closedAndDowngrades(runner, conversationId)) {
      await this.engine.downgrade(runner, conversationId, 'after-hours', events);
    }
    const routed = await this.engine.route(runner, conversationId, actor, events);
    if (routed.status === 'queued') await this.notices.forQueued(runner, conversationId, events);
    return routed;
  }

  async resolve(runner: QueryRunner, tenantId: string, conversationId: string, actor: Actor, events: OutboxEvent[]): Promise<void> {
    await this.withBot(runner, tenantId, conversationId);
    const closed = await this.engine.transition(runner, conversationId, 'bot', 'closed', {});
    await this.engine.query(runner, `UPDATE conversations SET bot_until = NULL WHERE id = $id`, { id: conversationId });
    await this.engine.query(runner, `UPDATE conversation_timings SET closed_at = $now WHERE conversation_id = $id`, { id: conversationId });
    await this.engine.audit(runner, closed, null, 'bot-resolve', 'bot', 'closed', actor);
    this.engine.lifecycleEvent(events, closed, 'closed');
  }

  /** Locks the conversation; refused unless the tenant's bot has it (another tenant's looks the same as none). */
  private async withBot(runner: QueryRunner, tenantId: string, conversationId: string): Promise<void> {
    const conversation = await this.engine.lockConversation(runner, conversationId);
    if (!conversation || conversation.tenant_id !== tenantId || conversation.status !== 'bot') {
      throw new CommandRejected('not_with_bot', 'this conversation is not with a bot');
    }
  }

  /** Conversations whose bot did not act in time. */
  async overdue(runner: QueryRunner, limit: number): Promise<string[]> {
    const due = await rows<{ id: string }>(
      runner,
      `SELECT id FROM conversations WHERE status = 'bot' AND bot_until <= $1 ORDER BY bot_until LIMIT $2`,
      [this.engine.now(), limit],
    );
    return due.map((row) => row.id);
  }
}
