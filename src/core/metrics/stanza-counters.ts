// Stanza counters for the hot path: plain number fields, incremented once per stanza with no
// allocation, no label lookup and no map access. The Prometheus registry reads them only when
// scraped (metrics.ts exports them through collect() callbacks).

export type StanzaKind = "message" | "presence" | "iq";

export class StanzaCounters {
  inMessage = 0;
  inPresence = 0;
  inIq = 0;
  outMessage = 0;
  outPresence = 0;
  outIq = 0;

  /** A stanza from a client, by its element name (other names are ignored). */
  countIn(name: string): void {
    if (name === "message") this.inMessage++;
    else if (name === "presence") this.inPresence++;
    else if (name === "iq") this.inIq++;
  }

  /**
   * Bytes written to a bound client: one serialized top-level element. Only `<message`,
   * `<presence` and `<iq` count (not stream errors, SM acks or whitespace keepalives).
   */
  countOut(data: string): void {
    if (data.charCodeAt(0) !== 60 /* < */) return;
    const c = data.charCodeAt(1);
    if (c === 109 /* m */) {
      if (data.startsWith("essage", 2) && isNameEnd(data.charCodeAt(8))) this.outMessage++;
    } else if (c === 112 /* p */) {
      if (data.startsWith("resence", 2) && isNameEnd(data.charCodeAt(9))) this.outPresence++;
    } else if (c === 105 /* i */) {
      if (data.charCodeAt(2) === 113 /* q */ && isNameEnd(data.charCodeAt(3))) this.outIq++;
    }
  }

  get in(): Record<StanzaKind, number> {
    return { message: this.inMessage, presence: this.inPresence, iq: this.inIq };
  }

  get out(): Record<StanzaKind, number> {
    return { message: this.outMessage, presence: this.outPresence, iq: this.outIq };
  }
}

/** Space, '/', '>' (or tab/newline) end an element name. */
function isNameEnd(c: number): boolean {
  return c === 32 || c === 47 || c === 62 || c === 9 || c === 10 || c === 13;
}
