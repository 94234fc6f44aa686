// Log-bucketed latency histogram (about 1.1 % resolution), cheap to record and to merge across
// worker processes. Values are microseconds.

const SCALE = 64; // buckets per power of two

export interface HistJSON {
  n: number;
  sum: number;
  max: number;
  min: number;
  b: Record<string, number>;
}

export class Hist {
  n = 0;
  sum = 0;
  max = 0;
  min = Infinity;
  buckets = new Map<number, number>();

  record(us: number): void {
    if (!(us >= 1)) us = 1;
    const k = Math.floor(Math.log2(us) * SCALE);
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
    this.n++;
    this.sum += us;
    if (us > this.max) this.max = us;
    if (us < this.min) this.min = us;
  }

  merge(o: Hist | HistJSON): void {
    if (o instanceof Hist) {
      for (const [k, c] of o.buckets) this.buckets.set(k, (this.buckets.get(k) ?? 0) + c);
    } else {
      for (const k of Object.keys(o.b)) this.buckets.set(+k, (this.buckets.get(+k) ?? 0) + o.b[k]);
    }
    this.n += o.n;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
    if (o.min < this.min) this.min = o.min;
  }

  /** Value at quantile q (0..1), in microseconds: the upper edge of the bucket, capped by max. */
  q(q: number): number {
    if (this.n === 0) return NaN;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const want = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen >= want) return Math.min(this.max, Math.pow(2, (k + 1) / SCALE));
    }
    return this.max;
  }

  mean(): number {
    return this.n ? this.sum / this.n : NaN;
  }

  toJSON(): HistJSON {
    const b: Record<string, number> = {};
    for (const [k, c] of this.buckets) b[k] = c;
    return { n: this.n, sum: this.sum, max: this.max, min: this.n ? this.min : 0, b };
  }

  static from(j: HistJSON): Hist {
    const h = new Hist();
    h.merge(j);
    return h;
  }

  /** Summary in milliseconds. */
  summaryMs(): { n: number; p50: number; p99: number; p999: number; max: number; mean: number } {
    const r = (x: number) => Math.round(x / 10) / 100;
    return { n: this.n, p50: r(this.q(0.5)), p99: r(this.q(0.99)), p999: r(this.q(0.999)), max: r(this.max), mean: r(this.mean()) };
  }
}

/** Monotonic clock in microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + Math.floor(t[1] / 1e3);
}
