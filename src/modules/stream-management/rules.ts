// What becomes of a stanza still unacknowledged when a stream-managed session finally ends
// (XEP-0198 §4: "treat unacknowledged stanzas in the same way that it would treat a stanza
// sent to an unavailable resource, by either returning an error to the sender or committing
// the stanza to offline storage").
import { parseElement } from "../../xml/parse-element.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

/**
 * - "route": routed again to the address it was sent to, now that the session is gone: the
 *   RFC 6121 §8.5 rules then apply (a message to the full JID is treated as to the bare JID:
 *   another resource takes it, else offline storage for chat/normal with content; groupchat
 *   bounces; headline is dropped).
 * - "bounce": an IQ request; its sender gets service-unavailable (RFC 6121 §8.5.3.1: an IQ to
 *   a resource that is not available), as if the resource had gone before it arrived.
 * - "drop": presence (state the server keeps: roster subscriptions are re-sent at next login,
 *   availability is current when the client comes back), IQ results and errors, message
 *   errors, and copies whose original lives elsewhere (XEP-0280 carbons, XEP-0313 results).
 */
export type Disposition = "route" | "bounce" | "drop";

export function disposition(stanza: Element): Disposition {
  const type = stanza.attrs.type;
  switch (stanza.name) {
    case "iq":
      return type === "get" || type === "set" ? "bounce" : "drop";
    case "message":
      if (type === "error") return "drop";
      for (const c of stanza.children) {
        if (typeof c === "string") continue;
        if (c.attrs.xmlns === NS.CARBONS && (c.name === "sent" || c.name === "received")) return "drop";
        if (c.attrs.xmlns === NS.MAM && c.name === "result") return "drop";
      }
      return "route";
    default:
      return "drop";
  }
}

/**
 * Adds the XEP-0203 delay this server would add, stamped with when the stanza was first
 * written to the client (the original, failed delivery), unless the server already stamped it
 * (e.g. a message that came out of offline storage keeps its first stamp).
 */
export function stampDelay(stanza: Element, domain: string, at: number): void {
  for (const c of stanza.children) {
    if (typeof c !== "string" && c.name === "delay" && c.attrs.xmlns === NS.DELAY && c.attrs.from === domain) return;
  }
  stanza.children.push(x("delay", { xmlns: NS.DELAY, from: domain, stamp: new Date(at).toISOString() }));
}

/** One stanza the server itself serialized back into an element. */
export const parseStanza = (xml: string): Element => parseElement(xml);
