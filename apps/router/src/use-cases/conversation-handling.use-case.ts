/**
 * What the holding agent does with a conversation: close it (wrap-up starts for sync work; freed
 * capacity drains the queue), release it back to its queue, or transfer it to another agent (who
 * must be online with room — otherwise nothing changes) or to another queue.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { RoutingEngine, type ConversationRow, type RouteResult } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

@Injectable()
export class ConversationHandlingUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  async close(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<void> {
    const conversation = await this.held(runner, agentId, conversationId);
    await this.engine.endHold(runner, conversation, 'closed', events);
    const closed = await this.engine.transition(runner, conversationId, 'assigned', 'closed', { agentId: null });
    await this.engine.query(runner, `UPDATE conversation_timings SET closed_at = $now WHERE conversation_id = $id`, {
      id: conversationId,
    });
    await this.engine.audit(runner, closed, agentId, 'close', 'assigned', 'closed', `agent:${agentId}`);
    this.engine.lifecycleEvent(events, closed, 'closed', agentId);
    await this.engine.drainForAgent(runner, agentId, 'router', events);
  }

  async release(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<RouteResult> {
    const conversation = await this.held(runner, agentId, conversationId);
    const result = await this.engine.requeue(
      runner,
      conversation,
      { reason: 'released', action: 'release', actor: `agent:${agentId}` },
      events,
    );
    await this.engine.drainForAgent(runner, agentId, 'router', events);
    return result;
  }

  async transfer(
    runner: QueryRunner,
    agentId: string,
    conversationId: string,
    to: { agentId: string } | { queueId: string },
    events: OutboxEvent[],
  ): Promise<RouteResult> {
    const conversation = await this.held(runner, agentId, conversationId);
    if ('agentId' in to && to.agentId === agentId) {
      throw new CommandRejected('invalid_transfer', 'cannot transfer a conversation to yourself');
    }
    if ('queueId' in to) {
      const queue = await this.engine.query(runner, `SELECT 1 FROM queues WHERE tenant_id = $tenant AND id = $queue`, {
        tenant: conversation.tenant_id,
        queue: to.queueId,
      });
      if (queue.length === 0) throw new CommandRejected('unknown_queue', `queue ${to.queueId} does not exist`);
    }
    await this.engine.endHold(runner, conversation, 'transferred', events);
    const queued = await this.engine.transition(runner, conversationId, 'assigned', 'queued', {
      agentId: null,
      queueId: 'queueId' in to ? to.queueId : undefined,
    });
    await this.engine.audit(runner, queued, agentId, 'transfer', 'assigned', 'queued', `agent:${agentId}`, { to });
    const result =
      'agentId' in to
        ? await this.engine.route(runner, conversationId, `agent:${agentId}`, events, { onlyAgent: to.agentId })
        : await this.engine.route(runner, conversationId, `agent:${agentId}`, events, { exclude: agentId });
    if ('agentId' in to && result.status === 'queued') {
      throw new CommandRejected('target_unavailable', `agent ${to.agentId} is not online with room for this conversation`);
    }
    this.engine.lifecycleEvent(events, queued, 'transferred', result.agentId);
    await this.engine.drainForAgent(runner, agentId, 'router', events);
    return result;
  }

  private async held(runner: QueryRunner, agentId: string, conversationId: string): Promise<ConversationRow> {
    const conversation = await this.engine.lockConversation(runner, conversationId);
    if (!conversation || conversation.status !== 'assigned' || conversation.assigned_agent_id !== agentId) {
      throw new CommandRejected('not_holder', 'you do not hold this conversation');
    }
    return conversation;
  }
}
