/**
 * The routing engine's transitions, each run inside the caller's transaction. Every claim on an
 * agent is one conditional UPDATE that re-checks the cap in its WHERE clause, so replicas racing for
 * the same agent cannot push it past its cap (I2) nor hand async work to an agent holding a sync
 * item when the policy forbids it (I3); every status change of a conversation is conditional on
 * the status it expects, and the unique index on live assignments forbids a second one (I1).
 * Offers hold capacity until accepted, declined or expired; a decliner is recorded and never
 * offered the item again (I5). Waiting items are taken in `rank_at` order (I6).
 *
 * Each transition appends to the assignment audit log and writes its events to the outbox.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, routingKeys, type AgentEventName, type ConversationEventName, type Mode } from '@app/contracts';
import { rows } from '@app/persistence';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { routerMetrics } from '../router.metrics';
import { Clock } from './clock';
import { ROUTING_DEFAULTS, type RoutingDefaults } from './routing-defaults';

export interface ConversationRef {
  id: string;
  tenantId: string;
  queueId: string;
  mode: Mode;
  channel: string;
}

export interface RouteResult {
  status: 'offered' | 'assigned' | 'queued';
  agentId?: string;
}

interface QueuePolicy {
  offer_timeout_s: number;
  auto_accept: boolean;
  wrap_up_s: number;
  sticky_window_s: number;
}

/** The columns every transition reads back; `ConversationRow` is their shape. */
export const CONVERSATION_COLUMNS =
  'id, tenant_id, queue_id, mode, channel, status, assigned_agent_id, last_agent_id, last_assigned_at, customer_id, queued_at';
const CONVERSATION_COLUMNS_OF_C = CONVERSATION_COLUMNS.split(', ')
  .map((column) => `c.${column}`)
  .join(', ');

export interface ConversationRow {
  id: string;
  tenant_id: string;
  queue_id: string;
  mode: Mode;
  channel: string;
  status: string;
  assigned_agent_id: string | null;
  last_agent_id: string | null;
  last_assigned_at: Date | null;
  customer_id: string;
  queued_at: Date | null;
}

export type Actor = `agent:${string}` | `supervisor:${string}` | `bot:${string}` | 'router' | 'system';

/** SQL fragments shared by every claim: effective caps (agent → queue → global) and eligibility. */
const SYNC_CAP = 'COALESCE(a.sync_cap, q.sync_cap, $defSync)';
const ASYNC_CAP = 'COALESCE(a.async_cap, q.async_cap, $defAsync)';
const BLOCKS = 'COALESCE(a.sync_blocks_async, q.sync_blocks_async, $defBlocks)';
export const ELIGIBLE = `a.tenant_id = q.tenant_id AND a.presence = 'online'
  AND q.required_skills <@ a.skills
  AND (cardinality(a.queue_ids) = 0 OR q.id = ANY (a.queue_ids))`;
export const HAS_ROOM_SYNC = `(a.wrap_up_until IS NULL OR a.wrap_up_until <= $now) AND a.active_sync < ${SYNC_CAP}`;
export const HAS_ROOM_ASYNC = `a.active_async < ${ASYNC_CAP} AND (a.active_sync = 0 OR NOT ${BLOCKS})`;

/** Replaces named parameters ($now, $defSync…) with positional ones for pg. */
function bind(text: string, named: Record<string, unknown>): [string, unknown[]] {
  const names = Object.keys(named).sort((a, b) => b.length - a.length);
  const values: unknown[] = [];
  const index = new Map<string, number>();
  let sql = text;
  for (const name of names) {
    sql = sql.replace(new RegExp(`\\$${name}\\b`, 'g'), () => {
      if (!index.has(name)) {
        values.push(named[name]);
        index.set(name, values.length);
      }
      return `$${index.get(name)}`;
    });
  }
  return [sql, values];
}

const POLICY_TTL_MS = 2_000;

@Injectable()
export class RoutingEngine {
  private readonly policies = new Map<string, { policy: QueuePolicy; until: number }>();

