/**
 * Time for routing decisions. Every timer comparison in SQL takes `now` from here as a parameter
 * (never the database's now()), so tests drive offer timeouts, leases and wrap-up with a manual clock.
 */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

export class ManualClock extends Clock {
  constructor(private current = new Date()) {
    super();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
