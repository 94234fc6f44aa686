// Presence events other modules react to.
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Session } from "../../core/session/session.ts";

export const PresenceEvents = Object.freeze({
  /** A session sent its initial available presence (offline messages, pending requests follow). */
  initial: defineNotifyEvent<Session>("presence/initial"),
  /** A session became unavailable (explicitly or by disconnecting). */
  unavailable: defineNotifyEvent<Session>("presence/unavailable"),
});
