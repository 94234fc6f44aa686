// A token bucket measured in bytes: the classic traffic shaper (Prosody's mod_limits,
// ejabberd's shapers). `burst` bytes may arrive at once; beyond that the sustained rate is
// `ratePerSecond`. Data that already arrived is never refused: `take` may drive the balance
// below zero, and returns how long the reader should stop reading until the debt is repaid.
// The caller pauses the socket for that long (the kernel's receive window then pushes back
// on the client), so nothing is dropped and one client cannot hog the event loop.

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    if (!(ratePerSecond > 0)) throw new RangeError("a token bucket needs a positive rate");
    if (!(burst >= 1)) throw new RangeError("a token bucket needs a burst of at least 1");
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }

  /** Spends `bytes` (already received). Returns the milliseconds to stop reading, 0 when none. */
  take(bytes: number, now: number): number {
    this.refill(now);
    this.tokens -= bytes;
    return this.delay(now);
  }

  /** Milliseconds until the balance is back to zero (0 when it is not negative). */
  delay(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }

  /** The current balance in bytes (negative while in debt); for tests and diagnostics. */
  balance(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}