  constructor(
    private readonly clock: Clock,
    @Inject(ROUTING_DEFAULTS) private readonly defaults: RoutingDefaults,
  ) {}

  now(): Date {
    return this.clock.now();
  }

  async query<T>(runner: QueryRunner, text: string, named: Record<string, unknown>): Promise<T[]> {
    const [sql, values] = bind(text, {
      ...named,
      now: this.clock.now(),
      defSync: this.defaults.syncCap,
      defAsync: this.defaults.asyncCap,
      defBlocks: this.defaults.syncBlocksAsync,
    });
    return rows<T>(runner, sql, values);
  }

  /**
   * Finds an agent for a queued conversation: the sticky agent first (when given, online, with
   * room), then longest-idle for sync, least-loaded for async. Offers sync work (or assigns it with
   * auto-accept); assigns async work. Returns 'queued' when nobody has room.
   */
  async route(
    runner: QueryRunner,
    conversationId: string,
    actor: Actor,
    events: OutboxEvent[],
    options: { exclude?: string; onlyAgent?: string } = {},
  ): Promise<RouteResult> {
    const conversation = await this.lockConversation(runner, conversationId);
    if (!conversation || conversation.status !== 'queued') return { status: 'queued' };
    const policy = await this.queuePolicy(runner, conversation.tenant_id, conversation.queue_id);
    let agentId: string | undefined;
    if (options.onlyAgent) {
      agentId = await this.claim(runner, conversation, { only: options.onlyAgent });
    } else {
      const sticky = this.stickyCandidate(conversation, policy);
      if (sticky && sticky !== options.exclude) agentId = await this.claim(runner, conversation, { only: sticky });
      agentId ??= await this.claim(runner, conversation, { exclude: options.exclude });
    }
    if (!agentId) return { status: 'queued' };
    return this.hand(runner, conversation, policy, agentId, actor, events);
  }

  /**
   * Capacity freed for an agent: give them the best waiting items they can take, in queue order,
   * until their room or the queue runs out. Called on close, decline, transfer, release, presence
   * change to online, wrap-up end and cap changes — never only on a timer.
   */
  async drainForAgent(runner: QueryRunner, agentId: string, actor: Actor, events: OutboxEvent[]): Promise<number> {
    let handed = 0;
    const skipped: string[] = [];
    for (let guard = 0; guard < 64; guard += 1) {
      // Which (queue, mode) pairs this agent could take one more item from, right now.
      const lanes = await this.query<{ tenant_id: string; queue_id: string; mode: Mode }>(
        runner,
        `SELECT a.tenant_id, q.id AS queue_id, m.mode
           FROM agents a
           JOIN queues q ON q.tenant_id = a.tenant_id
           CROSS JOIN (VALUES ('sync'), ('async')) AS m (mode)
          WHERE a.id = $agent AND ${ELIGIBLE}
            AND ((m.mode = 'sync' AND ${HAS_ROOM_SYNC}) OR (m.mode = 'async' AND ${HAS_ROOM_ASYNC}))`,
        { agent: agentId },
      );
      if (lanes.length === 0) break;
      // The head of each lane is one index probe (tenant, queue, mode, rank_at); the best head wins.
      // Heads are read without locks and only the chosen one is locked, so a concurrent drain is
      // never kept from the other lanes' heads; a head another transaction holds is passed over.
      const next = await this.query<ConversationRow>(
        runner,
        `SELECT head.* FROM unnest($queues::text[], $modes::text[]) AS lane (queue_id, mode)
           CROSS JOIN LATERAL (
             SELECT ${CONVERSATION_COLUMNS_OF_C}, c.rank_at
               FROM conversations c
              WHERE c.tenant_id = $tenant AND c.queue_id = lane.queue_id AND c.mode = lane.mode AND c.status = 'queued'
                AND c.id <> ALL ($skip::uuid[])
                AND (c.mode = 'async'
                     OR NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = $agent))
              ORDER BY c.rank_at
              LIMIT 1
           ) head
          ORDER BY head.rank_at
          LIMIT 1`,
        {
          agent: agentId,
          tenant: lanes[0].tenant_id,
          queues: lanes.map((lane) => lane.queue_id),
          modes: lanes.map((lane) => lane.mode),
          skip: skipped,
        },
      );
      const head = next[0];
      if (!head) break;
      const locked = await this.query<{ id: string }>(
        runner,
        `SELECT id FROM conversations WHERE id = $id AND status = 'queued' FOR UPDATE SKIP LOCKED`,
        { id: head.id },
      );
      if (locked.length === 0) {
        skipped.push(head.id);
        continue;
      }
      const conversation = head;
      const claimed = await this.claim(runner, conversation, { only: agentId });
      if (!claimed) break;
      const policy = await this.queuePolicy(runner, conversation.tenant_id, conversation.queue_id);
      await this.hand(runner, conversation, policy, claimed, actor, events);
      handed += 1;
    }
    return handed;
  }

