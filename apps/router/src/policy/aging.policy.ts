/**
 * Queue aging: a waiting item's effective priority grows linearly with its wait,
 *   effective(now) = priority + agingPerMinute × minutesWaited(now).
 * Ordering by that, descending, at any `now` is the same as ordering ascending by
 *   rankAt = queuedAt − (priority / agingPerMinute) minutes,
 * because effective(now) = agingPerMinute × (now − rankAt) in minutes and agingPerMinute > 0. rankAt
 * does not depend on `now`, so it can be stored once per item and served from an index.
 *
 * Invariants:
 * - agingPerMinute > 0 (finite); zero or negative aging would make rankAt meaningless, so it throws.
 * - Two waiting items never swap places as time passes; aging shows in who arrives later: a newcomer
 *   goes ahead of an item only if it outranks it by more than agingPerMinute × that item's wait.
 * - rankAt is rounded to the millisecond (a Date), so items whose effective priorities differ by less
 *   than agingPerMinute / 60000 may tie.
 */
const MINUTE_MS = 60_000;

function assertAging(agingPerMinute: number): void {
  if (!Number.isFinite(agingPerMinute) || agingPerMinute <= 0) {
    throw new RangeError(`aging policy: agingPerMinute must be a finite number > 0, got ${agingPerMinute}`);
  }
}

function timeOf(date: Date, name: string): number {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new RangeError(`aging policy: ${name} is an invalid Date`);
  return time;
}

function assertPriority(priority: number): void {
  if (!Number.isFinite(priority)) throw new RangeError('aging policy: priority must be a finite number');
}

export function rankAt(queuedAt: Date, priority: number, agingPerMinute: number): Date {
  assertAging(agingPerMinute);
  assertPriority(priority);
  return new Date(Math.round(timeOf(queuedAt, 'queuedAt') - (priority / agingPerMinute) * MINUTE_MS));
}

/**
 * Not floored at zero wait: an item stamped slightly in the future (clock skew between routers) then
 * scores a little below its priority, which is what keeps this order identical to the rankAt order.
 */
export function effectivePriority(priority: number, queuedAt: Date, now: Date, agingPerMinute: number): number {
  assertAging(agingPerMinute);
  assertPriority(priority);
  const minutesWaited = (timeOf(now, 'now') - timeOf(queuedAt, 'queuedAt')) / MINUTE_MS;
  return priority + agingPerMinute * minutesWaited;
}
