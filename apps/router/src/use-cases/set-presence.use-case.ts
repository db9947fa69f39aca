/**
 * Presence and its lease. Online: the agent's lease is renewed and their free capacity drains the
 * queue at once. Away: no new work, pending offers withdrawn (not counted as declines), held work
 * kept. Offline (by choice or when the lease runs out): offers withdrawn and held sync items
 * re-queued at the front at once; async threads stay until the queue's offline grace period ends
 * (the scheduler re-queues them then), so a brief disconnect does not scatter an agent's threads.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { ROUTING_DEFAULTS, type RoutingDefaults } from '../routing/routing-defaults';
import { CONVERSATION_COLUMNS, RoutingEngine, type Actor, type ConversationRow } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

export type Presence = 'online' | 'away' | 'offline';

@Injectable()
export class SetPresenceUseCase {
  constructor(
    private readonly engine: RoutingEngine,
    @Inject(ROUTING_DEFAULTS) private readonly defaults: RoutingDefaults,
  ) {}

  async set(
    runner: QueryRunner,
    agent: { agentId: string; tenantId: string },
    presence: Presence,
    actor: Actor,
    events: OutboxEvent[],
  ): Promise<{ presence: Presence; leaseExpiresAt: string | null }> {
    const updated = await this.engine.query<{ previous: Presence; lease_expires_at: Date | null }>(
      runner,
      `UPDATE agents a
          SET presence = $presence,
              presence_changed_at = CASE WHEN a.presence <> $presence THEN $now ELSE a.presence_changed_at END,
              lease_expires_at = CASE WHEN $presence = 'offline' THEN NULL
                                      ELSE $now::timestamptz + make_interval(secs => $lease) END,
              offline_since = CASE WHEN $presence = 'offline' THEN COALESCE(a.offline_since, $now) ELSE NULL END,
              idle_since = CASE WHEN a.presence <> 'online' AND $presence = 'online' THEN $now ELSE a.idle_since END,
              version = a.version + 1, updated_at = $now
         FROM (SELECT id, presence FROM agents WHERE id = $agent AND tenant_id = $tenant FOR UPDATE) old
        WHERE a.id = old.id
        RETURNING old.presence AS previous, a.lease_expires_at`,
      { presence, agent: agent.agentId, tenant: agent.tenantId, lease: this.defaults.leaseSeconds },
    );
    if (!updated[0]) throw new CommandRejected('unknown_agent', `agent ${agent.agentId} does not exist in this tenant`);
    await this.afterChange(runner, agent.agentId, presence, actor, events);
    return { presence, leaseExpiresAt: updated[0].lease_expires_at ? new Date(updated[0].lease_expires_at).toISOString() : null };
  }

  /** Heartbeat: renews the lease of an agent who is not offline. */
  async heartbeat(runner: QueryRunner, agent: { agentId: string; tenantId: string }): Promise<{ leaseExpiresAt: string }> {
    const renewed = await this.engine.query<{ lease_expires_at: Date }>(
      runner,
      `UPDATE agents SET lease_expires_at = $now::timestamptz + make_interval(secs => $lease)
        WHERE id = $agent AND tenant_id = $tenant AND presence <> 'offline'
        RETURNING lease_expires_at`,
      { agent: agent.agentId, tenant: agent.tenantId, lease: this.defaults.leaseSeconds },
    );
    if (!renewed[0]) throw new CommandRejected('not_present', 'set presence before sending heartbeats');
    return { leaseExpiresAt: new Date(renewed[0].lease_expires_at).toISOString() };
  }

  /**
   * A supervisor changes an agent's caps (null = inherit). Raised room is used at once; a lowered
   * cap never revokes held work — the agent simply gets nothing new until under it.
   */
  async setCapacity(
    runner: QueryRunner,
    tenantId: string,
    agentId: string,
    caps: { syncCap?: number | null; asyncCap?: number | null },
    actor: Actor,
    events: OutboxEvent[],
  ): Promise<void> {
    const updated = await this.engine.query(
      runner,
      `UPDATE agents
          SET sync_cap = CASE WHEN $setSync THEN $sync::int ELSE sync_cap END,
              async_cap = CASE WHEN $setAsync THEN $async::int ELSE async_cap END,
              version = version + 1, updated_at = $now
        WHERE id = $agent AND tenant_id = $tenant RETURNING id`,
      {
        agent: agentId,
        tenant: tenantId,
        setSync: caps.syncCap !== undefined,
        sync: caps.syncCap ?? null,
        setAsync: caps.asyncCap !== undefined,
        async: caps.asyncCap ?? null,
      },
    );
    if (updated.length !== 1) throw new CommandRejected('unknown_agent', `agent ${agentId} does not exist in this tenant`);
    await this.engine.drainForAgent(runner, agentId, actor, events);
  }

  /** The scheduler's side: a lease ran out. Conditional, so two replicas cannot both act on it. */
  async expireLease(runner: QueryRunner, agentId: string, events: OutboxEvent[]): Promise<boolean> {
    const expired = await this.engine.query<{ id: string }>(
      runner,
      `UPDATE agents SET presence = 'offline', presence_changed_at = $now, offline_since = $now, lease_expires_at = NULL,
              version = version + 1, updated_at = $now
        WHERE id = $agent AND presence <> 'offline' AND lease_expires_at <= $now
        RETURNING id`,
      { agent: agentId },
    );
    if (!expired[0]) return false;
    await this.afterChange(runner, agentId, 'offline', 'system', events);
    return true;
  }

  private async afterChange(runner: QueryRunner, agentId: string, presence: Presence, actor: Actor, events: OutboxEvent[]) {
    if (presence === 'online') {
      await this.engine.drainForAgent(runner, agentId, actor, events);
      return;
    }
    const held = await this.engine.query<ConversationRow>(
      runner,
      `SELECT ${CONVERSATION_COLUMNS}
         FROM conversations
        WHERE assigned_agent_id = $agent AND (status = 'offered' OR ($offline AND status = 'assigned' AND mode = 'sync'))
        ORDER BY id
        FOR UPDATE`,
      { agent: agentId, offline: presence === 'offline' },
    );
    for (const conversation of held) {
      await this.engine.requeue(
        runner,
        conversation,
        {
          reason: presence === 'offline' ? 'agent-offline' : 'agent-away',
          action: conversation.status === 'offered' ? 'offer-withdrawn' : 'requeue',
          actor,
          front: conversation.status === 'assigned',
        },
        events,
      );
    }
  }
}
