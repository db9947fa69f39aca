/**
 * The routing engine's transitions, each run inside the caller's transaction. Every claim on an
 * agent checks the cap on the agent's latest row under its lock — a conditional UPDATE that
 * re-checks it in its WHERE clause, or (close and drain) a FOR UPDATE read the same statement then
 * updates — so replicas racing for the same agent cannot push it past its cap (I2) nor hand async
 * work to an agent holding a sync item when the policy forbids it (I3); every status change of a
 * conversation is conditional on the status it expects, and the unique index on live assignments
 * forbids a second one (I1). Offers hold capacity until accepted, declined or expired; a decliner
 * is recorded and never offered the item again (I5). Waiting items are taken in `rank_at` order
 * (I6).
 *
 * Each transition appends to the assignment audit log and writes its events to the outbox.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, routingKeys, type AgentEventName, type ConversationEventName, type Mode } from '@app/contracts';
import {
  afterCommit,
  ASYNC_CAP,
  ConcurrentUpdateError,
  ELIGIBLE,
  HAS_ROOM_ASYNC,
  HAS_ROOM_SYNC,
  preparedRows,
  rows,
  statementName,
  type PreparedStatement,
} from '@app/persistence';
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

// The SQL fragments every claim uses — effective caps (agent → queue → global), eligibility and room
// (ELIGIBLE, HAS_ROOM_SYNC, HAS_ROOM_ASYNC, ASYNC_CAP…) — live in @app/persistence (routing-sql.ts),
// shared with the router's gauges and the gateway's supervisor stats so they count by the same rules.

/**
 * The hand-over of a claimed unit of capacity, as CTEs following a `claimed` CTE that yields
 * (conversation_id, agent_id, mode, offer, expires_at): the assignment (an offer for sync work unless
 * the queue auto-accepts), the conversation's new status, its timing and the audit row (actor
 * `$handedBy`). `moved` reads `claimed`, so the audit row is written after the agent's row is locked
 * (the A4 replay relies on it).
 */
const HAND_OVER = `assignment AS (
    INSERT INTO assignments (conversation_id, agent_id, mode, state, created_at, expires_at, accepted_at)
    SELECT conversation_id, agent_id, mode, CASE WHEN offer THEN 'offered' ELSE 'active' END, $now::timestamptz, expires_at,
           CASE WHEN offer THEN NULL ELSE $now::timestamptz END
      FROM claimed
  ), moved AS (
    UPDATE conversations c
       SET status = CASE WHEN k.offer THEN 'offered' ELSE 'assigned' END, assigned_agent_id = k.agent_id,
           version = c.version + 1, updated_at = $now
      FROM claimed k
     WHERE c.id = k.conversation_id AND c.status = 'queued'
    RETURNING ${CONVERSATION_COLUMNS_OF_C}, k.offer, k.expires_at
  ), timing AS (
    INSERT INTO conversation_timings (conversation_id, first_offered_at, first_assigned_at)
    SELECT id, CASE WHEN offer THEN $now::timestamptz END, CASE WHEN offer THEN NULL ELSE $now::timestamptz END FROM moved
    ON CONFLICT (conversation_id) DO UPDATE
      SET first_offered_at = COALESCE(conversation_timings.first_offered_at, EXCLUDED.first_offered_at),
          first_assigned_at = COALESCE(conversation_timings.first_assigned_at, EXCLUDED.first_assigned_at)
  ), audit AS (
    INSERT INTO assignment_audit (tenant_id, conversation_id, agent_id, mode, action, from_status, to_status, actor)
    SELECT tenant_id, id, assigned_agent_id, mode, CASE WHEN offer THEN 'offer' ELSE 'assign' END, 'queued', status, $handedBy::text
      FROM moved
  )`;

/** Offer (sync work, unless the queue auto-accepts) or assignment, and the offer's expiry, for mode `mode` in queue `q`. */
const offerOf = (mode: string) => `(${mode} = 'sync' AND NOT q.auto_accept)`;
const expiryOf = (mode: string) =>
  `CASE WHEN ${offerOf(mode)} THEN $now::timestamptz + make_interval(secs => q.offer_timeout_s) END`;

/**
 * The next item for agent `$agent` (see `drainForAgent`), as CTEs: `lane` (the queue and mode lanes
 * the agent has room in, the agent row read from `agent`, aliased `a`), `head` (each lane's head,
 * read without locks), `best` (the lane with the best head, and the best head of the other lanes)
 * and `locked` (the first item of the best lane no other transaction holds, ranking no later than
 * the other lanes' heads, locked).
 */
const lanes = (agent: string) => `lane AS (
    SELECT q.tenant_id, q.id AS queue_id, m.mode
      FROM ${agent}
      JOIN queues q ON q.tenant_id = a.tenant_id
     CROSS JOIN (VALUES ('sync'), ('async')) AS m (mode)
     WHERE a.id = $agent AND ${ELIGIBLE}
       AND ((m.mode = 'sync' AND ${HAS_ROOM_SYNC}) OR (m.mode = 'async' AND ${HAS_ROOM_ASYNC}))
  )`;