  /** Agent accepts a sync offer. Fails (false) when the offer is gone: expired, withdrawn, not theirs. */
  async accept(runner: QueryRunner, conversationId: string, agentId: string, events: OutboxEvent[]): Promise<boolean> {
    const now = this.clock.now();
    await this.lockConversation(runner, conversationId);
    const updated = await this.query<{ id: string }>(
      runner,
      `UPDATE assignments SET state = 'active', accepted_at = $now
        WHERE conversation_id = $conversation AND agent_id = $agent AND state = 'offered' AND expires_at > $now
        RETURNING id`,
      { conversation: conversationId, agent: agentId },
    );
    if (updated.length !== 1) return false;
    const conversation = await this.transition(runner, conversationId, 'offered', 'assigned', { agentId });
    await this.timing(runner, conversationId, 'first_assigned_at', now);
    await this.audit(runner, conversation, agentId, 'accept', 'offered', 'assigned', `agent:${agentId}`);
    this.agentEvent(events, conversation, agentId, 'assigned', { via: 'offer' });
    this.lifecycleEvent(events, conversation, 'assigned', agentId);
    this.observeAssigned(conversation);
    return true;
  }

  /**
   * An offer ends without acceptance (declined or timed out): free the agent, remember the decline,
   * put the item back at its place in the queue and route it on.
   */
  async withdrawOffer(
    runner: QueryRunner,
    conversationId: string,
    agentId: string,
    reason: 'declined' | 'timeout',
    actor: Actor,
    events: OutboxEvent[],
  ): Promise<boolean> {
    await this.lockConversation(runner, conversationId);
    const ended = await this.query<{ id: string }>(
      runner,
      `UPDATE assignments SET state = 'ended', ended_at = $now, end_reason = $reason
        WHERE conversation_id = $conversation AND agent_id = $agent AND state = 'offered'
          ${reason === 'timeout' ? 'AND expires_at <= $now' : ''}
        RETURNING id`,
      { conversation: conversationId, agent: agentId, reason },
    );
    if (ended.length !== 1) return false;
    await this.release(runner, agentId, 'sync');
    await this.query(
      runner,
      `INSERT INTO declines (conversation_id, agent_id, reason) VALUES ($conversation, $agent, $reason) ON CONFLICT DO NOTHING`,
      { conversation: conversationId, agent: agentId, reason },
    );
    const conversation = await this.transition(runner, conversationId, 'offered', 'queued', { agentId: null });
    await this.audit(runner, conversation, agentId, reason === 'timeout' ? 'offer-timeout' : 'decline', 'offered', 'queued', actor);
    this.agentEvent(events, conversation, agentId, 'offer-withdrawn', { reason });
    await this.route(runner, conversationId, 'router', events);
    await this.drainForAgent(runner, agentId, 'router', events);
    return true;
  }

