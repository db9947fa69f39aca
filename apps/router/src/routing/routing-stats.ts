/**
 * Live statistics, straight from Postgres (the only source of truth): per queue the items waiting
 * by mode, the oldest wait and the agents online / with room; per agent presence and load by mode.
 * Exported as Prometheus gauges from a snapshot refreshed at most every few seconds, so a scrape
 * never costs more than one set of queries. Every replica reports the same figures.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { ELIGIBLE, HAS_ROOM_ASYNC, HAS_ROOM_SYNC } from '@app/persistence';
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

function gauge(name: string, help: string, labelNames: string[], fill: (gauge: Gauge) => Promise<void>): Gauge {
  register.removeSingleMetric(name);
  return new Gauge({
    name,
    help,
    labelNames,
    collect() {
      return fill(this);
    },
  });
}

@Injectable()
export class RoutingStats {
  private snapshot: { at: number; queues: QueueStats[]; agents: AgentStats[] } | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(ROUTING_DEFAULTS) private readonly defaults: RoutingDefaults,
  ) {
    gauge('router_queue_waiting', 'Items waiting, by queue and mode', ['tenant', 'queue', 'mode'], async (g) => {
      g.reset();
      for (const q of (await this.cached()).queues) {
        g.set({ tenant: q.tenantId, queue: q.queueId, mode: 'sync' }, q.waitingSync);
        g.set({ tenant: q.tenantId, queue: q.queueId, mode: 'async' }, q.waitingAsync);
      }
    });
    gauge('router_queue_oldest_wait_seconds', 'Wait of the oldest waiting item, by queue', ['tenant', 'queue'], async (g) => {
      g.reset();
      for (const q of (await this.cached()).queues) g.set({ tenant: q.tenantId, queue: q.queueId }, q.oldestWaitS ?? 0);
    });
    gauge('router_queue_agents', 'Agents online for a queue, and of those with room', ['tenant', 'queue', 'state'], async (g) => {
      g.reset();
      for (const q of (await this.cached()).queues) {
        g.set({ tenant: q.tenantId, queue: q.queueId, state: 'online' }, q.agentsOnline);
        g.set({ tenant: q.tenantId, queue: q.queueId, state: 'available' }, q.agentsAvailable);
      }
    });
    gauge('router_agents', 'Agents by presence and held work, by tenant', ['tenant', 'presence', 'mode'], async (g) => {
      g.reset();
      const totals = new Map<string, number>();
      for (const a of (await this.cached()).agents) {
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
  }

  async queues(tenantId?: string): Promise<QueueStats[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT q.tenant_id, q.id AS queue_id,
              (SELECT count(*) FROM conversations c WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id
                  AND c.status = 'queued' AND c.mode = 'sync')::int AS waiting_sync,
              (SELECT count(*) FROM conversations c WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id
                  AND c.status = 'queued' AND c.mode = 'async')::int AS waiting_async,
              (SELECT extract(epoch FROM $1::timestamptz - min(c.queued_at)) FROM conversations c
                WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id AND c.status = 'queued')::float8 AS oldest_wait_s,
              (SELECT count(*) FROM agents a WHERE ${this.bind(ELIGIBLE)})::int AS agents_online,
              (SELECT count(*) FROM agents a WHERE ${this.bind(ELIGIBLE)}
                  AND ((${this.bind(HAS_ROOM_SYNC)}) OR (${this.bind(HAS_ROOM_ASYNC)})))::int AS agents_available
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

  async agents(tenantId?: string): Promise<AgentStats[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT tenant_id, id, presence, active_sync, active_async,
              COALESCE(sync_cap, $1) AS sync_cap, COALESCE(async_cap, $2) AS async_cap, wrap_up_until
         FROM agents WHERE $3::text IS NULL OR tenant_id = $3 ORDER BY tenant_id, id`,
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

  private async cached() {
    if (!this.snapshot || Date.now() - this.snapshot.at > SNAPSHOT_TTL_MS) {
      this.snapshot = { at: Date.now(), queues: await this.queues(), agents: await this.agents() };
    }
    return this.snapshot;
  }

  /** The engine's SQL fragments use named parameters; here they map to this query's positions. */
  private bind(fragment: string): string {
    return fragment.replace(/\$now\b/g, '$1').replace(/\$defSync\b/g, '$2').replace(/\$defAsync\b/g, '$3').replace(/\$defBlocks\b/g, '$4');
  }
}
