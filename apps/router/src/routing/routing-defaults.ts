/** Global routing defaults; a queue overrides them, an agent overrides the queue. */
export interface RoutingDefaults {
  syncCap: number;
  asyncCap: number;
  syncBlocksAsync: boolean;
  leaseSeconds: number;
}

export const ROUTING_DEFAULTS = Symbol('ROUTING_DEFAULTS');