const nextItem = (agent: string) => `${lanes(agent)}, head AS (
    SELECT lane.tenant_id, lane.queue_id, lane.mode, next.id, next.rank_at
      FROM lane
     CROSS JOIN LATERAL (
       SELECT c.id, c.rank_at
         FROM conversations c
        WHERE c.tenant_id = lane.tenant_id AND c.queue_id = lane.queue_id AND c.mode = lane.mode
          AND c.status = 'queued' AND c.id <> ALL ($skip::uuid[])
          AND (c.mode = 'async'
               OR NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = $agent))
        ORDER BY c.rank_at
        LIMIT 1
     ) next
  ), best AS (
    SELECT b.tenant_id, b.queue_id, b.mode, b.id,
           (SELECT min(o.rank_at) FROM head o WHERE (o.queue_id, o.mode) <> (b.queue_id, b.mode)) AS bound
      FROM head b
     ORDER BY b.rank_at
     LIMIT 1
  ), locked AS (
    SELECT c.id, c.tenant_id, c.queue_id, c.mode
      FROM conversations c
     WHERE c.tenant_id = (SELECT tenant_id FROM best) AND c.queue_id = (SELECT queue_id FROM best)
       AND c.mode = (SELECT mode FROM best) AND c.status = 'queued' AND c.id <> ALL ($skip::uuid[])
       AND c.rank_at <= COALESCE((SELECT bound FROM best), 'infinity')
       AND (c.mode = 'async'
            OR NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = $agent))
     ORDER BY c.rank_at
     LIMIT 1
       FOR UPDATE SKIP LOCKED
  )`;

/** Agent `a` (with `q` its queue) may take the locked item `l`: room in its mode, and not declined (sync). */
const FITS = `CASE WHEN l.mode = 'sync'
       THEN (${HAS_ROOM_SYNC})
            AND NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = l.id AND d.agent_id = a.id)
       ELSE (${HAS_ROOM_ASYNC}) END`;

/**
 * Whether agent `a` (its new row, in a RETURNING clause) still has room in a lane where something
 * other than the item just taken (`taken`) waits — in this statement's snapshot, where that item
 * still looks queued.
 */
const moreRoom = (taken: string) => `EXISTS (
    SELECT 1
      FROM queues q
     CROSS JOIN (VALUES ('sync'), ('async')) AS m (mode)
     CROSS JOIN LATERAL (
       SELECT 1 FROM conversations c
        WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id AND c.mode = m.mode
          AND c.status = 'queued' AND c.id IS DISTINCT FROM ${taken}
        ORDER BY c.rank_at
        LIMIT 1
     ) waiting
     WHERE ${ELIGIBLE}
       AND ((m.mode = 'sync' AND ${HAS_ROOM_SYNC}) OR (m.mode = 'async' AND ${HAS_ROOM_ASYNC}))
  )`;

/**
 * Of some conversations and agents: the conversations waiting in a queue, and the agents with room
 * in a lane where something waits — the only ones a route or a drain would do anything for. Read
 * without locks: what changes after this look is routed by whoever changed it.
 */
const WAITING_WORK = `SELECT
    ARRAY(SELECT c.id FROM conversations c WHERE c.id = ANY ($conversations::uuid[]) AND c.status = 'queued') AS queued,
    ARRAY(SELECT a.id FROM agents a WHERE a.id = ANY ($agents::text[]) AND ${moreRoom('NULL::uuid')}) AS draining`;

/** What a drain step reports: the best head, whether it was locked and claimed, and the hand-over. */
const STEP_RESULT = `b.id AS head_id, l.id AS locked_id, k.agent_id AS claimed_by, k.more, m.*
  FROM (SELECT 1) AS one
  LEFT JOIN best b ON true
  LEFT JOIN locked l ON true
  LEFT JOIN claimed k ON true
  LEFT JOIN moved m ON true`;

/** The claim on agent `$agent` for the locked item: one conditional UPDATE that re-checks room on the latest row. */
const CLAIM_LOCKED = `claimed AS (
     UPDATE agents a
        SET active_sync = a.active_sync + CASE WHEN l.mode = 'sync' THEN 1 ELSE 0 END,
            active_async = a.active_async + CASE WHEN l.mode = 'async' THEN 1 ELSE 0 END,
            last_assigned_at = $now, version = a.version + 1, updated_at = $now
       FROM locked l, queues q
      WHERE a.id = $agent AND q.tenant_id = l.tenant_id AND q.id = l.queue_id AND ${ELIGIBLE} AND ${FITS}
     RETURNING l.id AS conversation_id, a.id AS agent_id, l.mode, ${offerOf('l.mode')} AS offer,
               ${expiryOf('l.mode')} AS expires_at, ${moreRoom('l.id')} AS more
   )`;

/** One step of `drainForAgent`. */
const DRAIN_STEP = `WITH ${nextItem('agents a')}, ${CLAIM_LOCKED}, ${HAND_OVER}
   SELECT ${STEP_RESULT}`;

/**
 * The last step of a drain that took nothing: the best of the heads it passed over that are still
 * queued in one of the agent's lanes, waiting for the transaction that holds it.
 */
