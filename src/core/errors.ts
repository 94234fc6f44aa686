// Stanza and stream errors (RFC 6120 §8.3 and §4.9). Handlers throw StanzaError; the router
// turns it into an error reply. Stream errors end the whole stream.
import { Element, x } from "../xml/element.ts";
import { NS } from "../protocol/ns.ts";

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

export type StanzaErrorCondition =
  | "bad-request" | "conflict" | "feature-not-implemented" | "forbidden" | "gone"
  | "internal-server-error" | "item-not-found" | "jid-malformed" | "not-acceptable"
  | "not-allowed" | "not-authorized" | "policy-violation" | "recipient-unavailable"
  | "redirect" | "registration-required" | "remote-server-not-found"
  | "remote-server-timeout" | "resource-constraint" | "service-unavailable"
  | "subscription-required" | "undefined-condition" | "unexpected-request";

// Default error types from RFC 6120 §8.3.3.
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  "bad-request": "modify", conflict: "cancel", "feature-not-implemented": "cancel",
  forbidden: "auth", gone: "cancel", "internal-server-error": "cancel",
  "item-not-found": "cancel", "jid-malformed": "modify", "not-acceptable": "modify",
  "not-allowed": "cancel", "not-authorized": "auth", "policy-violation": "modify",
  "recipient-unavailable": "wait", redirect: "modify", "registration-required": "auth",
  "remote-server-not-found": "cancel", "remote-server-timeout": "wait",
  "resource-constraint": "wait", "service-unavailable": "cancel",
  "subscription-required": "auth", "undefined-condition": "cancel", "unexpected-request": "wait",
};

export class StanzaError extends Error {
  readonly condition: StanzaErrorCondition;
  readonly type: StanzaErrorType;
  readonly text: string | undefined;
  /** Extra application-specific condition elements (e.g. XEP-0191 <blocked/>). */
  readonly extra: Element[];

  constructor(condition: StanzaErrorCondition, text?: string, opts?: { type?: StanzaErrorType; extra?: Element[] }) {
    super(text ? `${condition}: ${text}` : condition);
    this.condition = condition;
    this.type = opts?.type ?? DEFAULT_TYPE[condition];
    this.text = text;
    this.extra = opts?.extra ?? [];
  }

  toElement(by?: string): Element {
    return x(
      "error",
      by ? { type: this.type, by } : { type: this.type },
      x(this.condition, { xmlns: NS.STANZA_ERRORS }),
      this.text ? x("text", { xmlns: NS.STANZA_ERRORS, "xml:lang": "en" }, this.text) : null,
      ...this.extra,
    );
  }
}

/**
 * Builds the error reply to a stanza: addresses swapped, type="error", the original payload
 * kept (RFC 6120 §8.3.1 allows it and clients use it to match the failure).
 */
export function errorReply(stanza: Element, err: StanzaError): Element {
  const reply = new Element(stanza.name, { type: "error" });
  if (stanza.attrs.id !== undefined) reply.attrs.id = stanza.attrs.id;
  if (stanza.attrs.from !== undefined) reply.attrs.to = stanza.attrs.from;
  if (stanza.attrs.to !== undefined) reply.attrs.from = stanza.attrs.to;
  if (stanza.name !== "iq") for (const c of stanza.children) if (typeof c !== "string") reply.children.push(c);
  reply.children.push(err.toElement());
  return reply;
}

export type StreamErrorCondition =
  | "bad-format" | "bad-namespace-prefix" | "conflict" | "connection-timeout" | "host-gone"
  | "host-unknown" | "improper-addressing" | "internal-server-error" | "invalid-from"
  | "invalid-namespace" | "invalid-xml" | "not-authorized" | "not-well-formed"
  | "policy-violation" | "remote-connection-failed" | "reset" | "resource-constraint"
  | "restricted-xml" | "see-other-host" | "system-shutdown" | "undefined-condition"
  | "unsupported-encoding" | "unsupported-feature" | "unsupported-stanza-type"
  | "unsupported-version";

export class StreamError extends Error {
  readonly condition: StreamErrorCondition;
  readonly text: string | undefined;
  constructor(condition: StreamErrorCondition, text?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.condition = condition;
    this.text = text;
  }
  toElement(): Element {
    return x(
      "stream:error",
      null,
      x(this.condition, { xmlns: NS.STREAM_ERRORS }),
      this.text ? x("text", { xmlns: NS.STREAM_ERRORS, "xml:lang": "en" }, this.text) : null,
    );
  }
}
