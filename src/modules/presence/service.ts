// Presence events other modules react to.
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Session } from "../../core/session/session.ts";
import type { PresenceState } from "../enterprise-presence/index.ts";

export type { PresenceState };

export const PresenceEvents = Object.freeze({
  /** A session sent its initial available presence (offline messages, pending requests follow). */
  initial: defineNotifyEvent<Session>("presence/initial"),
  /** A session became unavailable (explicitly or by disconnecting). */
  unavailable: defineNotifyEvent<Session>("presence/unavailable"),
  /**
   * A user's aggregated presence (docs/presence.md) changed in a way watchers can see: a device
   * came or went, the user chose a status, an idle timer or the calendar moved it on. Fired by
   * the enterprise presence engine; the presence module broadcasts it (REST, the badge … may
   * listen too). `previous` is the state before.
   */
  changed: defineNotifyEvent<{ user: string; state: PresenceState; previous: PresenceState }>("presence/changed"),
  /**
   * Send `owner`'s current presence to `to` (a bare or full JID), rendered for the level `to`
   * has now — e.g. after an unblock or a privacy level change. The presence module acts on it.
   */
  resend: defineNotifyEvent<{ owner: string; to: string }>("presence/resend"),
});
