/**
 * Live statistics, straight from Postgres (the only source of truth): per queue the items waiting
 * by mode, the oldest wait and the agents online / with room; per agent presence and load by mode.
 * Exported as Prometheus gauges from a snapshot refreshed at most every few seconds, so a scrape
 * never costs more than one set of queries (the agents' query serves the per-tenant totals and the
 * per-agent series alike). Every replica reports the same figures.
 *
 * Per-agent series are bounded: at most METRICS_AGENT_SERIES_LIMIT agents per tenant (0 = none),
 * online ones first, then away, then offline, each group by id; `router_agent_series_omitted` says
 * how many a tenant had beyond that. Every gauge is rebuilt from the snapshot at each scrape, so an
 * agent that disappears (or falls beyond the limit) leaves no stale series behind.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
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
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { Clock } from './clock';
import { ROUTING_DEFAULTS, type RoutingDefaults } from './routing-defaults';

export interface QueueStats {
  tenantId: string;
  queueId: string;
  waitingSync: number;
  waitingAsync: number;
  oldestWaitS: number | null;
  agentsOnline: number;
  agentsAvailable: number;
}

export interface AgentStats {
  tenantId: string;
  agentId: string;
  presence: string;
  activeSync: number;
  activeAsync: number;
  syncCap: number;
  asyncCap: number;
  wrapUpUntil: string | null;
}

const SNAPSHOT_TTL_MS = 5_000;

/** The presences an agent may have; `router_agent_presence` has one series per agent and presence (1 = current). */
const PRESENCES = ['online', 'away', 'offline'] as const;

/** The per-agent gauges, none of them exported when METRICS_AGENT_SERIES_LIMIT is 0. */
const AGENT_SERIES_GAUGES = ['router_agent_load', 'router_agent_presence', 'router_agent_series_omitted'];

interface Snapshot {
  at: number;
  queues: QueueStats[];
  agents: AgentStats[];
  /** The agents with their own series, and per tenant how many had none because of the limit. */
  series: { agents: AgentStats[]; omitted: Map<string, number> };
}

/** The queues query's positions of the routing fragments' named parameters. */
const QUEUE_PARAMS: Record<RoutingParam, number> = { now: 1, defSync: 2, defAsync: 3, defBlocks: 4 };
/** The agents query's positions of the cap fragments' defaults. */
const AGENT_PARAMS = { defSync: 1, defAsync: 2 };

const presenceRank = (presence: string) => {
  const rank = PRESENCES.indexOf(presence as (typeof PRESENCES)[number]);
  return rank < 0 ? PRESENCES.length : rank;
};

