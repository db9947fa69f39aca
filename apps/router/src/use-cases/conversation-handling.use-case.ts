/**
 * What the holding agent does with a conversation: close it (wrap-up starts for sync work; freed
 * capacity drains the queue), release it back to its queue, or transfer it to another agent (who
 * must be online with room — otherwise nothing changes) or to another queue.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { CONVERSATION_COLUMNS, RoutingEngine, type ConversationRow, type RouteResult } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

@Injectable()
export class ConversationHandlingUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  /** `handed`: the conversations the freed capacity was handed to at once (offered or assigned to the agent). */
  async close(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<{ handed: string[] }> {
    const handed = await this.engine.closeAndDrain(runner, agentId, conversationId, events);
    if (!handed) throw new CommandRejected('not_holder', 'you do not hold this conversation');
    return { handed };
  }

  /** `close` for several agents at once (one conversation each, the agents distinct); undefined where refused. */
  async closeMany(
    runner: QueryRunner,
    closes: Array<{ agentId: string; conversationId: string }>,
    events: OutboxEvent[][],
  ): Promise<Array<{ handed: string[] } | undefined>> {
    const handed = await this.engine.closeMany(runner, closes, events);
    return closes.map((_, index) => (handed[index] ? { handed: handed[index] } : undefined));
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
        ? await this.engine.route(runner, conversationId, `agent:${agentId}`, events, { onlyAgent: to.agentId, transfer: true })
        : await this.engine.route(runner, conversationId, `agent:${agentId}`, events, { exclude: agentId, transfer: true });
    if ('agentId' in to && result.status === 'queued') {
      throw new CommandRejected('target_unavailable', `agent ${to.agentId} is not online with room for this conversation`);
    }
    this.engine.lifecycleEvent(events, queued, 'transferred', result.agentId);
    await this.engine.drainForAgent(runner, agentId, 'router', events);
    return result;
  }

  /**
   * An async thread becomes a live item (the agent calls the customer). The agent keeps it when they
   * have sync room — capacity moves from their async to their sync count in one conditional update;
   * otherwise it goes back to its queue as live work and the first free agent is offered it.
   */
  async escalate(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<RouteResult> {
    const conversation = await this.held(runner, agentId, conversationId);
    if (conversation.mode !== 'async') throw new CommandRejected('already_live', 'this conversation is already live');
    const moved = await this.engine.query<{ id: string }>(
      runner,
      `UPDATE agents a SET active_async = a.active_async - 1, active_sync = a.active_sync + 1, version = a.version + 1, updated_at = $now
         FROM queues q
        WHERE a.id = $agent AND q.tenant_id = $tenant AND q.id = $queue
          AND a.active_sync < COALESCE(a.sync_cap, q.sync_cap, $defSync)
          AND (a.wrap_up_until IS NULL OR a.wrap_up_until <= $now)
       RETURNING a.id`,
      { agent: agentId, tenant: conversation.tenant_id, queue: conversation.queue_id },
    );
    if (moved.length === 1) {
      await this.engine.query(runner, `UPDATE assignments SET mode = 'sync' WHERE conversation_id = $id AND state <> 'ended'`, {
        id: conversationId,
      });
      const live = await this.engine.query<ConversationRow>(
        runner,
        `UPDATE conversations SET mode = 'sync', version = version + 1, updated_at = $now WHERE id = $id
         RETURNING ${CONVERSATION_COLUMNS}`,
        { id: conversationId },
      );
      await this.engine.audit(runner, conversation, agentId, 'escalate', 'assigned', 'assigned', `agent:${agentId}`);
      await this.engine.audit(runner, live[0], agentId, 'assign', 'assigned', 'assigned', `agent:${agentId}`, { via: 'escalation' });
      this.engine.agentEvent(events, live[0], agentId, 'assigned', { via: 'escalation' });
      this.engine.lifecycleEvent(events, live[0], 'escalated', agentId);
      return { status: 'assigned', agentId };
    }
    await this.engine.endHold(runner, conversation, 'escalated', events);
    await this.engine.query(runner, `UPDATE conversations SET mode = 'sync' WHERE id = $id`, { id: conversationId });
    const queued = await this.engine.transition(runner, conversationId, 'assigned', 'queued', { agentId: null, rankToFront: true });
    await this.engine.audit(runner, { ...queued, mode: 'async' }, agentId, 'escalate', 'assigned', 'queued', `agent:${agentId}`);
    this.engine.lifecycleEvent(events, queued, 'escalated');
    const result = await this.engine.route(runner, conversationId, `agent:${agentId}`, events);
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