  /**
   * Ends an agent's hold on a conversation (close, release, transfer, presence loss). For sync work
   * the queue's wrap-up time starts; the agent's freed capacity is drained unless wrap-up holds it.
   */
  async endHold(
    runner: QueryRunner,
    conversation: ConversationRow,
    reason: string,
    events: OutboxEvent[],
  ): Promise<string> {
    const agentId = conversation.assigned_agent_id;
    if (!agentId) throw new Error(`conversation ${conversation.id} has no holder`);
    const ended = await this.query<{ id: string; accepted_at: Date | null }>(
      runner,
      `UPDATE assignments SET state = 'ended', ended_at = $now, end_reason = $reason
        WHERE conversation_id = $conversation AND agent_id = $agent AND state <> 'ended'
        RETURNING id, accepted_at`,
      { conversation: conversation.id, agent: agentId, reason },
    );
    if (ended.length !== 1) throw new Error(`conversation ${conversation.id} has no live assignment for ${agentId}`);
    await this.release(runner, agentId, conversation.mode);
    if (reason === 'closed' && ended[0].accepted_at) {
      const held = (this.clock.now().getTime() - new Date(ended[0].accepted_at).getTime()) / 1000;
      routerMetrics.handleSeconds.observe({ queue: conversation.queue_id, mode: conversation.mode }, Math.max(0, held));
    }
    if (conversation.mode === 'sync' && reason === 'closed') {
      const policy = await this.queuePolicy(runner, conversation.tenant_id, conversation.queue_id);
      if (policy.wrap_up_s > 0) {
        await this.query(
          runner,
          `UPDATE agents SET wrap_up_until = $now::timestamptz + make_interval(secs => $wrap) WHERE id = $agent`,
          { agent: agentId, wrap: policy.wrap_up_s },
        );
      }
    }
    await this.query(
      runner,
      `UPDATE conversations SET last_agent_id = $agent, last_assigned_at = $now WHERE id = $conversation`,
      { agent: agentId, conversation: conversation.id },
    );
    this.agentEvent(events, conversation, agentId, conversation.status === 'offered' ? 'offer-withdrawn' : 'revoked', { reason });
    return agentId;
  }

  /**
   * Takes a held or offered conversation away from its agent and puts it back in a queue (the same
   * one, or `queueId`), at the front when `front` (an agent vanished mid-call), then routes it on —
   * never back to the agent it came from.
   */
  async requeue(
    runner: QueryRunner,
    conversation: ConversationRow,
    options: { reason: string; action: string; actor: Actor; front?: boolean; queueId?: string },
    events: OutboxEvent[],
  ): Promise<RouteResult> {
    const from = conversation.status;
    const agentId = await this.endHold(runner, conversation, options.reason, events);
    const queued = await this.transition(runner, conversation.id, ['offered', 'assigned'], 'queued', {
      agentId: null,
      rankToFront: options.front,
      queueId: options.queueId,
    });
    await this.audit(runner, queued, agentId, options.action, from, 'queued', options.actor, { reason: options.reason });
    return this.route(runner, conversation.id, 'router', events, { exclude: agentId });
  }

  /** A live item becomes an async thread (no agent in time, or after hours): same conversation, same history. */
  async downgrade(runner: QueryRunner, conversationId: string, reason: string, events: OutboxEvent[]): Promise<boolean> {
    const changed = await this.query<ConversationRow>(
      runner,
      `UPDATE conversations SET mode = 'async', version = version + 1, updated_at = $now
        WHERE id = $id AND status = 'queued' AND mode = 'sync'
        RETURNING ${CONVERSATION_COLUMNS}`,
      { id: conversationId },
    );
    if (!changed[0]) return false;
    await this.audit(runner, changed[0], null, 'downgrade', 'queued', 'queued', 'system', { reason });
    this.lifecycleEvent(events, changed[0], 'downgraded');
    return true;
  }

