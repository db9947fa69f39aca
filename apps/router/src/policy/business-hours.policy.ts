/**
 * Business hours of a queue: weekly opening intervals in local wall-clock time of one IANA zone, plus
 * holidays that close whole local days. Answers "open now?", "when does it next open?" and "when does
 * it next close?".
 *
 * Invariants:
 * - Open or closed depends only on the local wall clock (date + time of day in `timeZone`), read with
 *   Intl, so DST needs no special case: a spring-forward day has no 02:xx at all, a fall-back day has
 *   02:xx twice and is open both times if 02:xx lies in an interval.
 * - Intervals are half-open [start, end): 09:00–17:00 is closed at 17:00:00.000. Intervals never cross
 *   midnight (end > start, "24:00" allowed as end); 22:00–02:00 is written as two days, and the
 *   seams between touching intervals (also across midnight) are not closings.
 * - nextOpening / nextClosing agree with isOpen exactly: they return the first instant t ≥ at where
 *   isOpen(t) is true / false (so `at` itself when already in that state), looking 14 days ahead at
 *   most, and undefined beyond that.
 * - The functions take an already validated value (`businessHoursSchema.parse`) and never throw for
 *   one, except for an invalid Date. They cache a compiled form per object: treat it as immutable.
 */
import { minutesOfClock, type BusinessHours } from '@app/contracts';

// The schema moved to the contracts lib (the gateway validates business hours too); re-exported
// so the router and the seed loader keep importing it from here.
export { businessHoursSchema, type BusinessHours } from '@app/contracts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** How far nextOpening / nextClosing look; a queue shut for longer than this is "not soon". */
const HORIZON_MS = 14 * DAY_MS;
/** Offset changes are searched by stepping this far; shorter than any gap between two real transitions. */
const TRANSITION_PROBE_MS = 6 * 3_600_000;

const DAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Local wall-clock readings are carried as "local milliseconds": the wall clock read as if it were UTC. */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(timeZone: string) {
    // h23 because some ICU versions print midnight as "24" with hour12: false.
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  localMs(instant: number): number {
    const parts: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
    for (const part of this.format.formatToParts(instant)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const wholeSeconds = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    // Intl drops milliseconds; no zone offset has a sub-second part, so they carry over unchanged.
    return wholeSeconds + (((instant % 1000) + 1000) % 1000);
  }

  offset(instant: number): number {
    return this.localMs(instant) - instant;
  }

  /** Every instant whose wall clock reads `local`: none in a spring-forward gap, two in a fall-back overlap. */
  instantsAt(local: number): number[] {
    // Any instant showing `local` lies within ±14 h of it, so the offsets in force a day either side cover it.
    const offsets = new Set([this.offset(local - DAY_MS), this.offset(local + DAY_MS)]);
    const instants: number[] = [];
    for (const offset of offsets) {
      const instant = local - offset;
      if (this.localMs(instant) === local) instants.push(instant);
    }
    return instants;
  }

  /** Instants in [from, to] where the offset changes, i.e. where the wall clock jumps. */
  transitions(from: number, to: number): number[] {
    const found: number[] = [];
    let before = from;
    let beforeOffset = this.offset(before);
    while (before < to) {
      const after = Math.min(before + TRANSITION_PROBE_MS, to);
      const afterOffset = this.offset(after);
      if (afterOffset !== beforeOffset) {
        let [low, high] = [before, after];
        while (high - low > 1) {
          const middle = Math.floor((low + high) / 2);
          if (this.offset(middle) === beforeOffset) low = middle;
          else high = middle;
        }
        found.push(high);
      }
      [before, beforeOffset] = [after, afterOffset];
    }
    return found;
  }
}

interface CompiledHours {
  clock: ZoneClock;
  /** Per weekday (0 = Sunday), intervals in minutes of the day. */
  days: Array<Array<[number, number]>>;
  /** Per weekday, the minutes of the day where the state can change (always including midnight). */
  breakpoints: number[][];
  holidays: ReadonlySet<string>;
}

const clocks = new Map<string, ZoneClock>();
const compiled = new WeakMap<BusinessHours, CompiledHours>();

// Building an Intl.DateTimeFormat costs far more than using one, so both caches pay off per call.
function compile(hours: BusinessHours): CompiledHours {
  const cached = compiled.get(hours);
  if (cached) return cached;
  let clock = clocks.get(hours.timeZone);
  if (!clock) {
    clock = new ZoneClock(hours.timeZone);
    clocks.set(hours.timeZone, clock);
  }
  const days = DAY_KEYS.map((key) =>
    (hours.weekly[key] ?? []).map(([start, end]): [number, number] => [minutesOfClock(start), minutesOfClock(end)]),
  );
  const breakpoints = days.map((intervals) => [0, ...intervals.flatMap(([start, end]) => [start, end % MINUTES_PER_DAY])]);
  const result: CompiledHours = { clock, days, breakpoints, holidays: new Set(hours.holidays ?? []) };
  compiled.set(hours, result);
  return result;
}

function openAtLocal(hours: CompiledHours, local: number): boolean {
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  const day = new Date(dayStart);
  if (hours.holidays.has(day.toISOString().slice(0, 10))) return false;
  const minute = (local - dayStart) / MINUTE_MS;
  return hours.days[day.getUTCDay()]!.some(([start, end]) => start <= minute && minute < end);
}

function instantOf(at: Date): number {
  const instant = at.getTime();
  if (Number.isNaN(instant)) throw new RangeError('business hours: invalid Date');
  return instant;
}

/**
 * Every instant in (from, to] where open/closed can change: the wall clock reaching a breakpoint, or
 * jumping over one at an offset change. Between two of them the state is constant.
 */
function changeCandidates(hours: CompiledHours, from: number, to: number): number[] {
  const { clock } = hours;
  const candidates = clock.transitions(from, to);
  // One local day of margin on each side covers wall clocks that run behind or ahead of `from`'s date.
  const firstDay = Math.floor(clock.localMs(from) / DAY_MS) * DAY_MS - DAY_MS;
  const lastDay = Math.floor(clock.localMs(to) / DAY_MS) * DAY_MS + DAY_MS;
  for (let dayStart = firstDay; dayStart <= lastDay; dayStart += DAY_MS) {
    for (const minute of hours.breakpoints[new Date(dayStart).getUTCDay()]!) {
      candidates.push(...clock.instantsAt(dayStart + minute * MINUTE_MS));
    }
  }
  return [...new Set(candidates)].filter((instant) => instant > from && instant <= to).sort((a, b) => a - b);
}

function nextInstantWhere(hours: BusinessHours, at: Date, open: boolean): Date | undefined {
  const from = instantOf(at);
  const compiledHours = compile(hours);
  const stateAt = (instant: number): boolean => openAtLocal(compiledHours, compiledHours.clock.localMs(instant));
  if (stateAt(from) === open) return new Date(from);
  // Day-sized windows: most answers lie within a day or two, and each window costs a few dozen Intl calls.
  for (let windowStart = from; windowStart < from + HORIZON_MS; windowStart += DAY_MS) {
    const windowEnd = Math.min(windowStart + DAY_MS, from + HORIZON_MS);
    const found = changeCandidates(compiledHours, windowStart, windowEnd).find((instant) => stateAt(instant) === open);
    if (found !== undefined) return new Date(found);
  }
  return undefined;
}

export function isOpen(hours: BusinessHours, at: Date): boolean {
  const compiledHours = compile(hours);
  return openAtLocal(compiledHours, compiledHours.clock.localMs(instantOf(at)));
}

/** The first instant at or after `at` when the queue is open; undefined if it stays shut for 14 days. */
export function nextOpening(hours: BusinessHours, at: Date): Date | undefined {
  return nextInstantWhere(hours, at, true);
}

/** The first instant at or after `at` when the queue is closed; undefined if it stays open for 14 days. */
export function nextClosing(hours: BusinessHours, at: Date): Date | undefined {
  return nextInstantWhere(hours, at, false);
}
