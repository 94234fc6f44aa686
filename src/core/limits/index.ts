// Abuse limits (issue #3), built from the `limits.*` configuration and shared by every client
// transport of the process:
//  - failed authentications per account and per address (AuthFailureLimiter), checked by the
//    stream before a credential is looked at, counted from StreamEvents.authFailed;
//  - inbound bytes per stream (TokenBucket), enforced by pausing the socket;
//  - concurrent connections per address (ConnectionLimiter), checked by the listeners.
// Addresses on `limits.exemptAddresses` are subject to none of them. See docs/operations.md.
import type { LimitsConfig } from "../config/schema.ts";
import type { HookBus } from "../hooks/hooks.ts";
import { Priority } from "../hooks/hooks.ts";
import type { Logger } from "../log/logger.ts";
import { StreamEvents } from "../stream/stream-events.ts";
import { parseAddressList, type AddressList } from "../transport/address-list.ts";
import { AuthFailureLimiter } from "./auth-limiter.ts";
import { ConnectionLimiter } from "./connection-limiter.ts";
import { TokenBucket } from "./token-bucket.ts";

export { AuthFailureLimiter, FailureTable, accountKey, type AuthVerdict, type AuthLimiterOptions } from "./auth-limiter.ts";
export { ConnectionLimiter, type ConnectionLimiterOptions } from "./connection-limiter.ts";
export { TokenBucket } from "./token-bucket.ts";

export type AbuseLimitsConfig = Pick<
  LimitsConfig,
  | "authFailuresPerAccount"
  | "authFailuresPerAddress"
  | "authFailureWindowSeconds"
  | "c2sBytesPerSecond"
  | "c2sBurstBytes"
  | "maxConnectionsPerAddress"
  | "exemptAddresses"
>;

export class AbuseLimits {
  readonly exempt: AddressList;
  readonly auth: AuthFailureLimiter;
  readonly connections: ConnectionLimiter;
  private readonly bytesPerSecond: number;
  private readonly burstBytes: number;
  private readonly now: () => number;

  constructor(config: AbuseLimitsConfig, opts: { log?: Logger; now?: () => number } = {}) {
    this.exempt = parseAddressList(config.exemptAddresses);
    this.now = opts.now ?? Date.now;
    const log = opts.log?.child({ component: "limits" });
    this.auth = new AuthFailureLimiter({
      perAccount: config.authFailuresPerAccount,
      perAddress: config.authFailuresPerAddress,
      windowMs: config.authFailureWindowSeconds * 1000,
      exempt: this.exempt,
      now: this.now,
      log,
    });
    this.connections = new ConnectionLimiter({ max: config.maxConnectionsPerAddress, exempt: this.exempt, log });
    this.bytesPerSecond = config.c2sBytesPerSecond;
    this.burstBytes = config.c2sBurstBytes;
  }

  /** C2sStreamHost.authGuard: refuses before the password is checked. */
  readonly authGuard = (username: string | undefined, remoteAddress: string): { allowed: boolean; text?: string } => {
    const v = this.auth.check(remoteAddress, username);
    return v.allowed ? v : { allowed: false, text: v.text };
  };

  /** C2sStreamHost.inboundShaper: a byte bucket for a new stream, or undefined (exempt, or unlimited). */
  readonly inboundShaper = (remoteAddress: string): TokenBucket | undefined => {
    if (this.bytesPerSecond === 0 || this.exempt.matches(remoteAddress)) return undefined;
    return new TokenBucket(this.bytesPerSecond, this.burstBytes, this.now());
  };

  /** Counts failures and successes from the stream events. Returns the unsubscriber. */
  attach(hooks: HookBus): () => void {
    const offFailed = hooks.on(StreamEvents.authFailed, (e) => this.auth.failed(e.remoteAddress, e.username, e.condition), Priority.Policy, "limits");
    const offOk = hooks.on(StreamEvents.authenticated, (e) => this.auth.succeeded(e.remoteAddress, e.username), Priority.Policy, "limits");
    return () => {
      offFailed();
      offOk();
    };
  }
}
