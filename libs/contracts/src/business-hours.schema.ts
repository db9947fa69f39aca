/**
 * The shape of a queue's business hours: weekly opening intervals in local wall-clock time of one
 * IANA zone, plus holidays that close whole local days. It lives here because the router (which
 * evaluates the hours), the seed loader and the gateway's admin API (which accept them) must agree
 * on one definition.
 *
 * Invariants a parsed value satisfies: times are "HH:MM" from 00:00 to 24:00, "24:00" only as an
 * end; every interval ends after it starts (none crosses midnight); a day's intervals do not
 * overlap; holidays are real calendar dates.
 */
import { z } from 'zod';

const CLOCK_TIME = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;
const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Minutes since local midnight of a validated "HH:MM" (24:00 → 1440). */
export function minutesOfClock(clock: string): number {
  return Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function isCalendarDate(value: string): boolean {
  const match = LOCAL_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2026-02-30 over into March; a real date survives the round trip.
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const clockTimeSchema = z.string().regex(CLOCK_TIME, { error: 'expected a time "HH:MM" from 00:00 to 24:00' });

const intervalSchema = z.tuple([clockTimeSchema, clockTimeSchema]).superRefine(([start, end], ctx) => {
  if (!CLOCK_TIME.test(start) || !CLOCK_TIME.test(end)) return; // already reported by the element schema
  if (start === '24:00') {
    ctx.addIssue({ code: 'custom', message: '"24:00" is only allowed as the end of an interval' });
  } else if (minutesOfClock(end) <= minutesOfClock(start)) {
    ctx.addIssue({
      code: 'custom',
      message: `interval ${start}–${end} must end after it starts (split an interval across midnight into two days, ending the first at "24:00")`,
    });
  }
});

const dayIntervalsSchema = z.array(intervalSchema).superRefine((intervals, ctx) => {
  const sorted = [...intervals].sort((a, b) => minutesOfClock(a[0]) - minutesOfClock(b[0]));
  for (let i = 1; i < sorted.length; i += 1) {
    const [previous, current] = [sorted[i - 1]!, sorted[i]!];
    if (minutesOfClock(current[0]) < minutesOfClock(previous[1])) {
      ctx.addIssue({
        code: 'custom',
        message: `intervals ${previous[0]}–${previous[1]} and ${current[0]}–${current[1]} overlap`,
      });
    }
  }
});

export const businessHoursSchema = z
  .object({
    timeZone: z.string().refine(isTimeZone, { error: 'expected an IANA time zone such as "Europe/Berlin"' }),
    weekly: z
      .object({
        mon: dayIntervalsSchema.optional(),
        tue: dayIntervalsSchema.optional(),
        wed: dayIntervalsSchema.optional(),
        thu: dayIntervalsSchema.optional(),
        fri: dayIntervalsSchema.optional(),
        sat: dayIntervalsSchema.optional(),
        sun: dayIntervalsSchema.optional(),
      })
      .strict(),
    holidays: z
      .array(z.string().refine(isCalendarDate, { error: 'expected a calendar date "YYYY-MM-DD"' }))
      .optional(),
  })
  .strict();

export type BusinessHours = z.output<typeof businessHoursSchema>;