const DRAIN_WAIT_STEP = `WITH ${lanes('agents a')}, locked AS (
     SELECT c.id, c.tenant_id, c.queue_id, c.mode
       FROM conversations c
      WHERE c.id = ANY ($skip::uuid[]) AND c.status = 'queued'
        AND EXISTS (SELECT 1 FROM lane
                     WHERE lane.tenant_id = c.tenant_id AND lane.queue_id = c.queue_id AND lane.mode = c.mode)
        AND (c.mode = 'async'
             OR NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = $agent))
      ORDER BY c.rank_at
      LIMIT 1
        FOR UPDATE OF c
   ), best AS (
     SELECT id FROM locked
   ), ${CLAIM_LOCKED}, ${HAND_OVER}
   SELECT ${STEP_RESULT}`;

/** `closeAndDrain`: the close, and the first drain step of the capacity it frees. */
const CLOSE_AND_DRAIN = `WITH closing AS (
     UPDATE conversations
        SET status = 'closed', assigned_agent_id = NULL, closed_at = $now, last_agent_id = $agent,
            last_assigned_at = $now, version = version + 1, updated_at = $now
      WHERE id = $id AND status = 'assigned' AND assigned_agent_id = $agent
     RETURNING id, tenant_id, queue_id, mode, channel, version
   ), ended AS (
     UPDATE assignments s SET state = 'ended', ended_at = $now, end_reason = 'closed'
       FROM closing m
      WHERE s.conversation_id = m.id AND s.agent_id = $agent AND s.state <> 'ended'
     RETURNING s.accepted_at
   ), freed AS (
     SELECT a.id, a.tenant_id, a.presence, a.skills, a.queue_ids, a.sync_cap, a.async_cap, a.sync_blocks_async,
            a.active_sync - CASE WHEN m.mode = 'sync' THEN 1 ELSE 0 END AS active_sync,
            a.active_async - CASE WHEN m.mode = 'async' THEN 1 ELSE 0 END AS active_async,
            CASE WHEN m.mode = 'sync' AND a.active_sync = 1 THEN $now::timestamptz ELSE a.idle_since END AS idle_since,
            CASE WHEN m.mode = 'sync' AND q.wrap_up_s > 0 THEN $now::timestamptz + make_interval(secs => q.wrap_up_s)
                 ELSE a.wrap_up_until END AS wrap_up_until
       FROM agents a
      CROSS JOIN closing m
       LEFT JOIN queues q ON q.tenant_id = m.tenant_id AND q.id = m.queue_id
      WHERE a.id = $agent AND EXISTS (SELECT 1 FROM ended)
        FOR UPDATE OF a
   ), ${nextItem('freed a')}, claim AS (
     SELECT l.id AS conversation_id, a.id AS agent_id, l.mode, ${offerOf('l.mode')} AS offer,
            ${expiryOf('l.mode')} AS expires_at
       FROM freed a, locked l, queues q
      WHERE q.tenant_id = l.tenant_id AND q.id = l.queue_id AND ${ELIGIBLE} AND ${FITS}
   ), agent AS (
     UPDATE agents a
        SET active_sync = f.active_sync + CASE WHEN k.mode = 'sync' THEN 1 ELSE 0 END,
            active_async = f.active_async + CASE WHEN k.mode = 'async' THEN 1 ELSE 0 END,
            idle_since = f.idle_since, wrap_up_until = f.wrap_up_until,
            last_assigned_at = CASE WHEN k.agent_id IS NULL THEN a.last_assigned_at ELSE $now END,
            version = a.version + 1, updated_at = $now
       FROM freed f
       LEFT JOIN claim k ON true
      WHERE a.id = f.id
     RETURNING k.agent_id AS claimed_by, ${moreRoom('k.conversation_id')} AS more
   ), close_timing AS (
     UPDATE conversation_timings t SET closed_at = $now FROM closing m WHERE t.conversation_id = m.id
   ), close_audit AS (
     INSERT INTO assignment_audit (tenant_id, conversation_id, agent_id, mode, action, from_status, to_status, actor)
     SELECT m.tenant_id, m.id, $agent::text, m.mode, 'close', 'assigned', 'closed', $closedBy::text
       FROM closing m
      WHERE EXISTS (SELECT 1 FROM agent)
     RETURNING id
   ), claimed AS (
     SELECT k.*, g.more
       FROM claim k, agent g
      WHERE g.claimed_by IS NOT NULL AND EXISTS (SELECT 1 FROM close_audit)
   ), ${HAND_OVER}
   SELECT jsonb_build_object('id', c.id, 'tenant_id', c.tenant_id, 'queue_id', c.queue_id, 'mode', c.mode,
                             'channel', c.channel) AS closed,
          c.version, (SELECT version FROM conversations WHERE id = $id) AS seen_version,
          (SELECT count(*)::int FROM ended) AS ended, (SELECT max(accepted_at) FROM ended) AS accepted_at,
          ${STEP_RESULT}
     CROSS JOIN closing c`;

/**
 * `closeMany`, first statement: the closes of several agents (one conversation each, the agents
 * distinct), as CLOSE_AND_DRAIN closes — the conversation closed, its live assignment ended, the
 * agent's row locked and freed (wrap-up started for sync work), the timing and the audit row (written
 * after the agent's row is locked, A4) — without the drain. One row per input, in input order; a
 * close that did not take effect (not the holder) has no `tenant_id`.
 */
