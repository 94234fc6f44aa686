// Periodic sweeps over every connection or session (idle time-outs, keepalives, pings) in
// slices, yielding to the event loop between slices. Clients that connected together fall
// silent together: with 15,000 idle connections the whitespace keepalives of one 5-second
// sweep blocked the loop for ~70 ms every minute (measured), and server pings (a promise, a
// timer and a stanza each) would block longer. Sliced, no stretch exceeds a few milliseconds.

/** Items handled before the sweep yields (setImmediate): a few milliseconds of work at most. */
export const SWEEP_SLICE = 500;

/**
 * Calls fn for every item of `items`, SWEEP_SLICE at a time. `items` is iterated live (Set and
 * Map iterators tolerate deletions and additions in between). Stops early once `stopped()`.
 */
export function sweepInSlices<T>(items: Iterable<T>, fn: (item: T) => void, stopped?: () => boolean): void {
  const it = items[Symbol.iterator]();
  const slice = (): void => {
    if (stopped?.()) return;
    for (let i = 0; i < SWEEP_SLICE; i++) {
      const r = it.next();
      if (r.done) return;
      fn(r.value);
    }
    setImmediate(slice);
  };
  slice();
}
