// Which messages are copied to a user's other resources (XEP-0280 §6, version 1.0), and how a
// copy is wrapped (XEP-0280 §7–8 with XEP-0297 forwarding). Pure functions, unit-tested.
import { Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

export type CarbonDirection = "sent" | "received";

/** XEP-0280 §9 <private/> or the XEP-0334 <no-copy/> hint: the sender asked for no copies. */
export function isPrivate(stanza: Element): boolean {
  for (const c of stanza.children) {
    if (typeof c === "string") continue;
    const ns = c.attrs.xmlns;
    if ((c.name === "private" && ns === NS.CARBONS) || (c.name === "no-copy" && ns === NS.HINTS)) return true;
  }
  return false;
}

/** True when the message is itself a carbon copy (<sent/> or <received/> wrapper). */
export function isCarbon(stanza: Element): boolean {
  for (const c of stanza.children) {
    if (typeof c !== "string" && c.attrs.xmlns === NS.CARBONS && (c.name === "sent" || c.name === "received")) return true;
  }
  return false;
}

/** Payloads that make a message part of an IM conversation even without a body (§6). */
const IM_PAYLOAD_NS = new Set<string>([NS.CHATSTATES, NS.RECEIPTS, NS.CHAT_MARKERS]);

/**
 * XEP-0280 §6: a message is eligible unless it carries <private/> (or <no-copy/>), and when
 *  - it is of type "chat", or "normal" with a <body>;
 *  - it carries IM payloads: chat states (XEP-0085), receipts (XEP-0184), markers (XEP-0333);
 *  - it is a MUC invitation (XEP-0249 direct, or XEP-0045 mediated);
 * never when it is of type "groupchat", nor a message received from a MUC (private messages
 * from occupants carry <x xmlns='…muc#user'/> and reach every joined client already), nor
 * already a carbon. Errors are not copied: §6 allows it only for errors answering an eligible
 * message, which would need per-message tracking.
 */
export function isCarbonEligible(stanza: Element, direction: CarbonDirection): boolean {
  if (stanza.name !== "message") return false;
  const type = stanza.attrs.type ?? "normal";
  if (type === "groupchat" || type === "error") return false;
  let body = false;
  let imPayload = false;
  let mucUser: Element | undefined;
  let directInvite = false;
  for (const c of stanza.children) {
    if (typeof c === "string") continue;
    const ns = c.attrs.xmlns;
    if (ns === undefined || ns === NS.CLIENT) {
      if (c.name === "body") body = true;
      continue;
    }
    if (ns === NS.CARBONS) {
      if (c.name === "private" || c.name === "sent" || c.name === "received") return false;
      continue;
    }
    if (ns === NS.HINTS && c.name === "no-copy") return false;
    if (ns === NS.MUC_USER && c.name === "x") mucUser = c;
    else if (ns === NS.CONFERENCE && c.name === "x") directInvite = true;
    else if (IM_PAYLOAD_NS.has(ns)) imPayload = true;
  }
  if (directInvite) return true;
  if (mucUser) {
    if (mucUser.getChild("invite") !== undefined) return true; // mediated invitation
    // From a room (groupchat PM, room notices): the service replicates it itself. A PM the
    // user sends to an occupant is copied (the occupant's full JID is the 'to').
    if (direction === "received") return false;
  }
  if (type === "chat") return true;
  if (type === "normal" && body) return true;
  return imPayload;
}

/**
 * The forwarded copy for one resource: `<message from=bare to=full type=…><sent|received
 * xmlns=carbons><forwarded xmlns=forward:0><message xmlns='jabber:client' …/>`. `inner` is the
 * original prepared once with prepareForwarded (shared by every copy; never mutated).
 */
export function wrapCarbon(kind: CarbonDirection, inner: Element, ownerBare: string, toFull: string): Element {
  const attrs: Record<string, string> = { from: ownerBare, to: toFull };
  const type = inner.attrs.type;
  if (type !== undefined) attrs.type = type;
  const forwarded = new Element("forwarded", { xmlns: NS.FORWARD }, [inner]);
  return new Element("message", attrs, [new Element(kind, { xmlns: NS.CARBONS }, [forwarded])]);
}

/** A copy of the original that declares jabber:client (inside <forwarded/> it would not inherit it). */
export function prepareForwarded(original: Element): Element {
  const copy = original.clone();
  copy.attrs = { xmlns: NS.CLIENT, ...copy.attrs };
  copy.attrs.xmlns = NS.CLIENT;
  return copy;
}
