// Concurrent client connections per remote address (`limits.maxConnectionsPerAddress`),
// shared by every client transport of the process (TCP with STARTTLS, direct TLS and
// WebSocket count together). Addresses on the exempt list are never refused and not counted.
// The table only holds addresses with at least one open connection, so its size is bounded
// by the number of open sockets.
import type { Logger } from "../log/logger.ts";
import { normalizeAddress, type AddressList } from "../transport/address-list.ts";

export interface ConnectionLimiterOptions {
  /** Open connections allowed per address; 0 = unlimited. */
  max: number;
  /** Addresses that are never limited (limits.exemptAddresses). */
  exempt?: AddressList;
  log?: Logger;
}

export class ConnectionLimiter {
  readonly max: number;
  private readonly exempt: AddressList | undefined;
  private readonly log: Logger | undefined;
  private readonly open = new Map<string, number>();
  /** Addresses refused since they last dropped below the cap (one warning per episode). */
  private readonly warned = new Set<string>();

  constructor(opts: ConnectionLimiterOptions) {
    this.max = opts.max;
    this.exempt = opts.exempt;
    this.log = opts.log;
  }

  /**
   * Counts a new connection from `address`. Returns false, counting nothing, when the address
   * already has `max` open connections: the caller must close the connection and not call
   * release() for it.
   */
  acquire(address: string, transport = "c2s"): boolean {
    if (this.max === 0 || this.exempt?.matches(address)) return true;
    const key = normalizeAddress(address);
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) {
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.log?.warn({ address: key, open: n, max: this.max, transport }, "connection refused: too many connections from this address (limits.maxConnectionsPerAddress)");
      }
      return false;
    }
    this.open.set(key, n + 1);
    return true;
  }

  /** A connection counted by acquire() has closed. Call once per successful acquire(). */
  release(address: string): void {
    if (this.max === 0 || this.exempt?.matches(address)) return;
    const key = normalizeAddress(address);
    const n = (this.open.get(key) ?? 1) - 1;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
    if (n < this.max) this.warned.delete(key);
  }

  /** Open connections counted for `address`. */
  count(address: string): number {
    return this.open.get(normalizeAddress(address)) ?? 0;
  }

  /** Addresses currently tracked (for tests and diagnostics). */
  get size(): number {
    return this.open.size;
  }
}
