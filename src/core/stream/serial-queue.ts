// Processes items one at a time, in order, without allocating a promise per item when the
// work is synchronous. Stanzas from one client must be handled in the order they were sent,
// even when handling one of them waits for storage.

type MaybePromise<T> = T | Promise<T>;

/** What the queue runs: an object rather than two closures (one queue per connection). */
export interface SerialWorker<T> {
  run(item: T): MaybePromise<void>;
  /** An item's work threw or rejected; the queue goes on with the next one. */
  failed(err: unknown): void;
}

export class SerialQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private running = false;
  private readonly worker: SerialWorker<T>;
  private drainWaiters: Array<() => void> = [];

  constructor(worker: SerialWorker<T>) {
    this.worker = worker;
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
        r = this.worker.run(item);
      } catch (err) {
        this.worker.failed(err);
        continue;
      }
      if (r instanceof Promise) {
        r.then(
          () => this.drain(),
          (err) => {
            this.worker.failed(err);
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
