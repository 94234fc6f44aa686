// The XEP-0352 hold-back queue of one inactive session, independent of streams and hooks so it
// can be tested alone. While the client is inactive:
//  - presence updates (available/unavailable) are held, only the latest per sender full JID;
//  - standalone chat states (XEP-0085, also inside carbon copies) are held, only the latest
//    per conversation;
//  - anything else is important (a message with a body or another payload, an IQ, a
//    subscription request, an error …): the held queue is flushed first, in order, and the
//    important stanza follows it, so the client never sees stanzas out of order.
// The queue is bounded; when full it is flushed.
import type { Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

export const DEFAULT_MAX_HELD = 1000;

/** "important", or the key under which a newer stanza replaces an older held one. */
export type Classification = { important: true } | { important: false; key: string };

const IMPORTANT: Classification = Object.freeze({ important: true });

export function classify(stanza: Element): Classification {
  if (stanza.name === "presence") return classifyPresence(stanza);
  if (stanza.name === "message") {
    const key = chatStateKey(stanza);
    return key === undefined ? IMPORTANT : { important: false, key };
  }
  return IMPORTANT;
}

function classifyPresence(stanza: Element): Classification {
  const type = stanza.attrs.type;
  if (type !== undefined && type !== "unavailable") return IMPORTANT; // subscriptions, errors, probes
  // MUC self-presence (status 110) completes a join the client is waiting for.
  const muc = stanza.getChild("x", NS.MUC_USER);
  if (muc && muc.getChildren("status").some((s) => s.attrs.code === "110")) return IMPORTANT;
  return { important: false, key: "p " + (stanza.attrs.from ?? "") };
}

/**
 * The conversation key of a message that only carries a chat state (plus a thread or
 * processing hints), or undefined when the message matters now. A carbon copy is judged by
 * the message it wraps.
 */
function chatStateKey(msg: Element): string | undefined {
  const type = msg.attrs.type;
  if (type === "error" || type === "groupchat") return undefined;
  let state = false;
  for (const c of msg.children) {
    if (typeof c === "string") continue;
    const ns = c.attrs.xmlns;
    if (ns === NS.CHATSTATES) {
      state = true;
      continue;
    }
    if (ns === NS.HINTS) continue;
    if (c.name === "thread" && (ns === undefined || ns === NS.CLIENT)) continue;
    if (ns === NS.CARBONS && (c.name === "sent" || c.name === "received")) {
      const inner = c.getChild("forwarded", NS.FORWARD)?.getChild("message");
      if (!inner) return undefined;
      const innerKey = chatStateKey(inner);
      return innerKey === undefined ? undefined : `c ${c.name} ${innerKey}`;
    }
    return undefined;
  }
  if (!state) return undefined;
  return `m ${msg.attrs.from ?? ""} ${msg.attrs.to ?? ""}`;
}

export class CsiBuffer {
  /** Held stanzas in arrival order; a replaced one leaves a hole (undefined). */
  private held: Array<Element | undefined> = [];
  private readonly index = new Map<string, number>();
  private live = 0;
  private readonly emit: (stanza: Element) => void;
  private readonly maxHeld: number;

  /** `emit` writes a stanza to the client (called for held stanzas when they are flushed). */
  constructor(emit: (stanza: Element) => void, maxHeld = DEFAULT_MAX_HELD) {
    this.emit = emit;
    this.maxHeld = maxHeld;
  }

  get size(): number {
    return this.live;
  }

  /**
   * Offers an outgoing stanza. Returns null when it is held, or the stanza itself (to be sent
   * now) after the held queue has been flushed ahead of it.
   */
  offer(stanza: Element): Element | null {
    const c = classify(stanza);
    if (c.important) {
      this.flush();
      return stanza;
    }
    const prev = this.index.get(c.key);
    if (prev !== undefined) {
      this.held[prev] = undefined;
      this.live--;
    }
    this.index.set(c.key, this.held.length);
    this.held.push(stanza);
    this.live++;
    if (this.live > this.maxHeld) {
      this.flush();
    } else if (this.held.length > 2 * this.maxHeld) {
      this.compact();
    }
    return null;
  }

  /** Sends everything held, oldest first, and empties the queue. */
  flush(): void {
    if (this.live === 0) {
      this.held.length = 0;
      return;
    }
    const out = this.held;
    this.held = [];
    this.index.clear();
    this.live = 0;
    for (const s of out) if (s !== undefined) this.emit(s);
  }

  /** Forgets everything held (the session ended: held presence is stale by then). */
  discard(): number {
    const n = this.live;
    this.held = [];
    this.index.clear();
    this.live = 0;
    return n;
  }

  private compact(): void {
    const kept: Element[] = [];
    for (const s of this.held) if (s !== undefined) kept.push(s);
    this.held = kept;
    this.index.clear();
    for (let i = 0; i < kept.length; i++) {
      const c = classify(kept[i]);
      if (!c.important) this.index.set(c.key, i);
    }
  }
}
