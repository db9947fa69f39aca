import { type BusinessHours, businessHoursSchema, isOpen, nextClosing, nextOpening } from './business-hours.policy';

const officeWeek = { mon: [['09:00', '17:00']], tue: [['09:00', '17:00']], wed: [['09:00', '17:00']], thu: [['09:00', '17:00']], fri: [['09:00', '17:00']] };

function hours(input: unknown): BusinessHours {
  return businessHoursSchema.parse(input);
}

function issuesOf(input: unknown): string[] {
  const result = businessHoursSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const at = (iso: string) => new Date(iso);

describe('business hours', () => {
  describe('isOpen', () => {
    const berlin = hours({ timeZone: 'Europe/Berlin', weekly: officeWeek });

    it('is open inside a weekday interval and closed outside it', () => {
      // Wednesday 2026-03-04, Berlin is UTC+1 in winter.
      expect(isOpen(berlin, at('2026-03-04T08:00:00Z'))).toBe(true); // 09:00 local, the start is inclusive
      expect(isOpen(berlin, at('2026-03-04T12:00:00Z'))).toBe(true);
      expect(isOpen(berlin, at('2026-03-04T07:59:59.999Z'))).toBe(false);
      expect(isOpen(berlin, at('2026-03-04T16:00:00Z'))).toBe(false); // 17:00 local, the end is exclusive
      expect(isOpen(berlin, at('2026-03-07T12:00:00Z'))).toBe(false); // Saturday, no intervals
    });

    it('keeps a holiday closed for the whole local day', () => {
      const withHoliday = hours({ timeZone: 'Europe/Berlin', weekly: officeWeek, holidays: ['2026-03-04'] });
      expect(isOpen(withHoliday, at('2026-03-04T12:00:00Z'))).toBe(false);
      expect(isOpen(withHoliday, at('2026-03-05T12:00:00Z'))).toBe(true);
      // 23:30 UTC on the 3rd is already the 4th in Berlin: the holiday follows the local date.
      const allDay = hours({ timeZone: 'Europe/Berlin', weekly: { tue: [['00:00', '24:00']], wed: [['00:00', '24:00']] }, holidays: ['2026-03-04'] });
      expect(isOpen(allDay, at('2026-03-03T22:59:00Z'))).toBe(true);
      expect(isOpen(allDay, at('2026-03-03T23:30:00Z'))).toBe(false);
    });

    it('reads the weekday and time in a zone far east of UTC (Asia/Tokyo)', () => {
      const tokyo = hours({ timeZone: 'Asia/Tokyo', weekly: officeWeek });
      // Sunday 23:30 UTC is Monday 08:30 in Tokyo, Monday 00:30 UTC is Monday 09:30.
      expect(isOpen(tokyo, at('2026-03-01T23:30:00Z'))).toBe(false);
      expect(isOpen(tokyo, at('2026-03-02T00:30:00Z'))).toBe(true);
      // Friday 08:30 UTC is Friday 17:30 in Tokyo: closed although it is office time in UTC.
      expect(isOpen(tokyo, at('2026-03-06T08:30:00Z'))).toBe(false);
    });

    it('reads the weekday and time in a zone far west of UTC (America/Los_Angeles)', () => {
      const la = hours({ timeZone: 'America/Los_Angeles', weekly: officeWeek });
      // Tuesday 00:30 UTC is Monday 16:30 PST.
      expect(isOpen(la, at('2026-03-03T00:30:00Z'))).toBe(true);
      // Saturday 00:30 UTC is Friday 16:30 PST; Friday 16:30 UTC is Friday 08:30 PST.
      expect(isOpen(la, at('2026-03-07T00:30:00Z'))).toBe(true);
      expect(isOpen(la, at('2026-03-06T16:30:00Z'))).toBe(false);
      // After the US switch on 2026-03-08 the same local hours sit an hour earlier in UTC.
      expect(isOpen(la, at('2026-03-09T16:00:00Z'))).toBe(true); // 09:00 PDT
      expect(isOpen(la, at('2026-03-10T00:30:00Z'))).toBe(false); // 17:30 PDT
    });

    it('follows the wall clock across the spring-forward day in Europe/Berlin', () => {
      // 2026-03-29 (Sunday): 02:00 CET jumps to 03:00 CEST, so 01:00–04:00 local lasts two real hours.
      const night = hours({ timeZone: 'Europe/Berlin', weekly: { sun: [['01:00', '04:00']] } });
      expect(isOpen(night, at('2026-03-28T23:59:00Z'))).toBe(false); // 00:59 CET
      expect(isOpen(night, at('2026-03-29T00:00:00Z'))).toBe(true); // 01:00 CET
      expect(isOpen(night, at('2026-03-29T00:59:59Z'))).toBe(true); // 01:59:59 CET
      expect(isOpen(night, at('2026-03-29T01:00:00Z'))).toBe(true); // 03:00 CEST
      expect(isOpen(night, at('2026-03-29T02:00:00Z'))).toBe(false); // 04:00 CEST
      expect(nextClosing(night, at('2026-03-29T00:30:00Z'))).toEqual(at('2026-03-29T02:00:00Z'));
    });

    it('rejects an invalid Date instead of guessing', () => {
      expect(() => isOpen(hours({ timeZone: 'UTC', weekly: {} }), new Date(Number.NaN))).toThrow(RangeError);
    });
  });

  describe('nextOpening', () => {
    const berlin = hours({ timeZone: 'Europe/Berlin', weekly: officeWeek });

    it('goes from Friday evening to Monday morning', () => {
      // Friday 2026-03-06 18:00 CET → Monday 2026-03-09 09:00 CET.
      expect(nextOpening(berlin, at('2026-03-06T17:00:00Z'))).toEqual(at('2026-03-09T08:00:00Z'));
    });

    it('goes from Friday evening to Monday morning across the spring-forward weekend', () => {
      // Friday 2026-03-27 18:00 CET → Monday 2026-03-30 09:00 CEST, which is 07:00 UTC, not 08:00.
      expect(nextOpening(berlin, at('2026-03-27T17:00:00Z'))).toEqual(at('2026-03-30T07:00:00Z'));
    });

    it('returns `at` itself when already open', () => {
      expect(nextOpening(berlin, at('2026-03-04T10:00:00Z'))).toEqual(at('2026-03-04T10:00:00Z'));
    });

    it('skips holidays', () => {
      const easter = hours({ timeZone: 'Europe/Berlin', weekly: officeWeek, holidays: ['2026-04-03', '2026-04-06'] });
      // Thursday 2026-04-02 after hours → Tuesday 2026-04-07 09:00 CEST.
      expect(nextOpening(easter, at('2026-04-02T16:00:00Z'))).toEqual(at('2026-04-07T07:00:00Z'));
    });

    it('opens at the jump when the opening time does not exist on a spring-forward day', () => {
      // 02:30 never happens on 2026-03-29 in Berlin; the wall clock passes it at the 03:00 CEST jump.
      const night = hours({ timeZone: 'Europe/Berlin', weekly: { sun: [['02:30', '05:00']] } });
      const opening = nextOpening(night, at('2026-03-29T00:30:00Z'))!;
      expect(opening).toEqual(at('2026-03-29T01:00:00Z'));
      expect(isOpen(night, opening)).toBe(true);
      expect(isOpen(night, new Date(opening.getTime() - 1))).toBe(false);
    });

    it('sees the repeated hour of a fall-back day open twice, like isOpen does', () => {
      // 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:00–02:30 local happens twice.
      const night = hours({ timeZone: 'Europe/Berlin', weekly: { sun: [['02:00', '02:30']] } });
      expect(nextOpening(night, at('2026-10-24T23:00:00Z'))).toEqual(at('2026-10-25T00:00:00Z')); // 02:00 CEST
      expect(nextClosing(night, at('2026-10-25T00:00:00Z'))).toEqual(at('2026-10-25T00:30:00Z'));
      expect(nextOpening(night, at('2026-10-25T00:45:00Z'))).toEqual(at('2026-10-25T01:00:00Z')); // 02:00 CET
      expect(nextClosing(night, at('2026-10-25T01:00:00Z'))).toEqual(at('2026-10-25T01:30:00Z'));
    });

    it('gives up after 14 days', () => {
      expect(nextOpening(hours({ timeZone: 'Asia/Tokyo', weekly: {} }), at('2026-03-04T10:00:00Z'))).toBeUndefined();
      const longBreak = Array.from({ length: 15 }, (_, day) => new Date(Date.UTC(2026, 7, 1 + day)).toISOString().slice(0, 10));
      const shut = hours({ timeZone: 'UTC', weekly: officeWeek, holidays: longBreak });
      expect(nextOpening(shut, at('2026-07-31T18:00:00Z'))).toBeUndefined();
    });
  });

  describe('nextClosing', () => {
    it('returns the end of the current interval, or `at` when closed', () => {
      const berlin = hours({ timeZone: 'Europe/Berlin', weekly: officeWeek });
      expect(nextClosing(berlin, at('2026-03-04T10:00:00Z'))).toEqual(at('2026-03-04T16:00:00Z'));
      expect(nextClosing(berlin, at('2026-03-04T20:00:00Z'))).toEqual(at('2026-03-04T20:00:00Z'));
    });

    it('does not close at the seam of touching intervals, even across midnight', () => {
      const lateShift = hours({
        timeZone: 'America/Los_Angeles',
        weekly: { mon: [['18:00', '20:00'], ['20:00', '24:00']], tue: [['00:00', '02:00']] },
      });
      // Monday 2026-03-02 19:00 PST → Tuesday 02:00 PST.
      expect(nextClosing(lateShift, at('2026-03-03T03:00:00Z'))).toEqual(at('2026-03-03T10:00:00Z'));
    });

    it('is undefined for a queue open around the clock', () => {
      const allDay = [['00:00', '24:00']];
      const always = hours({ timeZone: 'Asia/Tokyo', weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay } });
      expect(isOpen(always, at('2026-03-04T10:00:00Z'))).toBe(true);
      expect(nextClosing(always, at('2026-03-04T10:00:00Z'))).toBeUndefined();
    });
  });

  describe('nextOpening / nextClosing against a minute-by-minute scan', () => {
    // Offsets in these zones change on whole minutes, so a one-minute grid sees every change.
    it.each([
      ['Europe/Berlin', '2026-03-27T00:00:00Z'], // spring forward on Sunday the 29th
      ['Europe/Berlin', '2026-10-23T00:00:00Z'], // fall back on Sunday the 25th
      ['America/Los_Angeles', '2026-03-06T00:00:00Z'], // spring forward on Sunday the 8th
      ['America/Los_Angeles', '2026-10-30T00:00:00Z'], // fall back on Sunday 1 November
    ])('agrees with isOpen in %s around %s', (timeZone, startIso) => {
      const tricky = hours({
        timeZone,
        weekly: {
          fri: [['08:00', '12:00'], ['12:00', '17:30'], ['23:00', '24:00']],
          sat: [['00:00', '00:45'], ['10:15', '11:00']],
          sun: [['00:30', '01:30'], ['01:45', '02:15'], ['02:40', '03:05'], ['22:00', '24:00']],
          mon: [['00:00', '00:10'], ['09:00', '17:00']],
        },
        holidays: ['2026-11-02'],
      });
      const start = Date.parse(startIso);
      const minutes = 4 * 24 * 60;
      const states = Array.from({ length: minutes + 1 }, (_, m) => isOpen(tricky, new Date(start + m * 60_000)));
      const firstFrom = (from: number, open: boolean): Date | undefined => {
        const index = states.indexOf(open, from);
        return index < 0 ? undefined : new Date(start + index * 60_000);
      };
      for (let m = 0; m < minutes; m += 17) {
        const from = new Date(start + m * 60_000);
        const expectedOpening = firstFrom(m, true);
        const expectedClosing = firstFrom(m, false);
        if (expectedOpening) expect([from.toISOString(), nextOpening(tricky, from)]).toEqual([from.toISOString(), expectedOpening]);
        if (expectedClosing) expect([from.toISOString(), nextClosing(tricky, from)]).toEqual([from.toISOString(), expectedClosing]);
      }
    });
  });

  describe('businessHoursSchema', () => {
    it('accepts a full definition', () => {
      expect(issuesOf({ timeZone: 'America/Los_Angeles', weekly: { ...officeWeek, sat: [] }, holidays: ['2026-12-25', '2028-02-29'] })).toEqual([]);
    });

    it.each([
      ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons', weekly: {} }, 'timeZone: expected an IANA time zone'],
      ['a malformed time', { timeZone: 'UTC', weekly: { mon: [['9:00', '17:00']] } }, 'weekly.mon.0.0: expected a time "HH:MM"'],
      ['an hour past 24', { timeZone: 'UTC', weekly: { mon: [['09:00', '25:00']] } }, 'weekly.mon.0.1: expected a time "HH:MM"'],
      ['an interval ending before it starts', { timeZone: 'UTC', weekly: { tue: [['22:00', '02:00']] } }, 'weekly.tue.0: interval 22:00–02:00 must end after it starts'],
      ['an empty interval', { timeZone: 'UTC', weekly: { tue: [['10:00', '10:00']] } }, 'weekly.tue.0: interval 10:00–10:00 must end after it starts'],
      ['24:00 as a start', { timeZone: 'UTC', weekly: { wed: [['24:00', '24:00']] } }, 'weekly.wed.0: "24:00" is only allowed as the end'],
      ['overlapping intervals', { timeZone: 'UTC', weekly: { thu: [['13:00', '18:00'], ['09:00', '13:30']] } }, 'weekly.thu: intervals 09:00–13:30 and 13:00–18:00 overlap'],
      ['an unknown day', { timeZone: 'UTC', weekly: { monday: [['09:00', '17:00']] } }, 'weekly: Unrecognized key: "monday"'],
      ['an impossible holiday', { timeZone: 'UTC', weekly: {}, holidays: ['2026-02-29'] }, 'holidays.0: expected a calendar date "YYYY-MM-DD"'],
      ['a holiday with a time', { timeZone: 'UTC', weekly: {}, holidays: ['2026-12-24T00:00'] }, 'holidays.0: expected a calendar date'],
    ])('rejects %s with a clear message', (_name, input, message) => {
      expect(issuesOf(input).join('\n')).toContain(message);
      expect(() => businessHoursSchema.parse(input)).toThrow();
    });

    it('survives a malformed interval without crashing the overlap check', () => {
      expect(issuesOf({ timeZone: 'UTC', weekly: { fri: [['09:00'], ['10:00', '11:00']] } }).length).toBeGreaterThan(0);
    });
  });
});