  async lockConversation(runner: QueryRunner, conversationId: string): Promise<ConversationRow | undefined> {
    const found = await this.query<ConversationRow>(
      runner,
      `SELECT ${CONVERSATION_COLUMNS}
         FROM conversations WHERE id = $id FOR UPDATE`,
      { id: conversationId },
    );
    return found[0];
  }

  /** Moves a conversation between statuses, failing loudly if someone else moved it first. */
  async transition(
    runner: QueryRunner,
    conversationId: string,
    from: string | string[],
    to: string,
    changes: { agentId?: string | null; rankToFront?: boolean; queueId?: string },
  ): Promise<ConversationRow> {
    const fromList = Array.isArray(from) ? from : [from];
    const updated = await this.query<ConversationRow>(
      runner,
      `UPDATE conversations
          SET status = $to,
              assigned_agent_id = CASE WHEN $setAgent THEN $agent ELSE assigned_agent_id END,
              queue_id = COALESCE($queue, queue_id),
              queued_at = CASE WHEN $to = 'queued' AND status <> 'queued' AND queued_at IS NULL THEN $now ELSE queued_at END,
              queue_entered_at = CASE WHEN $to = 'queued' AND (status <> 'queued' OR $queue IS NOT NULL) THEN $now
                                      ELSE queue_entered_at END,
              rank_at = CASE WHEN $front THEN LEAST(rank_at, $now::timestamptz - interval '100 years') ELSE rank_at END,
              closed_at = CASE WHEN $to = 'closed' THEN $now ELSE closed_at END,
              version = version + 1,
              updated_at = $now
        WHERE id = $id AND status = ANY ($from)
        RETURNING ${CONVERSATION_COLUMNS}`,
      {
        id: conversationId,
        to,
        from: fromList,
        setAgent: changes.agentId !== undefined,
        agent: changes.agentId ?? null,
        queue: changes.queueId ?? null,
        front: changes.rankToFront === true,
      },
    );
    if (updated.length !== 1) {
      throw new Error(`conversation ${conversationId} is not in status ${fromList.join('/')}`);
    }
    return updated[0];
  }

  async audit(
    runner: QueryRunner,
    conversation: Pick<ConversationRow, 'id' | 'tenant_id' | 'mode'>,
    agentId: string | null,
    action: string,
    from: string | null,
    to: string,
    actor: Actor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.query(
      runner,
      `INSERT INTO assignment_audit (tenant_id, conversation_id, agent_id, mode, action, from_status, to_status, actor, details)
       VALUES ($tenant, $conversation, $agent, $mode, $action, $from, $to, $actor, $details)`,
      {
        tenant: conversation.tenant_id,
        conversation: conversation.id,
        agent: agentId,
        mode: conversation.mode,
        action,
        from,
        to,
        actor,
        details: JSON.stringify(details),
      },
    );
  }

  agentEvent(
    events: OutboxEvent[],
    conversation: Pick<ConversationRow, 'id' | 'tenant_id' | 'mode' | 'channel'>,
    agentId: string,
    event: AgentEventName,
    extra: Record<string, unknown> = {},
  ): void {
    events.push({
      exchange: EXCHANGES.agent,
      routingKey: routingKeys.agent(agentId, event),
      payload: {
        eventId: randomUUID(),
        type: `agent.${event}`,
        occurredAt: this.clock.now().toISOString(),
        tenantId: conversation.tenant_id,
        conversationId: conversation.id,
        agentId,
        channel: conversation.channel,
        mode: conversation.mode,
        ...extra,
      },
    });
  }

  /** Lifecycle events for other systems, on the `events` exchange. */
  lifecycleEvent(
    events: OutboxEvent[],
    conversation: Pick<ConversationRow, 'id' | 'tenant_id' | 'mode' | 'channel'>,
    event: ConversationEventName,
    agentId?: string,
  ): void {
    events.push({
      exchange: EXCHANGES.events,
      routingKey: routingKeys.conversation(event),
      payload: {
        eventId: randomUUID(),
        type: `conversation.${event}`,
        occurredAt: this.clock.now().toISOString(),
        tenantId: conversation.tenant_id,
        conversationId: conversation.id,
        channel: conversation.channel,
        mode: conversation.mode,
        agentId,
      },
    });
  }

