/**
 * What a supervisor watches, straight from Postgres: per queue the work waiting by mode, on offer and
 * held, the oldest wait against the queue's max wait, and the agents online for it; per agent
 * presence, load and effective caps. One snapshot is two aggregate queries however many queues and
 * agents the tenant has, so the supervisor stream can repeat it every couple of seconds. Behind a
 * row, the conversations it counts: `conversations` (see conversation-list.query.ts).
 */
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
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
  agentsOnline: number;
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
              COALESCE(a.online, 0) AS "agentsOnline"
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
         LEFT JOIN (
           SELECT served.queue_id, count(*)::int AS online
             FROM agents, unnest(agents.queue_ids) AS served(queue_id)
            WHERE agents.tenant_id = $1 AND agents.presence = 'online'
            GROUP BY served.queue_id
         ) a ON a.queue_id = q.id
        WHERE q.tenant_id = $1
        ORDER BY q.id`,
      [tenantId, at],
    )) as Array<Omit<QueueStats, 'slaState'>>;
    return rows.map((row) => {
      const oldestWaitS = row.oldestWaitS === null ? null : Math.max(0, Math.floor(row.oldestWaitS));
      return { ...row, oldestWaitS, slaState: slaState(oldestWaitS, row.maxWaitS) };
    });
  }

  private async agents(tenantId: string): Promise<AgentStats[]> {
    // Effective caps as the router computes them (see ReadModel.agentProfile): the agent's override,
    // else the largest cap among its queues, else the global default.
    const rows = (await this.dataSource.query(
      `SELECT a.id, a.name, a.presence, a.active_sync AS "syncLoad", a.active_async AS "asyncLoad",
              COALESCE(a.sync_cap, caps.sync_cap, $2) AS "syncCap",
              COALESCE(a.async_cap, caps.async_cap, $3) AS "asyncCap",
              a.queue_ids AS "queueIds", a.wrap_up_until AS "wrapUpUntil", a.presence_changed_at AS "presenceChangedAt"
         FROM agents a
         LEFT JOIN LATERAL (
           SELECT max(q.sync_cap) AS sync_cap, max(q.async_cap) AS async_cap
             FROM queues q WHERE q.tenant_id = a.tenant_id AND q.id = ANY (a.queue_ids)
         ) caps ON true
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
