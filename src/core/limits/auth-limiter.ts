// Failed authentications counted per account and per remote address. Once an account (or an
// address) has `limit` failures within the window, it is blocked for one window: every further
// attempt for it fails at once with SASL temporary-auth-failure, before any credential is
// looked up or any password checked, so a brute-force client learns nothing from the answers
// and costs no PBKDF2 work. A warning is logged once when a block starts.
//
// Memory is bounded: each table holds at most `maxEntries` keys. When full, entries whose
// window or block is over are dropped first, then the least recently failed ones that are not
// blocked, then (only if every entry is a live block) the oldest blocks. Over-long usernames
// are stored as a hash. A spray of random usernames therefore costs a fixed amount of memory
// (and is stopped by the per-address limit well before that, unless it comes from many
// addresses).
import { createHash } from "node:crypto";
import type { Logger } from "../log/logger.ts";
import { normalizeAddress, type AddressList } from "../transport/address-list.ts";

/** SASL failure conditions that never count: no credential was tried (or the server failed). */
const NOT_COUNTED = new Set(["aborted", "temporary-auth-failure", "invalid-mechanism", "encryption-required", "mechanism-too-weak"]);

const MAX_KEY_LENGTH = 128;
export const DEFAULT_MAX_ENTRIES = 50_000;

interface Entry {
  failures: number;
  windowStart: number;
  /** 0 while not blocked. */
  blockedUntil: number;
}

/** One table of failure counters (accounts, or addresses). Exported for unit tests. */
export class FailureTable {
  readonly limit: number;
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();

  constructor(limit: number, windowMs: number, maxEntries = DEFAULT_MAX_ENTRIES) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(e: Entry, now: number): boolean {
    return e.blockedUntil !== 0 ? e.blockedUntil <= now : now - e.windowStart >= this.windowMs;
  }

  /** When `key` is blocked, the time the block ends; otherwise 0. */
  blockedUntil(key: string, now: number): number {
    if (this.limit === 0) return 0;
    const e = this.entries.get(key);
    if (e === undefined) return 0;
    if (this.expired(e, now)) {
      this.entries.delete(key);
      return 0;
    }
    return e.blockedUntil;
  }

  /** Counts a failure. Returns the end of the block when this failure started one, else 0. */
  fail(key: string, now: number): number {
    if (this.limit === 0) return 0;
    let e = this.entries.get(key);
    if (e !== undefined && e.blockedUntil > now) return 0; // already blocked (a race with check)
    if (e === undefined || this.expired(e, now)) {
      e = { failures: 0, windowStart: now, blockedUntil: 0 };
    }
    // Re-inserting keeps the Map in least-recently-failed order for eviction.
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(key, e);
    e.failures++;
    if (e.failures >= this.limit) {
      e.blockedUntil = now + this.windowMs;
      return e.blockedUntil;
    }
    return 0;
  }

  /** Forgets `key` (a successful authentication clears its account's failures). */
  clear(key: string): void {
    this.entries.delete(key);
  }

  /** Makes room: down to 90 % of the cap, so a flood of new keys does not sweep on every insert. */
  private evict(now: number): void {
    const target = Math.floor(this.maxEntries * 0.9);
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
    if (this.entries.size <= target) return;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= target) return;
      if (e.blockedUntil === 0) this.entries.delete(k);
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= target) return;
      this.entries.delete(k);
    }
  }
}

export interface AuthLimiterOptions {
  /** Failures per account within the window before it is blocked; 0 = no per-account limit. */
  perAccount: number;
  /** Failures per remote address within the window before it is blocked; 0 = no per-address limit. */
  perAddress: number;
  /** The counting window, which is also how long a block lasts. */
  windowMs: number;
  /** Addresses never counted nor blocked. */
  exempt?: AddressList;
  /** Cap on each table (accounts, addresses). */
  maxEntries?: number;
  now?: () => number;
  log?: Logger;
}

export type AuthVerdict = { allowed: true } | { allowed: false; text: string; until: number; scope: "account" | "address" };

export class AuthFailureLimiter {
  readonly accounts: FailureTable;
  readonly addresses: FailureTable;
  private readonly exempt: AddressList | undefined;
  private readonly now: () => number;
  private readonly log: Logger | undefined;

  constructor(opts: AuthLimiterOptions) {
    this.accounts = new FailureTable(opts.perAccount, opts.windowMs, opts.maxEntries);
    this.addresses = new FailureTable(opts.perAddress, opts.windowMs, opts.maxEntries);
    this.exempt = opts.exempt;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  /**
   * May an authentication from `remoteAddress` (for `username`, once the mechanism has read
   * it) go ahead? Called before any credential is checked.
   */
  check(remoteAddress: string, username?: string): AuthVerdict {
    if (this.exempt?.matches(remoteAddress)) return { allowed: true };
    const now = this.now();
    const byAddress = this.addresses.blockedUntil(normalizeAddress(remoteAddress), now);
    if (byAddress !== 0) return refusal("address", byAddress, now);
    if (username !== undefined) {
      const byAccount = this.accounts.blockedUntil(accountKey(username), now);
      if (byAccount !== 0) return refusal("account", byAccount, now);
    }
    return { allowed: true };
  }

  /** An authentication attempt failed with SASL `condition`. */
  failed(remoteAddress: string, username: string | undefined, condition: string): void {
    if (NOT_COUNTED.has(condition) || this.exempt?.matches(remoteAddress)) return;
    const now = this.now();
    const address = normalizeAddress(remoteAddress);
    const addressBlock = this.addresses.fail(address, now);
    if (addressBlock !== 0) {
      this.log?.warn(
        { address, failures: this.addresses.limit, windowSeconds: this.addresses.windowMs / 1000, until: new Date(addressBlock).toISOString() },
        "authentication blocked for this address: too many failed attempts (limits.authFailuresPerAddress)",
      );
    }
    if (username === undefined) return;
    const accountBlock = this.accounts.fail(accountKey(username), now);
    if (accountBlock !== 0) {
      this.log?.warn(
        { username: logName(username), address, failures: this.accounts.limit, windowSeconds: this.accounts.windowMs / 1000, until: new Date(accountBlock).toISOString() },
        "authentication blocked for this account: too many failed attempts (limits.authFailuresPerAccount)",
      );
    }
  }

  /** An authentication succeeded: the account's failure count starts again. */
  succeeded(remoteAddress: string, username: string): void {
    if (this.exempt?.matches(remoteAddress)) return;
    this.accounts.clear(accountKey(username));
  }
}

function refusal(scope: "account" | "address", until: number, now: number): AuthVerdict {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  const what = scope === "account" ? "for this account" : "from this address";
  return {
    allowed: false,
    scope,
    until,
    text: `Too many failed authentication attempts ${what}; try again after ${new Date(until).toISOString()} (in ${seconds} s).`,
  };
}

/** Table key of a username: itself, or a hash when it is too long to keep as is. */
export function accountKey(username: string): string {
  if (username.length <= MAX_KEY_LENGTH) return username;
  // NUL cannot occur in a prepared username, so a hash never equals a real name.
  return "\0" + createHash("sha256").update(username, "utf8").digest("base64url");
}

function logName(username: string): string {
  return username.length <= MAX_KEY_LENGTH ? username : username.slice(0, MAX_KEY_LENGTH) + "…";
}
