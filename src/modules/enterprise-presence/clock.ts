// Injectable time source. Everything in this folder takes `now` (epoch milliseconds) as an
// argument; the server passes systemClock.now(), tests a FakeClock they advance by hand.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

export class FakeClock implements Clock {
  private t: number;
  constructor(start: number | string = "2025-03-03T09:00:00Z") {
    this.t = typeof start === "number" ? start : Date.parse(start);
  }
  now(): number {
    return this.t;
  }
  /** Moves time forward (or back, with a negative value) by `ms`. Returns the new time. */
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(t: number | string): void {
    this.t = typeof t === "number" ? t : Date.parse(t);
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