const CLOSE_MANY = `WITH input AS (
     SELECT x.id, x.agent_id, x.ord FROM unnest($ids::uuid[], $agents::text[]) WITH ORDINALITY AS x (id, agent_id, ord)
   ), closing AS (
     UPDATE conversations c
        SET status = 'closed', assigned_agent_id = NULL, closed_at = $now, last_agent_id = x.agent_id,
            last_assigned_at = $now, version = c.version + 1, updated_at = $now
       FROM input x
      WHERE c.id = x.id AND c.status = 'assigned' AND c.assigned_agent_id = x.agent_id
     RETURNING c.id, c.tenant_id, c.queue_id, c.mode, c.channel, c.version, x.agent_id
   ), ended AS (
     UPDATE assignments s SET state = 'ended', ended_at = $now, end_reason = 'closed'
       FROM closing m
      WHERE s.conversation_id = m.id AND s.agent_id = m.agent_id AND s.state <> 'ended'
     RETURNING s.conversation_id, s.accepted_at
   ), freed AS (
     UPDATE agents a
        SET active_sync = a.active_sync - CASE WHEN m.mode = 'sync' THEN 1 ELSE 0 END,
            active_async = a.active_async - CASE WHEN m.mode = 'async' THEN 1 ELSE 0 END,
            idle_since = CASE WHEN m.mode = 'sync' AND a.active_sync = 1 THEN $now::timestamptz ELSE a.idle_since END,
            wrap_up_until = CASE WHEN m.mode = 'sync' AND q.wrap_up_s > 0 THEN $now::timestamptz + make_interval(secs => q.wrap_up_s)
                                 ELSE a.wrap_up_until END,
            version = a.version + 1, updated_at = $now
       FROM closing m
       LEFT JOIN queues q ON q.tenant_id = m.tenant_id AND q.id = m.queue_id
      WHERE a.id = m.agent_id AND EXISTS (SELECT 1 FROM ended e WHERE e.conversation_id = m.id)
     RETURNING a.id
   ), close_timing AS (
     UPDATE conversation_timings t SET closed_at = $now FROM closing m WHERE t.conversation_id = m.id
   ), close_audit AS (
     INSERT INTO assignment_audit (tenant_id, conversation_id, agent_id, mode, action, from_status, to_status, actor)
     SELECT m.tenant_id, m.id, m.agent_id, m.mode, 'close', 'assigned', 'closed', 'agent:' || m.agent_id
       FROM closing m
      WHERE EXISTS (SELECT 1 FROM freed f WHERE f.id = m.agent_id)
   )
   SELECT m.tenant_id, m.queue_id, m.mode, m.channel, m.version,
          (SELECT v.version FROM conversations v WHERE v.id = x.id) AS seen_version,
          (SELECT count(*)::int FROM ended e WHERE e.conversation_id = x.id) AS ended,
          (SELECT max(e.accepted_at) FROM ended e WHERE e.conversation_id = x.id) AS accepted_at
     FROM input x
     LEFT JOIN closing m ON m.id = x.id AND m.agent_id = x.agent_id
    ORDER BY x.ord`;

/**
 * `closeMany`, second statement: the drain for the agents just freed (`$agents`, in that order, their
 * rows locked by this transaction), for all those it can serve together — an agent with room in
 * exactly one lane where something waits, an async one. The k such agents of a queue take its first
 * k async items no other transaction holds, in queue order and in agents' order, as k drains one
 * after another would; nothing else is locked. One row per agent, in input order: the hand-over if
 * any, the room the agent had in that lane, and how many of its lanes with room have something
 * waiting — the rest (several lanes, sync work, an item another transaction held, room left) is
 * for `drainSteps`.
 */
const HAND_MANY = `WITH input AS (
     SELECT x.agent_id, x.ord FROM unnest($agents::text[]) WITH ORDINALITY AS x (agent_id, ord)
   ), lane AS (
     SELECT x.agent_id, x.ord, q.tenant_id, q.id AS queue_id, m.mode, ${ASYNC_CAP} - a.active_async AS room
       FROM agents a
       JOIN input x ON x.agent_id = a.id
       JOIN queues q ON q.tenant_id = a.tenant_id
      CROSS JOIN (VALUES ('sync'), ('async')) AS m (mode)
      CROSS JOIN LATERAL (
        SELECT 1 FROM conversations c
         WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id AND c.mode = m.mode AND c.status = 'queued'
         ORDER BY c.rank_at
         LIMIT 1
      ) waiting
      -- = ANY as well as the join: the generic plan then reads the agents by key, not all of them.
      WHERE a.id = ANY ($agents::text[]) AND ${ELIGIBLE}
        AND ((m.mode = 'sync' AND ${HAS_ROOM_SYNC}) OR (m.mode = 'async' AND ${HAS_ROOM_ASYNC}))
   ), single AS (
     SELECT l.agent_id, l.tenant_id, l.queue_id, l.room,
            row_number() OVER (PARTITION BY l.tenant_id, l.queue_id ORDER BY l.ord) AS rn
       FROM lane l
      WHERE l.mode = 'async'
        AND NOT EXISTS (SELECT 1 FROM lane o WHERE o.agent_id = l.agent_id AND (o.queue_id, o.mode) <> (l.queue_id, l.mode))
   ), need AS (
     SELECT tenant_id, queue_id, count(*) AS k FROM single GROUP BY tenant_id, queue_id
   ), item AS (
     SELECT n.tenant_id, n.queue_id, i.id, row_number() OVER (PARTITION BY n.tenant_id, n.queue_id ORDER BY i.rank_at, i.id) AS rn
       FROM need n
      CROSS JOIN LATERAL (
        SELECT c.id, c.rank_at
          FROM conversations c
         WHERE c.tenant_id = n.tenant_id AND c.queue_id = n.queue_id AND c.mode = 'async' AND c.status = 'queued'
         ORDER BY c.rank_at
         LIMIT n.k
           FOR UPDATE SKIP LOCKED
      ) i
   ), claimed AS (
     UPDATE agents a
        SET active_async = a.active_async + 1, last_assigned_at = $now, version = a.version + 1, updated_at = $now
       FROM single s
       JOIN item i ON i.tenant_id = s.tenant_id AND i.queue_id = s.queue_id AND i.rn = s.rn
       JOIN queues q ON q.tenant_id = s.tenant_id AND q.id = s.queue_id
      WHERE a.id = s.agent_id AND ${ELIGIBLE} AND ${HAS_ROOM_ASYNC}
     RETURNING i.id AS conversation_id, a.id AS agent_id, 'async'::text AS mode, false AS offer,
               NULL::timestamptz AS expires_at, s.room
   ), ${HAND_OVER}
   SELECT (SELECT count(*)::int FROM lane l WHERE l.agent_id = x.agent_id) AS lanes, k.room, m.*
     FROM input x
     LEFT JOIN claimed k ON k.agent_id = x.agent_id
     LEFT JOIN moved m ON m.id = k.conversation_id
    ORDER BY x.ord`;

