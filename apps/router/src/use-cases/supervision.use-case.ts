/**
 * What a supervisor changes for others: move a conversation (queued, offered or held) to a named
 * agent or to another queue, and change the queues an agent serves. A move to an agent who has no
 * room changes nothing; held work is never taken from an agent by a queue change.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { RoutingEngine, type Actor, type ConversationRow, type RouteResult } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

type Target = { agentId: string } | { queueId: string };

@Injectable()
export class SupervisionUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  async reassign(
    runner: QueryRunner,
    supervisor: { agentId: string; tenantId: string },
    conversationId: string,
    to: Target,
    events: OutboxEvent[],
  ): Promise<RouteResult> {
    const actor: Actor = `supervisor:${supervisor.agentId}`;
    const conversation = await this.engine.lockConversation(runner, conversationId);
    if (!conversation || conversation.tenant_id !== supervisor.tenantId) {
      throw new CommandRejected('unknown_conversation', `conversation ${conversationId} does not exist in this tenant`);
    }
    if (!['queued', 'offered', 'assigned'].includes(conversation.status)) {
      throw new CommandRejected('not_routable', `a ${conversation.status} conversation cannot be reassigned`);
    }
    if ('agentId' in to && conversation.assigned_agent_id === to.agentId) {
      throw new CommandRejected('already_assigned', `agent ${to.agentId} already has this conversation`);
    }
    if ('queueId' in to) await this.requireQueue(runner, conversation, to.queueId);

    const queueId = 'queueId' in to ? to.queueId : undefined;
    let previousAgent: string | undefined;
    let queued: ConversationRow;
    if (conversation.status === 'queued') {
      queued = queueId ? await this.engine.transition(runner, conversationId, 'queued', 'queued', { queueId }) : conversation;
    } else {
      previousAgent = await this.engine.endHold(runner, conversation, 'reassigned', events);
      queued = await this.engine.transition(runner, conversationId, ['offered', 'assigned'], 'queued', {
        agentId: null,
        queueId,
        rankToFront: true,
      });
    }
    await this.engine.audit(runner, queued, previousAgent ?? null, 'reassign', conversation.status, 'queued', actor, { to });
    const result =
      'agentId' in to
        ? await this.engine.route(runner, conversationId, actor, events, { onlyAgent: to.agentId })
        : await this.engine.route(runner, conversationId, actor, events, { exclude: previousAgent });
    if ('agentId' in to && result.status === 'queued') {
      throw new CommandRejected('target_unavailable', `agent ${to.agentId} is not online with room for this conversation`);
    }
    this.engine.lifecycleEvent(events, queued, 'transferred', result.agentId);
    if (previousAgent) await this.engine.drainForAgent(runner, previousAgent, actor, events);
    return result;
  }

  async setQueues(
    runner: QueryRunner,
    supervisor: { agentId: string; tenantId: string },
    agentId: string,
    queueIds: string[],
    events: OutboxEvent[],
  ): Promise<{ queueIds: string[] }> {
    const unique = [...new Set(queueIds)].sort();
    const known = await this.engine.query<{ id: string }>(
      runner,
      `SELECT id FROM queues WHERE tenant_id = $tenant AND id = ANY ($ids)`,
      { tenant: supervisor.tenantId, ids: unique },
    );
    const missing = unique.filter((id) => !known.some((queue) => queue.id === id));
    if (missing.length > 0) throw new CommandRejected('unknown_queue', `queue ${missing.join(', ')} does not exist`);
    const updated = await this.engine.query(
      runner,
      `UPDATE agents SET queue_ids = $ids, version = version + 1, updated_at = $now
        WHERE id = $agent AND tenant_id = $tenant RETURNING id`,
      { agent: agentId, tenant: supervisor.tenantId, ids: unique },
    );
    if (updated.length !== 1) throw new CommandRejected('unknown_agent', `agent ${agentId} does not exist in this tenant`);
    await this.engine.drainForAgent(runner, agentId, `supervisor:${supervisor.agentId}`, events);
    return { queueIds: unique };
  }

  private async requireQueue(runner: QueryRunner, conversation: ConversationRow, queueId: string): Promise<void> {
    const queue = await this.engine.query(runner, `SELECT 1 FROM queues WHERE tenant_id = $tenant AND id = $queue`, {
      tenant: conversation.tenant_id,
      queue: queueId,
    });
    if (queue.length === 0) throw new CommandRejected('unknown_queue', `queue ${queueId} does not exist`);
  }
}
