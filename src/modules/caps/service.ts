// CapsService: what each connected client supports, learned from its XEP-0115 presence
// annotation and verified by the server (for PEP +notify filtering and the like).
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Jid } from "../../jid/jid.ts";
import type { Session } from "../../core/session/session.ts";
import type { CapsIdentity } from "./verification.ts";

export interface CapsService {
  /** The features of a local client (full JID), or undefined while they are not known. */
  features(fullJid: Jid | string): ReadonlySet<string> | undefined;
  /** True when the client's verified features include `ns` (false when unknown). */
  hasFeature(fullJid: Jid | string, ns: string): boolean;
  /** Its disco identities (undefined while unknown). */
  identities(fullJid: Jid | string): readonly CapsIdentity[] | undefined;
}

export const CapsServiceToken = defineService<CapsService>("CapsService");

export interface CapsKnownEvent {
  session: Session;
  node: string;
  ver: string;
  hash: string;
  features: ReadonlySet<string>;
}

export const CapsEvents = Object.freeze({
  /** A session's capabilities became known or changed (verified or, for unknown hash functions, as the client said). */
  known: defineNotifyEvent<CapsKnownEvent>("caps/known"),
});
