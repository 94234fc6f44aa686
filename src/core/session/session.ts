// A bound client session (one resource of one account). The stream machine owns the
// connection; the session is what the rest of the server addresses and delivers to.
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";

/** Per-session outbound filter: may rewrite the stanza or return null to hold it back. */
export type OutFilter = (stanza: Element, session: Session) => Element | null;

export interface SessionSink {
  /** Writes one serialized stanza to the client. */
  write(data: string): void;
  /** Ends the stream (with a stream error condition when given). */
  close(condition?: string, text?: string): void;
  readonly transportKind: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  /**
   * When the client last sent anything (ms since epoch), for dead-peer detection (XEP-0199);
   * undefined when unknown, e.g. while a XEP-0198 session waits for its client to resume.
   */
  readonly lastReceived?: number;
}

let nextSessionId = 1;

export class Session {
  readonly id: string;
  readonly jid: Jid;
  readonly bareJid: Jid;
  readonly bare: string;
  readonly full: string;
  readonly username: string;
  private sink: SessionSink;
  readonly startedAt = Date.now();

  /** Last available presence this resource broadcast (undefined = not available). */
  presence: Element | undefined = undefined;
  /** Presence priority from the last broadcast presence (RFC 6121 §4.7.2.3). */
  priority = 0;
  /** True once the client has requested the roster (an "interested resource", RFC 6121 §2.1.6). */
  interested = false;
  /** Full/bare JIDs that received directed presence from this session (RFC 6121 §4.6). */
  get directedTo(): Set<string> {
    // Created on first use: most sessions never send directed presence, and an empty Set
    // costs ~150 bytes per idle connection.
    return (this.directed ??= new Set<string>());
  }
  private directed: Set<string> | undefined = undefined;
  /** Set when the session is being torn down; nothing more is delivered. */
  closing = false;

  private readonly outFilters: Array<{ priority: number; fn: OutFilter }> = [];

  constructor(jid: Jid, sink: SessionSink) {
    this.id = "s" + (nextSessionId++).toString(36);
    this.jid = jid;
    this.bareJid = jid.bare;
    this.bare = jid.bareString;
    this.full = jid.toString();
    this.username = jid.local;
    this.sink = sink;
  }

  get transportKind(): string {
    return this.sink.transportKind;
  }
  get secure(): boolean {
    return this.sink.secure;
  }
  get remoteAddress(): string {
    return this.sink.remoteAddress;
  }
  /** When the client last sent anything (see SessionSink.lastReceived). */
  get lastReceived(): number | undefined {
    return this.sink.lastReceived;
  }
  /** Available with non-negative priority: eligible for messages to the bare JID. */
  get availableForBare(): boolean {
    return this.presence !== undefined && this.priority >= 0;
  }

  addOutFilter(fn: OutFilter, priority = 0): () => void {
    const entry = { priority, fn };
    this.outFilters.push(entry);
    this.outFilters.sort((a, b) => b.priority - a.priority);
    return () => {
      const i = this.outFilters.indexOf(entry);
      if (i >= 0) this.outFilters.splice(i, 1);
    };
  }

  /** Delivers a stanza to this client, through the session's outbound filters. */
  send(stanza: Element): void {
    if (this.closing) return;
    let s: Element | null = stanza;
    for (let i = 0; i < this.outFilters.length && s; i++) s = this.outFilters[i].fn(s, this);
    if (s) this.sink.write(s.toString());
  }

  /**
   * Writes already-serialized bytes (shared fan-out bytes). Filters need an element: it is
   * built (lazily, when given as a function) only for sessions that have filters.
   */
  sendRaw(serialized: string, stanza: Element | (() => Element)): void {
    if (this.closing) return;
    if (this.outFilters.length === 0) this.sink.write(serialized);
    else this.send(typeof stanza === "function" ? stanza() : stanza);
  }

  close(condition?: string, text?: string): void {
    this.sink.close(condition, text);
  }

  /** Where this session's stanzas go now. */
  get currentSink(): SessionSink {
    return this.sink;
  }

  /**
   * Moves the session to another sink (XEP-0198: a counting/queueing wrapper, which in turn
   * follows the session from a lost stream to the resumed one). Returns the previous sink.
   */
  attach(sink: SessionSink): SessionSink {
    const prev = this.sink;
    this.sink = sink;
    return prev;
  }
}
