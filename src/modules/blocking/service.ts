// BlockingService: XEP-0191 blocklists for other modules (enterprise presence, the admin API).
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Jid } from "../../jid/jid.ts";

export interface BlockingService {
  /**
   * Whether `owner`'s blocklist matches `jid` (XEP-0191 JID matching: the full JID, the bare
   * JID, domain/resource or the domain). A user never blocks their own resources. Answers
   * synchronously (a few Set lookups) when the owner's list is in memory — always for online
   * users — and with a promise otherwise; `await` works in both cases.
   */
  isBlocked(owner: string, jid: string | Jid): boolean | Promise<boolean>;
  /** The blocked JIDs, oldest block first. */
  list(owner: string): Promise<string[]>;
  /**
   * Blocks JIDs (prepared, see Jid.parse) with every effect of the blocking command: pushes to
   * the owner's resources, unavailable presence to the blocked contacts. Returns the newly
   * blocked ones. Rejects with a StanzaError for malformed JIDs or a full list.
   */
  block(owner: string, jids: readonly string[]): Promise<string[]>;
  /** Unblocks JIDs (all of them when `jids` is undefined); returns the ones that were blocked. */
  unblock(owner: string, jids?: readonly string[]): Promise<string[]>;
}

export const BlockingServiceToken = defineService<BlockingService>("BlockingService");

export const BlockingEvents = Object.freeze({
  /** A blocklist changed (after the store write, the pushes and the presence effects); not fired for no-op requests. */
  changed: defineNotifyEvent<{ owner: string; blocked: readonly string[]; unblocked: readonly string[] }>("blocking/changed"),
});
