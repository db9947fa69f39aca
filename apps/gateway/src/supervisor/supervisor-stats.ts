/**
 * What a supervisor watches, straight from Postgres: per queue the work waiting by mode, on offer and
 * held, the oldest wait against the queue's max wait, the agents the router could give its work to
 * (online, with its skills, serving it — an empty queue list serves every queue) and of those the
 * ones with room now for a sync item and for an async thread; per agent presence, load and effective
 * caps. Eligibility and room are the router's own SQL fragments (@app/persistence routing-sql) with
 * the router's defaults, so the figures cannot drift from routing. One snapshot is two aggregate queries however many queues and
 * agents the tenant has, so the supervisor stream can repeat it every couple of seconds. Behind a
 * row, the conversations it counts: `conversations` (see conversation-list.query.ts).
 */
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AGENT_ASYNC_CAP,
  AGENT_SYNC_CAP,
  bindRoutingParams,
  ELIGIBLE,
  HAS_ROOM_ASYNC,
  HAS_ROOM_SYNC,
  type RoutingParam,
} from '@app/persistence';
import { GATEWAY_CONFIG, type GatewayConfig } from '../gateway.config';
import { listConversations, type ConversationFilter, type ConversationPage } from './conversation-list.query';

export type SlaState = 'ok' | 'warning' | 'breached';

export interface QueueStats {
  id: string;
  name: string;
  waitingSync: number;
  waitingAsync: number;
  offered: number;
  assigned: number;
  /** Seconds the oldest waiting item has been in this queue; null when nothing waits. */
  oldestWaitS: number | null;
  maxWaitS: number | null;
  slaState: SlaState;
  /** Agents the router may give this queue's work to: online, with the queue's skills, serving it. */
  agentsOnline: number;
  /** Of those, the ones with room now for one more sync item (out of wrap-up, under the sync cap). */
  agentsAvailableSync: number;
  /** Of those, the ones with room now for one more async thread (under the async cap, not blocked by a sync item). */
  agentsAvailableAsync: number;
}

export interface AgentStats {
  id: string;
  name: string;
  presence: 'online' | 'away' | 'offline';
  syncLoad: number;
  asyncLoad: number;
  syncCap: number;
  asyncCap: number;
  queueIds: string[];
  wrapUpUntil: string | null;
  presenceChangedAt: string;
}

export interface StatsSnapshot {
  at: string;
  queues: QueueStats[];
  agents: AgentStats[];
}

/** Share of the max wait at which a queue turns amber, before it breaches. */
const SLA_WARNING_RATIO = 0.8;

/** The queues query's positions of the routing fragments' named parameters. */
const QUEUE_PARAMS: Record<RoutingParam, number> = { now: 2, defSync: 3, defAsync: 4, defBlocks: 5 };
const bind = (fragment: string) => bindRoutingParams(fragment, QUEUE_PARAMS);
/** The agents query's positions of the cap fragments' defaults. */
const AGENT_PARAMS = { defSync: 2, defAsync: 3 };

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

function slaState(oldestWaitS: number | null, maxWaitS: number | null): SlaState {
  if (maxWaitS === null || oldestWaitS === null) return 'ok';
  if (oldestWaitS >= maxWaitS) return 'breached';
  return oldestWaitS >= maxWaitS * SLA_WARNING_RATIO ? 'warning' : 'ok';
}

@Injectable()
export class SupervisorStats {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async snapshot(tenantId: string): Promise<StatsSnapshot> {
    // The router stamps queue entry with its own clock, so waits are measured against an app clock too.
    const at = new Date();
    const [queues, agents] = await Promise.all([this.queues(tenantId, at), this.agents(tenantId)]);
    return { at: at.toISOString(), queues, agents };
  }

  /** The tenant's open conversations, waiting first; waits on the same app clock as the snapshot's. */
  conversations(tenantId: string, filter: ConversationFilter): Promise<ConversationPage> {
    return listConversations(this.dataSource, tenantId, filter, new Date());
  }

  private async queues(tenantId: string, at: Date): Promise<QueueStats[]> {
    const rows = (await this.dataSource.query(
      `SELECT q.id, q.name, q.max_wait_s AS "maxWaitS",
              COALESCE(c.waiting_sync, 0) AS "waitingSync", COALESCE(c.waiting_async, 0) AS "waitingAsync",
              COALESCE(c.offered, 0) AS offered, COALESCE(c.assigned, 0) AS assigned,
              extract(epoch FROM $2::timestamptz - c.oldest)::float8 AS "oldestWaitS",
              e.online AS "agentsOnline", e.available_sync AS "agentsAvailableSync",
              e.available_async AS "agentsAvailableAsync"
         FROM queues q
         LEFT JOIN (
           SELECT queue_id,
                  count(*) FILTER (WHERE status = 'queued' AND mode = 'sync')::int AS waiting_sync,
                  count(*) FILTER (WHERE status = 'queued' AND mode = 'async')::int AS waiting_async,
                  count(*) FILTER (WHERE status = 'offered')::int AS offered,
                  count(*) FILTER (WHERE status = 'assigned')::int AS assigned,
                  min(COALESCE(queue_entered_at, queued_at)) FILTER (WHERE status = 'queued') AS oldest
             FROM conversations
            WHERE tenant_id = $1 AND status IN ('queued', 'offered', 'assigned')
            GROUP BY queue_id
         ) c ON c.queue_id = q.id
         CROSS JOIN LATERAL (
           SELECT count(*)::int AS online,
                  count(*) FILTER (WHERE ${bind(HAS_ROOM_SYNC)})::int AS available_sync,
                  count(*) FILTER (WHERE ${bind(HAS_ROOM_ASYNC)})::int AS available_async
             FROM agents a
            WHERE a.tenant_id = $1 AND ${bind(ELIGIBLE)}
         ) e
        WHERE q.tenant_id = $1
        ORDER BY q.id`,
      [tenantId, at, this.config.DEFAULT_SYNC_CAP, this.config.DEFAULT_ASYNC_CAP, this.config.SYNC_BLOCKS_ASYNC],
    )) as Array<Omit<QueueStats, 'slaState'>>;
    return rows.map((row) => {
      const oldestWaitS = row.oldestWaitS === null ? null : Math.max(0, Math.floor(row.oldestWaitS));
      return { ...row, oldestWaitS, slaState: slaState(oldestWaitS, row.maxWaitS) };
    });
  }

  private async agents(tenantId: string): Promise<AgentStats[]> {
    // Caps by the shared rule (AGENT_SYNC_CAP, AGENT_ASYNC_CAP in @app/persistence).
    const bindAgent = (fragment: string) => bindRoutingParams(fragment, AGENT_PARAMS);
    const rows = (await this.dataSource.query(
      `SELECT a.id, a.name, a.presence, a.active_sync AS "syncLoad", a.active_async AS "asyncLoad",
              ${bindAgent(AGENT_SYNC_CAP)} AS "syncCap", ${bindAgent(AGENT_ASYNC_CAP)} AS "asyncCap",
              a.queue_ids AS "queueIds", a.wrap_up_until AS "wrapUpUntil", a.presence_changed_at AS "presenceChangedAt"
         FROM agents a
        WHERE a.tenant_id = $1
        ORDER BY a.id`,
      [tenantId, this.config.DEFAULT_SYNC_CAP, this.config.DEFAULT_ASYNC_CAP],
    )) as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      ...(row as unknown as AgentStats),
      wrapUpUntil: row.wrapUpUntil ? iso(row.wrapUpUntil) : null,
      presenceChangedAt: iso(row.presenceChangedAt),
    }));
  }
}
