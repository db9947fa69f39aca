import { z } from 'zod';
import { commonEnvSchema, envTypes } from '@app/config';

export const routerEnvSchema = commonEnvSchema.extend({
  HTTP_PORT: envTypes.int(1, 65_535).default(3001),
  MIGRATIONS_RUN: envTypes.bool.default(true),
  /** How the router's connections name themselves in pg_stat_activity (e.g. the pod name, to tell replicas apart). */
  DATABASE_APPLICATION_NAME: z.string().min(1).max(63).default('router'),
  OUTBOX_POLL_MS: envTypes.int(50, 60_000).default(1_000),
  OUTBOX_BATCH_SIZE: envTypes.int(1, 10_000).default(200),
  /**
   * Inbound messages handled together in one transaction at most (1 turns batching off), and how
   * many such transactions run at once. Batches form only under load: while fewer than
   * INGEST_BATCHES_IN_FLIGHT are running, a message starts at once; otherwise it joins the next batch.
   */
  INGEST_BATCH_SIZE: envTypes.int(1, 500).default(8),
  INGEST_BATCHES_IN_FLIGHT: envTypes.int(1, 64).default(4),
  /** The same for agent commands: commands handled together in one transaction, and such transactions at once. */
  COMMAND_BATCH_SIZE: envTypes.int(1, 500).default(16),
  COMMAND_BATCHES_IN_FLIGHT: envTypes.int(1, 64).default(2),
  /** Global capacity defaults; a queue's caps override them, an agent's caps override the queue's. */
  DEFAULT_SYNC_CAP: envTypes.int(0, 100).default(1),
  DEFAULT_ASYNC_CAP: envTypes.int(0, 100).default(8),
  /** While holding a sync item an agent gets no new async thread (overridable per queue/agent). */
  SYNC_BLOCKS_ASYNC: envTypes.bool.default(true),
  /** How long a presence lasts without a heartbeat before the agent is taken offline. */
  PRESENCE_LEASE_S: envTypes.int(5, 3_600).default(30),
  /** Routing timers' period; 0 turns them off (tests drive them by hand). */
  SCHEDULER_INTERVAL_MS: envTypes.int(0, 60_000).default(500),
  /**
   * Agents per tenant with their own Prometheus series (`router_agent_load`, `router_agent_presence`):
   * online ones first, then away, then offline; 0 exports none. Bounds the series a large tenant adds.
   */
  METRICS_AGENT_SERIES_LIMIT: envTypes.int(0, 100_000).default(2_000),
  /** How long agent events are kept for desktops that reconnect and resume. */
  AGENT_EVENT_RETENTION_H: envTypes.int(1, 24 * 90).default(72),
});

export type RouterConfig = z.output<typeof routerEnvSchema>;
export const ROUTER_CONFIG = Symbol('ROUTER_CONFIG');
