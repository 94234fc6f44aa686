// One timer for many deadlines: a binary min-heap of (time, key) with a single setTimeout armed
// for the earliest. Setting a key again moves its deadline (the old heap entry is skipped when
// it surfaces); the heap is rebuilt when stale entries outnumber live ones.
// Used by the calendar module for every user's next poll and next meeting boundary, so
// 10,000 users cost one timer, not 10,000.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** setTimeout's longest delay (about 24.8 days); longer waits re-arm. */
const MAX_DELAY = 2_147_483_647;

interface Entry<K> {
  at: number;
  seq: number;
  key: K;
}

export class TimerScheduler<K> {
  readonly #onDue: (key: K, at: number) => void;
  readonly #clock: Clock;
  readonly #live = new Map<K, Entry<K>>();
  #heap: Entry<K>[] = [];
  #seq = 0;
  #timer: unknown;
  #armedAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  #firing = false;

  /** `onDue(key, at)` runs once per deadline reached (errors are the caller's business). */
  constructor(onDue: (key: K, at: number) => void, clock: Clock = systemClock) {
    this.#onDue = onDue;
    this.#clock = clock;
  }

  get size(): number {
    return this.#live.size;
  }

  /** Deadline of a key, if set. */
  get(key: K): number | undefined {
    return this.#live.get(key)?.at;
  }

  /** Sets (or moves) the key's deadline to `at` (epoch ms). */
  set(key: K, at: number): void {
    if (this.#stopped) return;
    if (!Number.isFinite(at)) throw new RangeError(`bad deadline ${at}`);
    const e: Entry<K> = { at, seq: ++this.#seq, key };
    this.#live.set(key, e);
    this.#push(e);
    this.#compact();
    if (!this.#firing) this.#arm();
  }

  delete(key: K): boolean {
    const had = this.#live.delete(key);
    this.#compact();
    return had;
  }

  /** Cancels everything; later set() calls are ignored. */
  stop(): void {
    this.#stopped = true;
    this.#live.clear();
    this.#heap = [];
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  #arm(): void {
    this.#dropStale();
    const top = this.#heap[0];
    if (!top) {
      this.#disarm();
      return;
    }
    if (this.#timer !== undefined && this.#armedAt <= top.at) return;
    this.#disarm();
    const delay = Math.min(Math.max(0, top.at - this.#clock.now()), MAX_DELAY);
    this.#armedAt = top.at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.#firing = true;
    try {
      const now = this.#clock.now();
      // A callback that keeps setting due deadlines cannot hold the event loop: after a batch
      // the rest waits for the next turn.
      for (let n = 0; n < 10_000; n++) {
        this.#dropStale();
        const top = this.#heap[0];
        if (!top || top.at > now) break;
        this.#pop();
        this.#live.delete(top.key);
        this.#onDue(top.key, top.at);
        if (this.#stopped) return;
      }
    } finally {
      this.#firing = false;
    }
    this.#arm();
  }

  #isStale(e: Entry<K>): boolean {
    return this.#live.get(e.key) !== e;
  }

  #dropStale(): void {
    while (this.#heap.length > 0 && this.#isStale(this.#heap[0])) this.#pop();
  }

  #compact(): void {
    if (this.#heap.length <= 2 * this.#live.size + 64) return;
    this.#heap = [...this.#live.values()].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  #less(a: Entry<K>, b: Entry<K>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(e: Entry<K>): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  #pop(): Entry<K> | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l], h[m])) m = l;
        if (r < h.length && this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
