// Sliding-window counter per key (remote address): at most `max` events per `windowMs`.

export class SlidingWindowLimiter {
  private readonly max: number;
  private readonly windowMs: number;
  private readonly events = new Map<string, number[]>();

  /** max 0 = unlimited. */
  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  private recent(key: string, now: number): number[] {
    const list = (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.events.set(key, list);
    else this.events.delete(key);
    return list;
  }

  /** True when one more event is allowed now (does not count it). */
  allowed(key: string, now = Date.now()): boolean {
    return this.max === 0 || this.recent(key, now).length < this.max;
  }

  /** Milliseconds until one more event is allowed (0 = now). */
  retryAfter(key: string, now = Date.now()): number {
    if (this.max === 0) return 0;
    const list = this.recent(key, now);
    if (list.length < this.max) return 0;
    return list[list.length - this.max] + this.windowMs - now;
  }

  record(key: string, now = Date.now()): void {
    if (this.max === 0) return;
    const list = this.recent(key, now);
    list.push(now);
    this.events.set(key, list);
  }

  /** Forgets keys with no recent events (call now and then). */
  prune(now = Date.now()): void {
    for (const key of [...this.events.keys()]) this.recent(key, now);
  }

  get size(): number {
    return this.events.size;
  }
}
