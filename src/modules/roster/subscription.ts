// The presence subscription state machine of RFC 6121 (§3 and Appendix A), as pure functions.
// A state is the roster item's subscription plus "pending out" (askOut) and "pending in"
// (a stored inbound request), plus the pre-approval flag.

import type { Subscription } from "./store/types.ts";

export interface SubState {
  subscription: Subscription;
  askOut: boolean;
  pendingIn: boolean;
  approved: boolean;
}

export const NO_STATE: SubState = Object.freeze({ subscription: "none", askOut: false, pendingIn: false, approved: false });

export type SubscriptionType = "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed";

export interface Transition {
  next: SubState;
  /** Outbound: route the stanza to the contact. Inbound: deliver it to the user. */
  forward: boolean;
  /** Inbound subscribe that was pre-approved or already granted: answer "subscribed" for the user. */
  autoReplySubscribed?: boolean;
  /** The user now shares presence with the contact: send the user's current presence (A.2.2). */
  sendPresence?: boolean;
  /** The contact lost access to the user's presence: send unavailable from the user's resources. */
  sendUnavailable?: boolean;
}

const hasTo = (s: Subscription) => s === "to" || s === "both";
const hasFrom = (s: Subscription) => s === "from" || s === "both";
const withTo = (s: Subscription): Subscription => (s === "from" || s === "both" ? "both" : "to");
const withFrom = (s: Subscription): Subscription => (s === "to" || s === "both" ? "both" : "from");
const withoutTo = (s: Subscription): Subscription => (s === "both" ? "from" : s === "to" ? "none" : s);
const withoutFrom = (s: Subscription): Subscription => (s === "both" ? "to" : s === "from" ? "none" : s);

function same(a: SubState, b: SubState): boolean {
  return a.subscription === b.subscription && a.askOut === b.askOut && a.pendingIn === b.pendingIn && a.approved === b.approved;
}

/** The user sends a subscription stanza to the contact (RFC 6121 Appendix A.2). */
export function outbound(type: SubscriptionType, s: SubState): Transition {
  switch (type) {
    case "subscribe": {
      // A.2.1: pending out unless we already have a subscription; always routed so the
      // contact's server can answer (it auto-replies when access was granted already).
      const next = hasTo(s.subscription) ? s : { ...s, askOut: true };
      return { next, forward: true };
    }
    case "subscribed": {
      // A.2.2: approving a pending request grants "from"; without one it is a pre-approval.
      if (hasFrom(s.subscription)) return { next: s, forward: false };
      if (s.pendingIn) {
        return { next: { ...s, subscription: withFrom(s.subscription), pendingIn: false, approved: false }, forward: true, sendPresence: true };
      }
      return { next: { ...s, approved: true }, forward: false };
    }
    case "unsubscribe": {
      // A.2.3: cancel our subscription (or our pending request). Always routed.
      const next = { ...s, subscription: withoutTo(s.subscription), askOut: false };
      return { next, forward: true };
    }
    case "unsubscribed": {
      // A.2.4: cancel the contact's subscription, refuse a pending request, or drop a pre-approval.
      const next = { ...s, subscription: withoutFrom(s.subscription), pendingIn: false, approved: false };
      const changed = hasFrom(s.subscription) || s.pendingIn;
      return { next, forward: changed, sendUnavailable: hasFrom(s.subscription) };
    }
  }
}

/** A subscription stanza from the contact arrives for the user (RFC 6121 Appendix A.3). */
export function inbound(type: SubscriptionType, s: SubState): Transition {
  switch (type) {
    case "subscribe": {
      // A.3.1: already granted → auto-reply; pre-approved → grant and auto-reply; else store.
      if (hasFrom(s.subscription)) return { next: s, forward: false, autoReplySubscribed: true };
      if (s.approved) {
        return { next: { ...s, subscription: withFrom(s.subscription), approved: false, pendingIn: false }, forward: false, autoReplySubscribed: true, sendPresence: true };
      }
      if (s.pendingIn) return { next: s, forward: false };
      return { next: { ...s, pendingIn: true }, forward: true };
    }
    case "subscribed": {
      // A.3.2: only meaningful when we asked.
      if (!s.askOut || hasTo(s.subscription)) return { next: { ...s, askOut: false }, forward: false };
      return { next: { ...s, subscription: withTo(s.subscription), askOut: false }, forward: true };
    }
    case "unsubscribe": {
      // A.3.3: the contact no longer wants our presence.
      const next = { ...s, subscription: withoutFrom(s.subscription), pendingIn: false };
      return { next, forward: !same(s, next), sendUnavailable: hasFrom(s.subscription) };
    }
    case "unsubscribed": {
      // A.3.4: our subscription (or request) was cancelled or refused.
      const next = { ...s, subscription: withoutTo(s.subscription), askOut: false };
      return { next, forward: !same(s, next) };
    }
  }
}
