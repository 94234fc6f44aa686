// A manual clock for the calendar's timer tests: time moves only when advance() is called,
// and timers due by then run in deadline order.
import type { Clock } from "./scheduler.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Set<Timer>();
  /** setTimeout calls so far (one scheduler should need few). */
  armed = 0;

  constructor(start: number | Date) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.#now + Math.max(0, ms), seq: ++this.#seq, fn };
    this.#timers.add(t);
    this.armed++;
    return t;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as Timer);
  }

  /** Timers pending right now. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Moves time to an absolute instant. */
  advanceTo(at: number | Date): void {
    this.advance((typeof at === "number" ? at : at.getTime()) - this.#now);
  }
}
