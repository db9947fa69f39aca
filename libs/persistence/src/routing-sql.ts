/**
 * The routing rules as SQL fragments, shared by the router (which claims agents with them) and
 * every report of who could take work (the router's gauges, the gateway's supervisor stats), so
 * the reports can never count by other rules than the router routes by.
 *
 * The fragments read an agent as `a` and a queue as `q`, and take named parameters: `$now` (the
 * time wrap-up is measured against) and the global defaults `$defSync`, `$defAsync` (caps) and
 * `$defBlocks` (whether a sync item blocks new async work). The router's `query()` compiles the
 * names itself; other queries bind them to positions with `bindRoutingParams()`.
 */

/** Effective caps and the sync/async rule: the agent's value, else the queue's, else the global default. */
export const SYNC_CAP = 'COALESCE(a.sync_cap, q.sync_cap, $defSync)';
export const ASYNC_CAP = 'COALESCE(a.async_cap, q.async_cap, $defAsync)';
export const BLOCKS = 'COALESCE(a.sync_blocks_async, q.sync_blocks_async, $defBlocks)';

/** Agent `a` lists queue `q` among those it serves; an empty list serves every queue (of its tenant). */
export const SERVES = '(cardinality(a.queue_ids) = 0 OR q.id = ANY (a.queue_ids))';

/** Agent `a` may be given work from queue `q`: online, has the queue's skills, serves it (an empty list serves every queue). */
export const ELIGIBLE = `a.tenant_id = q.tenant_id AND a.presence = 'online'
  AND q.required_skills <@ a.skills
  AND ${SERVES}`;

/**
 * The most agent `a` can hold of one mode from any queue it can be given work from (it serves the
 * queue and has its skills): a queue without a cap of its own allows the global default. NULL when
 * it can be given work from none.
 */
const largestOfServed = (column: 'sync_cap' | 'async_cap', fallback: string) =>
  `(SELECT max(COALESCE(q.${column}, ${fallback})) FROM queues q
     WHERE q.tenant_id = a.tenant_id AND q.required_skills <@ a.skills AND ${SERVES})`;

/**
 * Agent `a`'s caps as one figure each, for views outside any one queue (an agent's own desk, the
 * supervisor's agent list, the router's agent stats): the agent's value, else the most any queue it
 * can be given work from allows (every queue of its tenant when its list is empty), else the global
 * default. Read `a` alone — no `q` in scope.
 */
export const AGENT_SYNC_CAP = `COALESCE(a.sync_cap, ${largestOfServed('sync_cap', '$defSync')}, $defSync)`;
export const AGENT_ASYNC_CAP = `COALESCE(a.async_cap, ${largestOfServed('async_cap', '$defAsync')}, $defAsync)`;

/** Room for one more sync item from `q` now: out of wrap-up and under the sync cap. */
export const HAS_ROOM_SYNC = `(a.wrap_up_until IS NULL OR a.wrap_up_until <= $now) AND a.active_sync < ${SYNC_CAP}`;

/** Room for one more async thread from `q` now: under the async cap, and no sync item in hand when that blocks async. */
export const HAS_ROOM_ASYNC = `a.active_async < ${ASYNC_CAP} AND (a.active_sync = 0 OR NOT ${BLOCKS})`;

/** The named parameters the fragments above take. */
export type RoutingParam = 'now' | 'defSync' | 'defAsync' | 'defBlocks';

/**
 * `fragment` with its named parameters replaced by the positional ones (`$1`…) of the query it goes
 * into. A name the fragment uses but `positions` lacks throws, so a query cannot leave one unbound.
 */
export function bindRoutingParams(fragment: string, positions: Partial<Record<RoutingParam, number>>): string {
  return fragment.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    const position = (positions as Record<string, number | undefined>)[name];
    if (position === undefined) throw new Error(`no position for parameter $${name}`);
    return `$${position}`;
  });
}