/** Per tenant, the first `limit` agents — online, then away, then offline, each by id — and how many were left out. */
export function agentSeries(agents: AgentStats[], limit: number): Snapshot['series'] {
  const byTenant = new Map<string, AgentStats[]>();
  for (const agent of agents) {
    const list = byTenant.get(agent.tenantId);
    if (list) list.push(agent);
    else byTenant.set(agent.tenantId, [agent]);
  }
  const shown: AgentStats[] = [];
  const omitted = new Map<string, number>();
  for (const [tenant, list] of byTenant) {
    if (list.length > limit) {
      list.sort((x, y) => presenceRank(x.presence) - presenceRank(y.presence) || (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
    }
    shown.push(...list.slice(0, limit));
    omitted.set(tenant, Math.max(0, list.length - limit));
  }
  return { agents: shown, omitted };
}

/** A gauge filled at each scrape from the snapshot; reset only once the snapshot is in hand, so a scrape never sees it half-empty. */
function gauge(name: string, help: string, labelNames: string[], snapshot: () => Promise<Snapshot>, fill: (gauge: Gauge, snapshot: Snapshot) => void): Gauge {
  register.removeSingleMetric(name);
  return new Gauge({
    name,
    help,
    labelNames,
    async collect() {
      const current = await snapshot();
      this.reset();
      fill(this, current);
    },
  });
}

@Injectable()
export class RoutingStats {
  private snapshot: Snapshot | undefined;
  /** The snapshot being read, shared by every gauge of one scrape (and by concurrent scrapes). */
  private reading: Promise<Snapshot> | undefined;
  private generation = 0;
  private readonly agentSeriesLimit: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(ROUTING_DEFAULTS) private readonly defaults: RoutingDefaults,
    @Inject(ROUTER_CONFIG) config: RouterConfig,
  ) {
    this.agentSeriesLimit = config.METRICS_AGENT_SERIES_LIMIT;
    const cached = () => this.cached();
    gauge('router_queue_waiting', 'Items waiting, by queue and mode', ['tenant', 'queue', 'mode'], cached, (g, { queues }) => {
      for (const q of queues) {
        g.set({ tenant: q.tenantId, queue: q.queueId, mode: 'sync' }, q.waitingSync);
        g.set({ tenant: q.tenantId, queue: q.queueId, mode: 'async' }, q.waitingAsync);
      }
    });
    gauge('router_queue_oldest_wait_seconds', 'Wait of the oldest waiting item in this queue since it entered it (as max wait counts), by queue', ['tenant', 'queue'], cached, (g, { queues }) => {
      for (const q of queues) g.set({ tenant: q.tenantId, queue: q.queueId }, q.oldestWaitS ?? 0);
    });
    gauge('router_queue_agents', 'Agents online for a queue, and of those with room', ['tenant', 'queue', 'state'], cached, (g, { queues }) => {
      for (const q of queues) {
        g.set({ tenant: q.tenantId, queue: q.queueId, state: 'online' }, q.agentsOnline);
        g.set({ tenant: q.tenantId, queue: q.queueId, state: 'available' }, q.agentsAvailable);
      }
    });
    gauge('router_agents', 'Agents by presence and held work, by tenant', ['tenant', 'presence', 'mode'], cached, (g, { agents }) => {
      const totals = new Map<string, number>();
      for (const a of agents) {
        for (const [mode, held] of [['sync', a.activeSync], ['async', a.activeAsync]] as const) {
          const key = `${a.tenantId}\u0000${a.presence}\u0000${mode}`;
          totals.set(key, (totals.get(key) ?? 0) + held);
        }
      }
      for (const [key, value] of totals) {
        const [tenant, presence, mode] = key.split('\u0000');
        g.set({ tenant, presence, mode }, value);
      }
    });
    if (this.agentSeriesLimit === 0) {
      for (const name of AGENT_SERIES_GAUGES) register.removeSingleMetric(name);
      return;
    }
    gauge('router_agent_load', 'Items an agent holds, by mode (see METRICS_AGENT_SERIES_LIMIT)', ['tenant', 'agent', 'mode'], cached, (g, { series }) => {
      for (const a of series.agents) {
        g.set({ tenant: a.tenantId, agent: a.agentId, mode: 'sync' }, a.activeSync);
        g.set({ tenant: a.tenantId, agent: a.agentId, mode: 'async' }, a.activeAsync);
      }
    });
    gauge('router_agent_presence', "An agent's presence: 1 for the current one, 0 for the others", ['tenant', 'agent', 'presence'], cached, (g, { series }) => {
      for (const a of series.agents) {
        for (const presence of PRESENCES) g.set({ tenant: a.tenantId, agent: a.agentId, presence }, a.presence === presence ? 1 : 0);
      }
    });
    gauge('router_agent_series_omitted', 'Agents of a tenant beyond METRICS_AGENT_SERIES_LIMIT, without per-agent series', ['tenant'], cached, (g, { series }) => {
      for (const [tenant, omitted] of series.omitted) g.set({ tenant }, omitted);
    });
  }

  /** Drops the cached snapshot, so the next scrape reads Postgres again (a read already under way is not kept). */
  invalidate(): void {
    this.generation += 1;
    this.snapshot = undefined;
    this.reading = undefined;
  }

  async queues(tenantId?: string): Promise<QueueStats[]> {
    const bind = (fragment: string) => bindRoutingParams(fragment, QUEUE_PARAMS);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT q.tenant_id, q.id AS queue_id,
              (SELECT count(*) FROM conversations c WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id
                  AND c.status = 'queued' AND c.mode = 'sync')::int AS waiting_sync,
              (SELECT count(*) FROM conversations c WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id
                  AND c.status = 'queued' AND c.mode = 'async')::int AS waiting_async,
              (SELECT extract(epoch FROM $1::timestamptz - min(COALESCE(c.queue_entered_at, c.queued_at))) FROM conversations c
                WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id AND c.status = 'queued')::float8 AS oldest_wait_s,
              (SELECT count(*) FROM agents a WHERE ${bind(ELIGIBLE)})::int AS agents_online,
              (SELECT count(*) FROM agents a WHERE ${bind(ELIGIBLE)}
                  AND ((${bind(HAS_ROOM_SYNC)}) OR (${bind(HAS_ROOM_ASYNC)})))::int AS agents_available
         FROM queues q
        WHERE $5::text IS NULL OR q.tenant_id = $5
        ORDER BY q.tenant_id, q.id`,
      [this.clock.now(), this.defaults.syncCap, this.defaults.asyncCap, this.defaults.syncBlocksAsync, tenantId ?? null],
    );
    return rows.map((row) => ({
      tenantId: String(row.tenant_id),
      queueId: String(row.queue_id),
      waitingSync: Number(row.waiting_sync),
      waitingAsync: Number(row.waiting_async),
      oldestWaitS: row.oldest_wait_s === null ? null : Math.max(0, Number(row.oldest_wait_s)),
      agentsOnline: Number(row.agents_online),
      agentsAvailable: Number(row.agents_available),
    }));
  }

  /** Per agent presence, load, and caps as one figure each by the shared rule (AGENT_SYNC_CAP), as the supervisor sees them. */
  async agents(tenantId?: string): Promise<AgentStats[]> {
    const bind = (fragment: string) => bindRoutingParams(fragment, AGENT_PARAMS);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT a.tenant_id, a.id, a.presence, a.active_sync, a.active_async,
              ${bind(AGENT_SYNC_CAP)} AS sync_cap, ${bind(AGENT_ASYNC_CAP)} AS async_cap, a.wrap_up_until
         FROM agents a WHERE $3::text IS NULL OR a.tenant_id = $3 ORDER BY a.tenant_id, a.id`,
      [this.defaults.syncCap, this.defaults.asyncCap, tenantId ?? null],
    );
    return rows.map((row) => ({
      tenantId: String(row.tenant_id),
      agentId: String(row.id),
      presence: String(row.presence),
      activeSync: Number(row.active_sync),
      activeAsync: Number(row.active_async),
      syncCap: Number(row.sync_cap),
      asyncCap: Number(row.async_cap),
      wrapUpUntil: row.wrap_up_until ? new Date(row.wrap_up_until as string).toISOString() : null,
    }));
  }

  private cached(): Promise<Snapshot> {
    if (this.snapshot && Date.now() - this.snapshot.at <= SNAPSHOT_TTL_MS) return Promise.resolve(this.snapshot);
    if (!this.reading) {
      const reading = this.read().finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
      this.reading = reading;
    }
    return this.reading;
  }

  private async read(): Promise<Snapshot> {
    const generation = this.generation;
    const at = Date.now();
    const queues = await this.queues();
    const agents = await this.agents();
    const snapshot = { at, queues, agents, series: agentSeries(agents, this.agentSeriesLimit) };
    if (generation === this.generation) this.snapshot = snapshot;
    return snapshot;
  }
}