  private observeAssigned(conversation: ConversationRow): void {
    routerMetrics.assignments.inc({ mode: conversation.mode });
    if (conversation.queued_at) {
      const waited = (this.clock.now().getTime() - new Date(conversation.queued_at).getTime()) / 1000;
      routerMetrics.waitSeconds.observe({ queue: conversation.queue_id, mode: conversation.mode }, Math.max(0, waited));
    }
  }

  private stickyCandidate(conversation: ConversationRow, policy: QueuePolicy): string | undefined {
    if (conversation.mode !== 'async' || !conversation.last_agent_id || !conversation.last_assigned_at) return undefined;
    const age = this.clock.now().getTime() - new Date(conversation.last_assigned_at).getTime();
    return age <= policy.sticky_window_s * 1000 ? conversation.last_agent_id : undefined;
  }

  /** One conditional UPDATE: picks (or checks) an agent and takes one unit of their capacity. */
  private async claim(
    runner: QueryRunner,
    conversation: ConversationRow,
    pick: { only?: string; exclude?: string } = {},
  ): Promise<string | undefined> {
    const sync = conversation.mode === 'sync';
    const room = sync ? HAS_ROOM_SYNC : HAS_ROOM_ASYNC;
    const counter = sync ? 'active_sync' : 'active_async';
    const order = sync
      ? 'a.idle_since, a.id'
      : `a.active_async::float8 / NULLIF(${ASYNC_CAP}, 0), a.last_assigned_at NULLS FIRST, a.id`;
    const declined = sync
      ? 'AND NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = $conversation AND d.agent_id = a.id)'
      : '';
    const attempt = (lock: 'FOR UPDATE OF a SKIP LOCKED' | 'FOR UPDATE OF a') =>
      this.query<{ id: string }>(
        runner,
        `WITH candidate AS (
           SELECT a.id FROM agents a JOIN queues q ON q.tenant_id = $tenant AND q.id = $queue
            WHERE a.tenant_id = $tenant AND ${ELIGIBLE} AND ${room} ${declined}
              ${pick.only ? 'AND a.id = $only' : ''} ${pick.exclude ? 'AND a.id <> $exclude' : ''}
            ORDER BY ${order}
            LIMIT 1
            ${lock}
         )
         UPDATE agents a
            SET ${counter} = a.${counter} + 1, last_assigned_at = $now, version = a.version + 1, updated_at = $now
           FROM candidate, queues q
          WHERE a.id = candidate.id AND q.tenant_id = $tenant AND q.id = $queue AND ${room}
         RETURNING a.id`,
        {
          tenant: conversation.tenant_id,
          queue: conversation.queue_id,
          conversation: conversation.id,
          only: pick.only ?? null,
          exclude: pick.exclude ?? null,
        },
      );
    // Skip agents other transactions are claiming; but when every candidate was skipped, wait for
    // them rather than queue an item while capacity exists (the UPDATE re-checks the cap after the wait).
    let claimed = await attempt('FOR UPDATE OF a SKIP LOCKED');
    if (claimed.length === 0) claimed = await attempt('FOR UPDATE OF a');
    return claimed[0]?.id;
  }

