// XEP-0198 outbound bookkeeping for one session: the stanzas written to the client and not yet
// acknowledged, and the 'h' arithmetic (§4: an unsignedInt that wraps from 2^32-1 to 0).
// Pure data structure, no I/O: the module decides what to do with the results.

/** One stanza written to the client and not yet acknowledged. */
export interface Unacked<M> {
  /** The serialized stanza exactly as written (retransmitted byte for byte on resumption). */
  readonly data: string;
  /** When it was first written (ms since epoch): the XEP-0203 stamp if it is rerouted. */
  readonly at: number;
  /** Other recipients of this very stanza (a bare-JID message to tied resources), if known. */
  others?: readonly M[];
}

export type AckResult =
  /** `count` stanzas newly acknowledged (0 for a repeated ack). */
  | { readonly kind: "ok"; readonly count: number }
  /** 'h' is behind what was already acknowledged: ignored. */
  | { readonly kind: "stale" }
  /** 'h' counts more stanzas than were ever sent (XEP-0198 §4 handled-count-too-high). */
  | { readonly kind: "too-high"; readonly sent: number };

const TWO_32 = 2 ** 32;

/** Parses an 'h' attribute: a decimal unsignedInt (0 … 2^32-1), else undefined. */
export function parseH(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n < TWO_32 ? n : undefined;
}

/** a + b modulo 2^32 (the counters' arithmetic). */
export function addH(a: number, b: number): number {
  return (((a + b) % TWO_32) + TWO_32) % TWO_32;
}

export class UnackedQueue<M = unknown> {
  private items: Array<Unacked<M>> = [];
  private head = 0;
  private ackedH: number;

  /** `start`: the counter value the queue starts from (0 after <enable/>; tests use others). */
  constructor(start = 0) {
    this.ackedH = start;
  }

  /** Stanzas sent and not yet acknowledged. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** The last 'h' the client acknowledged. */
  get acked(): number {
    return this.ackedH;
  }

  /** Stanzas sent since <enable/>, modulo 2^32 (the 'send-count'). */
  get sent(): number {
    return addH(this.ackedH, this.length);
  }

  push(data: string, at: number): Unacked<M> {
    const entry: Unacked<M> = { data, at };
    this.items.push(entry);
    return entry;
  }

  /** The most recently written stanza still unacknowledged. */
  last(): Unacked<M> | undefined {
    return this.length > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /**
   * Applies an acknowledgement: every stanza up to number `h` has been handled by the client.
   * Wrap-safe: what counts is the distance from the previous 'h', not the absolute value.
   */
  ack(h: number): AckResult {
    const delta = addH(h, -this.ackedH);
    const pending = this.length;
    if (delta > pending) {
      // Less than half the counter space behind: an old or repeated value, not an overflow.
      if (delta >= TWO_32 / 2) return { kind: "stale" };
      return { kind: "too-high", sent: this.sent };
    }
    this.head += delta;
    this.ackedH = h;
    this.compact();
    return { kind: "ok", count: delta };
  }

  /** The unacknowledged stanzas, oldest first (not removed). */
  pending(): Array<Unacked<M>> {
    return this.items.slice(this.head);
  }

  /**
   * Removes and returns every unacknowledged stanza (they are being dealt with some other
   * way: rerouted or bounced). The counter moves past them, as if acknowledged.
   */
  takeAll(): Array<Unacked<M>> {
    const out = this.items.slice(this.head);
    this.ackedH = this.sent;
    this.items = [];
    this.head = 0;
    return out;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
