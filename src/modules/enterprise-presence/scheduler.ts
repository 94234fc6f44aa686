// One shared scheduler for every online user's next presence change (an idle threshold, a
// manual expiry, a meeting boundary…): a min-heap of (time, user) with lazy deletion and ONE
// timer armed for the earliest entry — not a timer per user per change. Rescheduling a user
// replaces their entry (the old one is skipped when it surfaces); the heap is compacted when
// stale entries outnumber live ones.
import type { Clock } from "./clock.ts";

export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: TimerApi = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** setTimeout's largest delay; later entries re-arm when it fires. */
const MAX_DELAY = 2_147_483_647;

interface Entry {
  at: number;
  user: string;
}

export class PresenceScheduler {
  private readonly heap: Entry[] = [];
  /** user → the one time that counts for them. */
  private readonly due = new Map<string, number>();
  private timer: unknown = undefined;
  private armedAt = Infinity;
  private stopped = false;
  private readonly clock: Clock;
  private readonly onDue: (users: string[]) => void;
  private readonly timers: TimerApi;

  constructor(clock: Clock, onDue: (users: string[]) => void, timers: TimerApi = realTimers) {
    this.clock = clock;
    this.onDue = onDue;
    this.timers = timers;
  }

  /** Users with a pending entry. */
  get size(): number {
    return this.due.size;
  }

  /** Entries in the heap, stale ones included (for tests: stays bounded). */
  get heapSize(): number {
    return this.heap.length;
  }

  /** When `user` is due next, if scheduled. */
  scheduledAt(user: string): number | undefined {
    return this.due.get(user);
  }

  /** Sets (or with undefined, clears) the user's next change time. */
  schedule(user: string, at: number | undefined): void {
    if (this.stopped) return;
    if (at === undefined || !Number.isFinite(at)) {
      this.due.delete(user);
      this.compact();
      return;
    }
    if (this.due.get(user) === at) return;
    this.due.set(user, at);
    this.push({ at, user });
    this.compact();
    if (at < this.armedAt) this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.due.clear();
  }

  /** Runs what is due now (the timer calls this; tests may too). */
  fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    const ready: string[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const e = this.pop()!;
      if (this.due.get(e.user) === e.at) {
        this.due.delete(e.user);
        ready.push(e.user);
      }
    }
    this.arm();
    if (ready.length > 0) this.onDue(ready);
  }

  private arm(): void {
    // Drop stale entries from the top so the timer is armed for a live one.
    while (this.heap.length > 0 && this.due.get(this.heap[0].user) !== this.heap[0].at) this.pop();
    if (this.timer !== undefined) {
      this.timers.clear(this.timer);
      this.timer = undefined;
      this.armedAt = Infinity;
    }
    if (this.heap.length === 0) return;
    const at = this.heap[0].at;
    const delay = Math.min(MAX_DELAY, Math.max(0, at - this.clock.now()));
    this.armedAt = at;
    this.timer = this.timers.set(() => this.fire(), delay);
  }

  private compact(): void {
    if (this.heap.length <= 2 * this.due.size + 64) return;
    this.heap.length = 0;
    for (const [user, at] of this.due) this.heap.push({ at, user });
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
