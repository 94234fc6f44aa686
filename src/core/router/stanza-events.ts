// Routing events derived from each stanza (see docs/routing.md).
// The outbound phase ("pre") runs for stanzas sent by a local client session before delivery;
// the delivery phase runs for every stanza addressed to this server or one of its users.
import { defineHandleEvent, defineNotifyEvent, type HandleEvent } from "../hooks/hooks.ts";
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";
import type { Session } from "../session/session.ts";

export type StanzaKind = "message" | "presence" | "iq";
/**
 * bare: to a local account's bare JID; full: to a local full JID; host: to the server domain;
 * broadcast: presence without 'to' from a client (its availability broadcast).
 */
export type Target = "bare" | "full" | "host";

export interface StanzaPayload {
  stanza: Element;
  /** The local client session that sent it, when it came from one. */
  origin: Session | undefined;
  from: Jid;
  /** Parsed 'to'. For messages/IQs without 'to' from a client this is the sender's bare JID. */
  to: Jid;
}

export interface BroadcastPayload {
  stanza: Element;
  origin: Session;
  from: Jid;
}

function kinds<T>(make: (kind: StanzaKind, target: Target) => T): Record<StanzaKind, Record<Target, T>> {
  const out = {} as Record<StanzaKind, Record<Target, T>>;
  for (const k of ["message", "presence", "iq"] as const) {
    out[k] = { bare: make(k, "bare"), full: make(k, "full"), host: make(k, "host") };
  }
  return out;
}

export const StanzaEvents = Object.freeze({
  /** Outbound phase: `pre-<kind>/<target>`. Handled → no delivery phase. */
  pre: kinds((k, t) => defineHandleEvent<StanzaPayload>(`pre-${k}/${t}`)),
  /** Presence from a client without 'to': availability broadcast (RFC 6121 §4.2, §4.4). */
  preBroadcast: defineHandleEvent<BroadcastPayload>("pre-presence/broadcast"),
  /** Delivery phase: `<kind>/<target>`. */
  deliver: kinds((k, t) => defineHandleEvent<StanzaPayload>(`${k}/${t}`)),
  /** Stanza for another domain (federation). */
  routeRemote: defineHandleEvent<StanzaPayload>("route/remote"),
  /** Observes every stanza a client sends, after stamping, before routing. */
  clientSent: defineNotifyEvent<StanzaPayload>("stanza/client-sent"),
});

export type IqTarget = "self" | "bare" | "full" | "host";
const iqEvents = new Map<string, HandleEvent<StanzaPayload>>();

/**
 * `iq-<type>/<target>/<ns>:<name>` for get/set IQs with one payload element. "self" is an IQ a
 * user sends to their own bare JID (or without 'to'), processed by the server for the account.
 */
export function iqEvent(type: "get" | "set", target: IqTarget, ns: string, name: string): HandleEvent<StanzaPayload> {
  const key = `iq-${type}/${target}/${ns}:${name}`;
  let ev = iqEvents.get(key);
  if (!ev) {
    ev = defineHandleEvent<StanzaPayload>(key);
    iqEvents.set(key, ev);
  }
  return ev;
}