  /** Turns a claimed unit of capacity into an offer (sync) or an assignment (async, auto-accept). */
  private async hand(
    runner: QueryRunner,
    conversation: ConversationRow,
    policy: QueuePolicy,
    agentId: string,
    actor: Actor,
    events: OutboxEvent[],
  ): Promise<RouteResult> {
    const now = this.clock.now();
    const offer = conversation.mode === 'sync' && !policy.auto_accept;
    const expiresAt = new Date(now.getTime() + policy.offer_timeout_s * 1000);
    const status = offer ? 'offered' : 'assigned';
    const timing = offer ? 'first_offered_at' : 'first_assigned_at';
    // One round trip: the assignment, the conversation's new status, its timing and the audit row.
    const handed = await this.query<ConversationRow>(
      runner,
      `WITH assignment AS (
         INSERT INTO assignments (conversation_id, agent_id, mode, state, created_at, expires_at, accepted_at)
         VALUES ($conversation, $agent, $mode, $state, $now, $expires, $accepted) RETURNING id
       ), moved AS (
         UPDATE conversations
            SET status = $status, assigned_agent_id = $agent, version = version + 1, updated_at = $now
          WHERE id = $conversation AND status = 'queued'
         RETURNING ${CONVERSATION_COLUMNS}
       ), timing AS (
         INSERT INTO conversation_timings (conversation_id, ${timing}) VALUES ($conversation, $now)
         ON CONFLICT (conversation_id) DO UPDATE SET ${timing} = COALESCE(conversation_timings.${timing}, EXCLUDED.${timing})
       ), audit AS (
         INSERT INTO assignment_audit (tenant_id, conversation_id, agent_id, mode, action, from_status, to_status, actor)
         SELECT tenant_id, id, $agent, mode, $action, 'queued', $status, $actor FROM moved
       )
       SELECT * FROM moved`,
      {
        conversation: conversation.id,
        agent: agentId,
        mode: conversation.mode,
        state: offer ? 'offered' : 'active',
        expires: offer ? expiresAt : null,
        accepted: offer ? null : now,
        status,
        action: offer ? 'offer' : 'assign',
        actor,
      },
    );
    const updated = handed[0];
    if (!updated) throw new Error(`conversation ${conversation.id} is not in status queued`);
    if (offer) {
      this.agentEvent(events, updated, agentId, 'offer', { expiresAt: expiresAt.toISOString() });
    } else {
      this.agentEvent(events, updated, agentId, 'assigned', { via: conversation.last_agent_id === agentId ? 'sticky' : 'routing' });
      this.lifecycleEvent(events, updated, 'assigned', agentId);
      this.observeAssigned(updated);
    }
    return { status, agentId };
  }

  private async release(runner: QueryRunner, agentId: string, mode: Mode): Promise<void> {
    const counter = mode === 'sync' ? 'active_sync' : 'active_async';
    await this.query(
      runner,
      `UPDATE agents
          SET ${counter} = ${counter} - 1,
              idle_since = CASE WHEN $sync AND active_sync = 1 THEN $now ELSE idle_since END,
              version = version + 1, updated_at = $now
        WHERE id = $agent`,
      { agent: agentId, sync: mode === 'sync' },
    );
  }

  private async timing(runner: QueryRunner, conversationId: string, column: string, at: Date): Promise<void> {
    await this.query(
      runner,
      `INSERT INTO conversation_timings (conversation_id, ${column}) VALUES ($conversation, $at)
       ON CONFLICT (conversation_id) DO UPDATE SET ${column} = COALESCE(conversation_timings.${column}, EXCLUDED.${column})`,
      { conversation: conversationId, at },
    );
  }

  /**
   * Queue policies are configuration, not routing state: read once and reused for a couple of
   * seconds, which saves a round trip on every decision (a policy change applies within that time).
   */
  private async queuePolicy(runner: QueryRunner, tenantId: string, queueId: string): Promise<QueuePolicy> {
    const key = `${tenantId}\u0000${queueId}`;
    const cached = this.policies.get(key);
    if (cached && cached.until > Date.now()) return cached.policy;
    const found = await this.query<QueuePolicy>(
      runner,
      `SELECT offer_timeout_s, auto_accept, wrap_up_s, sticky_window_s FROM queues WHERE tenant_id = $tenant AND id = $queue`,
      { tenant: tenantId, queue: queueId },
    );
    if (!found[0]) throw new Error(`queue ${tenantId}/${queueId} does not exist`);
    this.policies.set(key, { policy: found[0], until: Date.now() + POLICY_TTL_MS });
    return found[0];
  }
}
