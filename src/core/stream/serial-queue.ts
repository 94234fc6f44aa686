// Processes items one at a time, in order, without allocating a promise per item when the
// work is synchronous. Stanzas from one client must be handled in the order they were sent,
// even when handling one of them waits for storage.

type MaybePromise<T> = T | Promise<T>;

export class SerialQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private running = false;
  private readonly run: (item: T) => MaybePromise<void>;
  private readonly onError: (err: unknown) => void;
  private drainWaiters: Array<() => void> = [];

  constructor(run: (item: T) => MaybePromise<void>, onError: (err: unknown) => void) {
    this.run = run;
    this.onError = onError;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    if (!this.running) this.drain();
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }

  /** Calls fn once the queue is empty again. */
  onDrain(fn: () => void): void {
    this.drainWaiters.push(fn);
  }

  private drain(): void {
    this.running = true;
    while (this.head < this.items.length) {
      const item = this.items[this.head++];
      let r: MaybePromise<void>;
      try {
        r = this.run(item);
      } catch (err) {
        this.onError(err);
        continue;
      }
      if (r instanceof Promise) {
        r.then(
          () => this.drain(),
          (err) => {
            this.onError(err);
            this.drain();
          },
        );
        return;
      }
    }
    this.items.length = 0;
    this.head = 0;
    this.running = false;
    if (this.drainWaiters.length) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const fn of w) fn();
    }
  }
}