/** A close of `closeMany`'s first statement; `tenant_id` null when it did not take effect. */
type ClosedRow = { version: number; seen_version: number; ended: number; accepted_at: Date | null } & (
  | { tenant_id: null }
  | Pick<ConversationRow, 'tenant_id' | 'queue_id' | 'mode' | 'channel'>
);

/** An agent of `closeMany`'s second statement: its lanes with work waiting, and the hand-over if any. */
type ServedRow = { lanes: number; room: number | null } & ({ id: null } | HandedRow);

/** A conversation just handed over: its row after the hand-over, and whether it was offered. */
interface HandedRow extends ConversationRow {
  offer: boolean;
  expires_at: Date | null;
}

/** A close and the first drain step of the capacity it freed. */
type CloseStep = DrainStep & {
  closed: Pick<ConversationRow, 'id' | 'tenant_id' | 'queue_id' | 'mode' | 'channel'>;
  version: number;
  seen_version: number;
  ended: number;
  accepted_at: Date | null;
};

/** One drain step: the lane head chosen, whether it was locked and claimed, and the hand-over if any. */
type DrainStep = {
  head_id: string | null;
  locked_id: string | null;
  claimed_by: string | null;
  more: boolean | null;
} & ({ id: null } | HandedRow);

/** Named parameters ($now, $defSync…) compiled to positional ones for pg, once per statement text. */
interface Compiled extends PreparedStatement {
  names: string[];
}

const NAMED_PARAMETER = /\$([A-Za-z_][A-Za-z0-9_]*)/g;
const COMPILED_LIMIT = 1_000;
const compiled = new Map<string, Compiled>();

function compile(text: string): Compiled {
  let found = compiled.get(text);
  if (!found) {
    const names: string[] = [];
    const sql = text.replace(NAMED_PARAMETER, (_, name: string) => {
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    });
    found = { name: statementName(sql), text: sql, names };
    // Statement texts come from a fixed set of templates; the bound only guards against a caller
    // that would build texts from data.
    if (compiled.size >= COMPILED_LIMIT) compiled.clear();
    compiled.set(text, found);
  }
  return found;
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
    const statement = compile(text);
    return rows<T>(runner, statement.text, this.values(statement, named));
  }

  /** `query()` as a named prepared statement, for the hot statements whose plan is the same for any values. */
  private async prepared<T>(runner: QueryRunner, text: string, named: Record<string, unknown>): Promise<T[]> {
    const statement = compile(text);
    return preparedRows<T>(runner, statement, this.values(statement, named));
  }

  private values(statement: Compiled, named: Record<string, unknown>): unknown[] {
    const now = this.clock.now();
    return statement.names.map((name) => {
      switch (name) {
        case 'now':
          return now;
        case 'defSync':
          return this.defaults.syncCap;
        case 'defAsync':
          return this.defaults.asyncCap;
        case 'defBlocks':
          return this.defaults.syncBlocksAsync;
        default:
          if (!(name in named)) throw new Error(`no value for parameter $${name}`);
          return named[name];
      }
    });
  }

  /**
   * Finds an agent for a queued conversation: the sticky agent first (when given, online, with
   * room), then longest-idle for sync, least-loaded for async. Offers sync work (or assigns it with
   * auto-accept); assigns async work. Returns 'queued' when nobody has room. `locked` is the
   * conversation's current row when the caller has just written and locked it, saving a read.
   */
  async route(
    runner: QueryRunner,
    conversationId: string,
    actor: Actor,
    events: OutboxEvent[],
    options: { exclude?: string; onlyAgent?: string; locked?: ConversationRow; transfer?: boolean } = {},
  ): Promise<RouteResult> {
    const conversation = options.locked ?? (await this.lockConversation(runner, conversationId));
    if (!conversation || conversation.status !== 'queued') return { status: 'queued' };
    let handed: HandedRow | undefined;
    if (options.onlyAgent) {
      handed = await this.claimAndHand(runner, conversation, actor, { only: options.onlyAgent });
    } else {
      const sticky = await this.stickyCandidate(runner, conversation);
      if (sticky && sticky !== options.exclude) handed = await this.claimAndHand(runner, conversation, actor, { only: sticky });
      handed ??= await this.claimAndHand(runner, conversation, actor, { exclude: options.exclude });
    }
    if (!handed) return { status: 'queued' };
    return this.announceHandOver(runner, events, handed, options.transfer);
  }

  /**
   * Capacity freed for an agent: give them the best waiting items they can take, in queue order,
   * until their room or the queue runs out. Called on close, decline, transfer, release, presence
   * change to online, wrap-up end and cap changes — never only on a timer.
   *
   * One statement per item: the (queue, mode) lanes the agent has room in, each lane's head (read
   * without locks), then the first item of the best lane that no other transaction holds (SKIP
   * LOCKED), the claim on the agent and the hand-over. Concurrent drains of one queue thus take
   * consecutive items instead of queueing on its head, and nothing but the item taken is locked.
   * The item must not rank after another lane's head; when the best lane has no such free item, its
   * head is passed over and the next statement looks again. The claim also tells whether the agent
   * still has room in a lane where something waits, which saves a last empty look.
   */
  async drainForAgent(runner: QueryRunner, agentId: string, actor: Actor, events: OutboxEvent[]): Promise<string[]> {
    return this.drainSteps(runner, agentId, actor, events);
  }

  /**
   * The drain loop; `first` is a step already taken by the statement that freed the capacity.
   * Returns the conversations handed to the agent.
   *
   * A head passed over may be held by a route that found nobody — its snapshot still saw this agent
   * busy — and leaves it queued; skipping it then would leave the agent idle while it waits. So a
   * drain that took nothing but passed heads over finally waits for their holders and looks at them
   * again. A drain that took something does not wait, so concurrent drains never queue on a head.
   * (A holder that in turn waits for this agent is a deadlock Postgres breaks; the unit that loses
   * is retried by `inTransaction`.)
   */
  private async drainSteps(
    runner: QueryRunner,
    agentId: string,
    actor: Actor,
    events: OutboxEvent[],
    first?: DrainStep,
  ): Promise<string[]> {
    const handed: string[] = [];
    const skipped: string[] = [];
    let wait: 'no' | 'next' | 'done' = 'no';
    let step = first;
    for (let guard = 0; guard < 64; guard += 1) {
      if (!step) {
        step = await this.drainStep(runner, wait === 'next' ? DRAIN_WAIT_STEP : DRAIN_STEP, agentId, actor, skipped);
        if (wait === 'next') wait = 'done';
      }
      if (!step.head_id) {
        if (handed.length > 0 || skipped.length === 0 || wait !== 'no') break;
        wait = 'next';
        step = undefined;
        continue;
      }
      if (!step.locked_id) {
        skipped.push(step.head_id);
        step = undefined;
        continue;
      }
      if (!step.claimed_by) break;
      if (step.id === null) throw new Error(`conversation ${step.locked_id} is not in status queued`);
      this.announceHandOver(runner, events, step);
      handed.push(step.id);
      if (!step.more) break;
      step = undefined;
    }
    return handed;
  }

  private async drainStep(
    runner: QueryRunner,
    statement: string,
    agentId: string,
    actor: Actor,
    skipped: string[],
  ): Promise<DrainStep> {
    const [step] = await this.prepared<DrainStep>(runner, statement, { agent: agentId, skip: skipped, handedBy: actor });
    return step;
  }

  /** See `WAITING_WORK`. */
  async waitingWork(runner: QueryRunner, conversationIds: string[], agentIds: string[]): Promise<{ queued: string[]; draining: string[] }> {
    const [found] = await this.prepared<{ queued: string[]; draining: string[] }>(runner, WAITING_WORK, {
      conversations: conversationIds,
      agents: agentIds,
    });
    return found;
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
    this.observeAssigned(runner, conversation);
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
      this.observeHandled(runner, conversation, ended[0].accepted_at);
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
    // The customer's last agent is one who held it: a withdrawn offer leaves the previous holder (and
    // an episode whose only offers were withdrawn still counts its first wait, see observeAssigned).
    if (ended[0].accepted_at) {
      await this.query(
        runner,
        `UPDATE conversations SET last_agent_id = $agent, last_assigned_at = $now WHERE id = $conversation`,
        { agent: agentId, conversation: conversation.id },
      );
    }
    this.agentEvent(events, conversation, agentId, conversation.status === 'offered' ? 'offer-withdrawn' : 'revoked', { reason });
    return agentId;
  }

  /**
   * The holder closes a conversation they hold and the capacity it frees is drained, in one
   * statement for the usual case: the conversation is closed and remembers its last agent, its live
   * assignment ends, its timing and audit row are written; the agent's row is locked and, as it is
   * after the close (one unit less, wrap-up started for sync work), takes the next item as
   * `drainForAgent` would — one UPDATE of the agent for both. The close's audit row is written
   * before the hand-over's, after the agent's row is locked (A4). Further items, or a head another
   * transaction holds, continue in `drainForAgent`'s loop. Returns the conversations handed to the
   * agent with the freed capacity; undefined when `agentId` does not hold the conversation (nothing
   * is changed then).
   */
  async closeAndDrain(
    runner: QueryRunner,
    agentId: string,
    conversationId: string,
    events: OutboxEvent[],
  ): Promise<string[] | undefined> {
    const [row] = await this.prepared<CloseStep>(runner, CLOSE_AND_DRAIN, {
      id: conversationId,
      agent: agentId,
      skip: [],
      closedBy: `agent:${agentId}`,
      handedBy: 'router',
    });
    if (!row) return undefined;
    this.announceClose(runner, events, row.closed, agentId, row);
    return this.drainSteps(runner, agentId, 'router', events, row);
  }

  /**
   * After a close statement: its live assignment must have ended — otherwise the holder check waited
   * for a concurrent change of the conversation and re-read it, and when that change ended its
   * assignment and handed it to the same agent again (a release drained back), the new assignment
   * is not in the statement's snapshot; a fresh attempt sees it. Then the handle time and the events.
   */
  private announceClose(
    runner: QueryRunner,
    events: OutboxEvent[],
    closed: Pick<ConversationRow, 'id' | 'tenant_id' | 'queue_id' | 'mode' | 'channel'>,
    agentId: string,
    row: { ended: number; version: number; seen_version: number; accepted_at: Date | null },
  ): void {
    if (row.ended !== 1) {
      if (row.version !== row.seen_version + 1) throw new ConcurrentUpdateError(`conversation ${closed.id} changed while being closed`);
      throw new Error(`conversation ${closed.id} has no live assignment for ${agentId}`);
    }
    if (row.accepted_at) this.observeHandled(runner, closed, row.accepted_at);
    this.agentEvent(events, closed, agentId, 'revoked', { reason: 'closed' });
    this.lifecycleEvent(events, closed, 'closed', agentId);
  }

  /**
   * `closeAndDrain` for several agents at once (one conversation each, the agents distinct): every
   * close in one statement, then one statement that hands the next item to each agent it can (see
   * HAND_MANY); `drainSteps` goes on for the agents that statement leaves with something to do. The
   * events of the i-th close go to `events[i]`. Returns, for each close, the conversations handed
   * to its agent, or undefined when the agent did not hold the conversation (nothing changed then).
   */
  async closeMany(
    runner: QueryRunner,
    closes: Array<{ agentId: string; conversationId: string }>,
    events: OutboxEvent[][],
  ): Promise<Array<string[] | undefined>> {
    const closed = await this.prepared<ClosedRow>(runner, CLOSE_MANY, {
      ids: closes.map((close) => close.conversationId),
      agents: closes.map((close) => close.agentId),
    });
    const handed: Array<string[] | undefined> = [];
    const freed: number[] = [];
    closed.forEach((row, index) => {
      if (row.tenant_id === null) return;
      this.announceClose(runner, events[index], { ...row, id: closes[index].conversationId }, closes[index].agentId, row);
      handed[index] = [];
      freed.push(index);
    });
    if (freed.length === 0) return handed;
    const served = await this.prepared<ServedRow>(runner, HAND_MANY, {
      agents: freed.map((index) => closes[index].agentId),
      handedBy: 'router',
    });
    for (const [at, row] of served.entries()) {
      const index = freed[at];
      if (row.id !== null) {
        this.announceHandOver(runner, events[index], row);
        handed[index]!.push(row.id);
      }
      const more = row.id !== null ? (row.room ?? 0) > 1 : row.lanes > 0;
      if (more) handed[index]!.push(...(await this.drainSteps(runner, closes[index].agentId, 'router', events[index])));
    }
    return handed;
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
              next_notice_at = CASE WHEN $to = 'queued' AND status <> 'queued' THEN $now::timestamptz + (
                                 SELECT make_interval(secs => CASE WHEN conversations.mode = 'sync' THEN q.notice_interval_s
                                                                   ELSE GREATEST(q.notice_interval_s, q.expected_reply_s) END)
                                   FROM queues q WHERE q.tenant_id = conversations.tenant_id AND q.id = COALESCE($queue, conversations.queue_id))
                                 ELSE next_notice_at END,
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

  /** Handle time of a closed conversation: from the agent's acceptance to the close, once committed. */
  private observeHandled(runner: QueryRunner, conversation: Pick<ConversationRow, 'queue_id' | 'mode'>, acceptedAt: Date | string): void {
    const held = (this.clock.now().getTime() - new Date(acceptedAt).getTime()) / 1000;
    afterCommit(runner, () => routerMetrics.handleSeconds.observe({ queue: conversation.queue_id, mode: conversation.mode }, Math.max(0, held)));
  }

  /**
   * An assignment, and — for the episode's first agent only — the customer's wait since entering the
   * queue: a transfer, release or requeue later in the episode is not a second wait from queued_at.
   * An agent held it before in this episode when its hold ended (last_assigned_at) after queued_at.
   */
  private observeAssigned(runner: QueryRunner, conversation: ConversationRow): void {
    const { mode, queue_id: queue, queued_at: queuedAt, last_assigned_at: heldUntil } = conversation;
    const first = !heldUntil || !queuedAt || new Date(heldUntil) < new Date(queuedAt);
    const waited = first && queuedAt ? (this.clock.now().getTime() - new Date(queuedAt).getTime()) / 1000 : undefined;
    afterCommit(runner, () => {
      routerMetrics.assignments.inc({ mode });
      if (waited !== undefined) routerMetrics.waitSeconds.observe({ queue, mode }, Math.max(0, waited));
    });
  }

  private async stickyCandidate(runner: QueryRunner, conversation: ConversationRow): Promise<string | undefined> {
    if (conversation.mode !== 'async' || !conversation.last_agent_id || !conversation.last_assigned_at) return undefined;
    const policy = await this.queuePolicy(runner, conversation.tenant_id, conversation.queue_id);
    const age = this.clock.now().getTime() - new Date(conversation.last_assigned_at).getTime();
    return age <= policy.sticky_window_s * 1000 ? conversation.last_agent_id : undefined;
  }

  /**
   * One statement: picks (or checks) an agent, takes one unit of their capacity with a conditional
   * UPDATE, and hands the conversation over. Undefined when nobody (or not `only`) has room.
   */
  private async claimAndHand(
    runner: QueryRunner,
    conversation: ConversationRow,
    actor: Actor,
    pick: { only?: string; exclude?: string },
  ): Promise<HandedRow | undefined> {
    const sync = conversation.mode === 'sync';
    const room = sync ? HAS_ROOM_SYNC : HAS_ROOM_ASYNC;
    const counter = sync ? 'active_sync' : 'active_async';
    const order = sync
      ? 'a.idle_since, a.id'
      : `a.active_async::float8 / NULLIF(${ASYNC_CAP}, 0), a.last_assigned_at NULLS FIRST, a.id`;
    const declined = sync
      ? 'AND NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = $conversation AND d.agent_id = a.id)'
      : '';
    const attempt = async (lock: 'FOR UPDATE OF a SKIP LOCKED' | 'FOR UPDATE OF a') => {
      const handed = await this.query<HandedRow & { claimed_by: string }>(
        runner,
        `WITH candidate AS (
           SELECT a.id FROM agents a JOIN queues q ON q.tenant_id = $tenant AND q.id = $queue
            WHERE a.tenant_id = $tenant AND ${ELIGIBLE} AND ${room} ${declined}
              ${pick.only ? 'AND a.id = $only' : ''} ${pick.exclude ? 'AND a.id <> $exclude' : ''}
            ORDER BY ${order}
            LIMIT 1
            ${lock}
         ), claimed AS (
           UPDATE agents a
              SET ${counter} = a.${counter} + 1, last_assigned_at = $now, version = a.version + 1, updated_at = $now
             FROM candidate, queues q
            WHERE a.id = candidate.id AND q.tenant_id = $tenant AND q.id = $queue AND ${room}
           RETURNING $conversation::uuid AS conversation_id, a.id AS agent_id, $mode::text AS mode,
                     ${offerOf('$mode::text')} AS offer, ${expiryOf('$mode::text')} AS expires_at
         ), ${HAND_OVER}
         SELECT k.agent_id AS claimed_by, m.* FROM claimed k LEFT JOIN moved m ON true`,
        {
          tenant: conversation.tenant_id,
          queue: conversation.queue_id,
          conversation: conversation.id,
          mode: conversation.mode,
          only: pick.only ?? null,
          exclude: pick.exclude ?? null,
          handedBy: actor,
        },
      );
      if (handed[0] && !handed[0].id) throw new Error(`conversation ${conversation.id} is not in status queued`);
      return handed[0];
    };
    // A single candidate (`only`) is simply waited for. Otherwise skip agents other transactions are
    // claiming; but when every candidate was skipped, wait for them rather than queue an item while
    // capacity exists (the UPDATE re-checks the cap after the wait).
    if (pick.only) return attempt('FOR UPDATE OF a');
    return (await attempt('FOR UPDATE OF a SKIP LOCKED')) ?? (await attempt('FOR UPDATE OF a'));
  }

  /** The events of a hand-over: an offer (sync), or an assignment and its lifecycle event. */
  private announceHandOver(runner: QueryRunner, events: OutboxEvent[], handed: HandedRow, transfer = false): RouteResult {
    const agentId = handed.assigned_agent_id;
    if (!agentId) throw new Error(`conversation ${handed.id} was handed over to nobody`);
    if (handed.offer) {
      const expiresAt = handed.expires_at ? new Date(handed.expires_at).toISOString() : undefined;
      this.agentEvent(events, handed, agentId, 'offer', { expiresAt });
      return { status: 'offered', agentId };
    }
    const via = transfer ? 'transfer' : handed.last_agent_id === agentId ? 'sticky' : 'routing';
    this.agentEvent(events, handed, agentId, 'assigned', { via });
    this.lifecycleEvent(events, handed, 'assigned', agentId);
    this.observeAssigned(runner, handed);
    return { status: 'assigned', agentId };
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
      `SELECT wrap_up_s, sticky_window_s FROM queues WHERE tenant_id = $tenant AND id = $queue`,
      { tenant: tenantId, queue: queueId },
    );
    if (!found[0]) throw new Error(`queue ${tenantId}/${queueId} does not exist`);
    this.policies.set(key, { policy: found[0], until: Date.now() + POLICY_TTL_MS });
    return found[0];
  }
}
