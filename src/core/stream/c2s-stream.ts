// The transport-agnostic client-to-server stream machine (RFC 6120 §4-§7):
// stream header → [STARTTLS → restart] → SASL → restart → bind → stanzas.
// TCP, direct TLS and WebSocket all feed bytes into the same machine.
import { randomToken } from "../random.ts";
import { Element, x, openTag } from "../../xml/element.ts";
import { StreamParser, XmlStreamError, type StreamParserEvents } from "../../xml/stream-parser.ts";
import { Jid, JidError, prepResource } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import type { IdentityCheck, SaslMechanism, SaslStep } from "../sasl/index.ts";
import { StreamError, StanzaError, errorReply, type StreamErrorCondition } from "../errors.ts";
import { Session, type SessionSink } from "../session/session.ts";
import type { SessionRegistry } from "../session/registry.ts";
import type { Router } from "../router/router.ts";
import type { HookBus } from "../hooks/hooks.ts";
import { DROP } from "../hooks/hooks.ts";
import type { Logger } from "../log/logger.ts";
import { StreamEvents, SessionEvents } from "./stream-events.ts";
import { SerialQueue, type SerialWorker } from "./serial-queue.ts";
import type { StanzaCounters } from "../metrics/stanza-counters.ts";

export interface StreamTransport {
  readonly kind: "tcp" | "tls" | "websocket";
  readonly remoteAddress: string;
  readonly secure: boolean;
  /** True when STARTTLS can be offered (plain TCP with a TLS context available). */
  readonly canStartTls: boolean;
  readonly framing: "stream" | "websocket";
  write(data: string): void;
  /** Upgrades the connection in place after <proceed/> was written. */
  startTls(): Promise<void>;
  /** Closes the connection after flushing what was written. */
  close(): void;
  pause(): void;
  resume(): void;
}

export interface SaslProvider {
  /** Mechanism names offered on a stream in this state, in preference order. */
  offered(secure: boolean): string[];
  /** `attempt.checkIdentity` must reach the mechanism's options (abuse limits, see C2sStreamHost.authGuard). */
  create(name: string, attempt?: { checkIdentity?: IdentityCheck }): SaslMechanism | undefined;
}

/** Inbound byte shaper of one stream (src/core/limits/token-bucket.ts). */
export interface InboundShaper {
  /** Spends `bytes` received; returns the milliseconds to stop reading (0 = none). */
  take(bytes: number, now: number): number;
  /** Milliseconds still to wait (0 = reading may resume). */
  delay(now: number): number;
}

export interface C2sStreamHost {
  readonly domain: string;
  readonly requireTls: boolean;
  readonly maxStanzaBytes: number;
  readonly maxDepth: number;
  readonly sasl: SaslProvider;
  readonly sessions: SessionRegistry;
  readonly router: Router;
  readonly hooks: HookBus;
  readonly log: Logger;
  /** Max resources one account may bind at once. */
  readonly maxResourcesPerAccount: number;
  /** Stanza counters for metrics (plain field increments; read only when scraped). */
  readonly stats?: StanzaCounters;
  /**
   * Abuse limits (src/core/limits/): asked when <auth/> arrives (username undefined) and again
   * as soon as the mechanism has read the claimed identity, before any credential is looked up
   * or password checked. A refusal fails the attempt with temporary-auth-failure and `text`.
   */
  readonly authGuard?: (username: string | undefined, remoteAddress: string) => { allowed: boolean; text?: string };
  /** Abuse limits: the inbound byte shaper for a new stream from this address (undefined = none). */
  readonly inboundShaper?: (remoteAddress: string) => InboundShaper | undefined;
}

type Stage = "header" | "pre-tls" | "tls-upgrading" | "pre-auth" | "sasl" | "pre-bind" | "bound" | "detached" | "closed";

const MAX_AUTH_ATTEMPTS = 5;
// Inbound work queued beyond this pauses reading from the socket (backpressure).
const QUEUE_HIGH_WATER = 256;

const STREAM_HEADER_PREFIX = "<?xml version='1.0'?>";
// A connection quiet this long has its parser's scratch arrays shrunk (~600 bytes each).
const COMPACT_AFTER_MS = 3000;

export class C2sStream implements SessionSink {
  readonly id = randomToken(12, "base64url");
  private readonly host: C2sStreamHost;
  private readonly transport: StreamTransport;
  private readonly parser: StreamParser;
  private readonly queue: SerialQueue<Element | "restart" | "end">;
  private stage: Stage = "header";
  private headerSent = false;
  private authenticated = false;
  private username: string | undefined;
  private mechanism: SaslMechanism | undefined;
  private authFailures = 0;
  private paused = false;
  /** Reasons reading is paused (queue backpressure, rate shaping); the socket resumes at 0. */
  private holds = 0;
  private readonly shaper: InboundShaper | undefined;
  private shapeTimer: NodeJS.Timeout | undefined;
  session: Session | undefined;
  lastReceived = Date.now();
  lastSent = Date.now();
  readonly openedAt = Date.now();
  /** Stanzas from the client fully processed (XEP-0198 counts these). */
  handledInbound = 0;
  /** When tick() last compacted the parser (idle memory). */
  private compactedAt = 0;
  private closeReason = "transport-closed";

  constructor(host: C2sStreamHost, transport: StreamTransport) {
    this.host = host;
    this.transport = transport;
    this.shaper = host.inboundShaper?.(transport.remoteAddress);
    // One adapter object serves as the parser's event sink and the queue's worker, instead of
    // six closures and an events object: ~370 bytes less per connection.
    const events = new C2sStream.Events(this);
    this.queue = new SerialQueue(events);
    this.parser = new StreamParser(events, { maxStanzaBytes: host.maxStanzaBytes, maxDepth: host.maxDepth, framing: transport.framing });
  }

  /** Parser events and queue work of one stream (nested so it may call the stream's private methods). */
  private static readonly Events = class implements StreamParserEvents, SerialWorker<Element | "restart" | "end"> {
    readonly stream: C2sStream;
    constructor(stream: C2sStream) {
      this.stream = stream;
    }
    streamStart(name: string, attrs: Record<string, string>): void {
      this.stream.enqueue(new Element(name, attrs));
    }
    stanza(el: Element): void {
      this.stream.enqueue(el);
    }
    streamEnd(): void {
      this.stream.enqueue("end");
    }
    error(err: XmlStreamError): void {
      this.stream.streamError(err.condition as StreamErrorCondition, err.message);
    }
    run(item: Element | "restart" | "end"): void | Promise<void> {
      return this.stream.process(item);
    }
    failed(err: unknown): void {
      this.stream.internalError(err);
    }
  };

  // --- SessionSink -----------------------------------------------------------------------
  get transportKind(): string {
    return this.transport.kind;
  }
  get secure(): boolean {
    return this.transport.secure;
  }
  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }
  get isAuthenticated(): boolean {
    return this.authenticated;
  }
  get authenticatedUser(): string | undefined {
    return this.username;
  }
  get isClosed(): boolean {
    return this.stage === "closed";
  }

  write(data: string): void {
    if (this.stage === "closed") return;
    this.lastSent = Date.now();
    if (this.stage === "bound") this.host.stats?.countOut(data);
    this.transport.write(data);
  }

  close(condition?: string, text?: string): void {
    if (condition) this.streamError(condition as StreamErrorCondition, text);
    else this.endStream("server-closed");
  }

  // --- input -----------------------------------------------------------------------------
  receive(chunk: Buffer | string): void {
    if (this.stage === "closed") return;
    this.lastReceived = Date.now();
    this.parser.write(chunk);
    if (this.shaper !== undefined) {
      // Rate shaping: bytes already received are processed; reading pauses until they are paid for.
      const wait = this.shaper.take(typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length, this.lastReceived);
      if (wait > 0 && this.shapeTimer === undefined && (this.stage as Stage) !== "closed") {
        this.hold();
        this.shapeTimer = setTimeout(() => this.shapeWait(), wait);
      }
    }
  }

  /** Rate shaping: resume reading once the byte bucket is out of debt. */
  private shapeWait(): void {
    const wait = this.stage === "closed" ? 0 : this.shaper!.delay(Date.now());
    if (wait > 0) {
      this.shapeTimer = setTimeout(() => this.shapeWait(), wait);
      return;
    }
    this.shapeTimer = undefined;
    this.release();
  }

  private hold(): void {
    if (this.holds++ === 0) this.transport.pause();
  }

  private release(): void {
    if (--this.holds === 0 && this.stage !== "closed") this.transport.resume();
  }

  /** The transport went away (socket closed or errored). */
  transportClosed(): void {
    if (this.stage === "closed") return;
    this.stage = "closed";
    this.cleanup(this.closeReason);
  }

  private enqueue(item: Element | "end"): void {
    this.queue.push(item);
    if (!this.paused && this.queue.length > QUEUE_HIGH_WATER) {
      this.paused = true;
      this.hold();
      this.queue.onDrain(() => {
        this.paused = false;
        this.release();
      });
    }
  }

  private process(item: Element | "restart" | "end"): void | Promise<void> {
    if (this.stage === "closed") return;
    if (item === "end") return this.endStream("client-closed");
    if (item === "restart") return;
    if (this.stage === "header") return this.onStreamHeader(item);
    // RFC 6120 §4.9.1.1: a stream error is unrecoverable; the receiving side closes its stream
    // too instead of answering with a stream error of its own (was: unsupported-stanza-type).
    if (item.name === "stream:error" || (item.name === "error" && item.attrs.xmlns === NS.STREAMS)) {
      this.host.log.debug({ error: item.toString().slice(0, 500), remote: this.remoteAddress }, "client sent a stream error");
      return this.endStream("client-stream-error");
    }
    switch (this.stage) {
      case "pre-tls":
      case "pre-auth":
      case "sasl":
        return this.onPreAuthElement(item);
      case "pre-bind":
        return this.onPreBindElement(item);
      case "bound":
        return this.onStanza(item);
      default:
        return;
    }
  }

  // --- stream header and features ---------------------------------------------------------
  private onStreamHeader(header: Element): void {
    const attrs = header.attrs;
    const websocket = this.transport.framing === "websocket";
    this.sendHeader(attrs.from);
    if (websocket) {
      if (header.name !== "open" || attrs.xmlns !== NS.FRAMING) return this.streamError("invalid-namespace", "expected <open/> in urn:ietf:params:xml:ns:xmpp-framing");
    } else {
      if (header.name !== "stream:stream" || attrs["xmlns:stream"] !== NS.STREAMS) {
        return this.streamError("invalid-namespace", "the stream element must be <stream:stream> in http://etherx.jabber.org/streams");
      }
      if (attrs.xmlns !== NS.CLIENT) return this.streamError("invalid-namespace", "the stream's content namespace must be jabber:client");
    }
    const to = attrs.to;
    if (to !== undefined) {
      let domain: string;
      try {
        domain = Jid.parse(to).toString();
      } catch {
        return this.streamError("improper-addressing", `the stream 'to' (${to}) is not a valid domain`);
      }
      if (domain !== this.host.domain) return this.streamError("host-unknown", `this server does not serve ${to}`);
    }
    const version = attrs.version;
    if (version === undefined || !/^1\.\d+$/.test(version)) {
      return this.streamError("unsupported-version", "XMPP version 1.0 is required");
    }
    this.sendFeatures();
  }

  private sendHeader(clientFrom: string | undefined): void {
    this.headerSent = true;
    const attrs: Record<string, string> = {};
    if (this.transport.framing === "websocket") {
      attrs.xmlns = NS.FRAMING;
      attrs.from = this.host.domain;
      attrs.id = this.id;
      attrs.version = "1.0";
      attrs["xml:lang"] = "en";
      if (clientFrom !== undefined) attrs.to = clientFrom;
      this.write(new Element("open", attrs).toString());
      return;
    }
    attrs.xmlns = NS.CLIENT;
    attrs["xmlns:stream"] = NS.STREAMS;
    attrs.id = this.id;
    attrs.from = this.host.domain;
    if (clientFrom !== undefined) attrs.to = clientFrom;
    attrs.version = "1.0";
    attrs["xml:lang"] = "en";
    this.write(STREAM_HEADER_PREFIX + openTag("stream:stream", attrs));
  }

  private sendFeatures(): void | Promise<void> {
    const features = x("stream:features");
    if (!this.authenticated) {
      const tlsNeeded = !this.transport.secure && this.host.requireTls;
      if (!this.transport.secure && this.transport.canStartTls) {
        features.append(x("starttls", { xmlns: NS.TLS }, tlsNeeded ? x("required") : null));
      }
      if (tlsNeeded) {
        this.stage = "pre-tls";
      } else {
        const mechs = features.c("mechanisms", { xmlns: NS.SASL });
        for (const m of this.host.sasl.offered(this.transport.secure)) mechs.append(x("mechanism", null, m));
        this.stage = "pre-auth";
        if (this.host.hooks.has(StreamEvents.preAuthFeatures)) {
          return this.host.hooks.fold(StreamEvents.preAuthFeatures, [] as Element[], { stream: this }).then((extra) => {
            if (extra !== DROP) features.append(...extra);
            this.write(features.toString());
          });
        }
      }
      this.write(features.toString());
      return;
    }
    features.append(x("bind", { xmlns: NS.BIND }), x("session", { xmlns: NS.SESSION }, x("optional")));
    this.stage = "pre-bind";
    const folded = this.host.hooks.fold(StreamEvents.features, [] as Element[], { stream: this, stage: "authenticated" });
    return folded.then((extra) => {
      if (extra !== DROP) features.append(...extra);
      this.write(features.toString());
    });
  }

  // --- STARTTLS and SASL -------------------------------------------------------------------
  private onPreAuthElement(el: Element): void | Promise<void> {
    const ns = el.attrs.xmlns;
    if (el.name === "starttls" && ns === NS.TLS) return this.startTls();
    if (ns === NS.SASL) {
      if (this.stage === "pre-tls") {
        this.write(x("failure", { xmlns: NS.SASL }, x("encryption-required"), x("text", null, "STARTTLS is required before authentication")).toString());
        return;
      }
      if (el.name === "auth") return this.onAuth(el);
      if (el.name === "response") return this.onSaslResponse(el);
      if (el.name === "abort") return this.saslFailure({ kind: "failure", condition: "aborted", text: "authentication aborted by the client" });
    }
    const nonza = this.host.hooks.handle(StreamEvents.nonza, { stream: this, element: el });
    const onUnhandled = (handled: boolean) => {
      if (!handled) {
        if (this.stage === "pre-tls") this.streamError("policy-violation", "STARTTLS is required on this server");
        else this.streamError("not-authorized", `<${el.name}/> is not allowed before authentication`);
      }
    };
    if (nonza instanceof Promise) return nonza.then(onUnhandled);
    onUnhandled(nonza);
  }

  private async startTls(): Promise<void> {
    if (this.transport.secure || !this.transport.canStartTls) {
      this.write(x("failure", { xmlns: NS.TLS }).toString());
      return this.endStream("starttls-refused");
    }
    this.write(x("proceed", { xmlns: NS.TLS }).toString());
    this.stage = "tls-upgrading";
    // Nothing the client sent before the handshake may survive it (RFC 6120 §5.3.3).
    this.parser.reset();
    try {
      await this.transport.startTls();
    } catch (err) {
      this.host.log.info({ err: (err as Error).message, remote: this.remoteAddress }, "TLS handshake failed");
      this.stage = "closed";
      this.transport.close();
      this.cleanup("tls-failed");
      return;
    }
    this.headerSent = false;
    this.stage = "header";
  }

  private decodeSaslPayload(text: string): Buffer | null | "invalid" {
    const t = text.trim();
    if (t === "") return null;
    if (t === "=") return Buffer.alloc(0);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return "invalid";
    return Buffer.from(t, "base64");
  }

  private async onAuth(el: Element): Promise<void> {
    if (this.stage === "sasl") {
      return this.saslFailure({ kind: "failure", condition: "malformed-request", text: "an authentication exchange is already in progress" });
    }
    const name = el.attrs.mechanism ?? "";
    if (!this.host.sasl.offered(this.transport.secure).includes(name)) {
      return this.saslFailure({ kind: "failure", condition: "invalid-mechanism", text: `mechanism '${name}' is not offered on this stream` });
    }
    const guard = this.host.authGuard;
    let checkIdentity: IdentityCheck | undefined;
    if (guard !== undefined) {
      const verdict = guard(undefined, this.remoteAddress);
      if (!verdict.allowed) return this.saslFailure({ kind: "failure", condition: "temporary-auth-failure", text: verdict.text });
      checkIdentity = (username) => {
        const v = guard(username, this.remoteAddress);
        return v.allowed ? undefined : { condition: "temporary-auth-failure", text: v.text };
      };
    }
    const mech = this.host.sasl.create(name, checkIdentity ? { checkIdentity } : undefined);
    if (!mech) return this.saslFailure({ kind: "failure", condition: "invalid-mechanism", text: `mechanism '${name}' is not available` });
    const initial = this.decodeSaslPayload(el.text());
    if (initial === "invalid") return this.saslFailure({ kind: "failure", condition: "incorrect-encoding", text: "the initial response is not valid base64" });
    this.mechanism = mech;
    this.stage = "sasl";
    return this.onSaslStep(await mech.start(initial));
  }

  private async onSaslResponse(el: Element): Promise<void> {
    if (this.stage !== "sasl" || !this.mechanism) {
      return this.saslFailure({ kind: "failure", condition: "malformed-request", text: "no authentication exchange in progress" });
    }
    const data = this.decodeSaslPayload(el.text());
    if (data === "invalid") return this.saslFailure({ kind: "failure", condition: "incorrect-encoding", text: "the response is not valid base64" });
    return this.onSaslStep(await this.mechanism.next(data ?? Buffer.alloc(0)));
  }

  private onSaslStep(step: SaslStep): void | Promise<void> {
    if (this.stage === "closed") return;
    if (step.kind === "challenge") {
      this.write(x("challenge", { xmlns: NS.SASL }, step.data.length ? step.data.toString("base64") : "=").toString());
      return;
    }
    if (step.kind === "failure") return this.saslFailure(step);
    const mechanism = this.mechanism?.name ?? "";
    this.mechanism = undefined;
    this.authenticated = true;
    this.username = step.username;
    this.write(x("success", { xmlns: NS.SASL }, step.data && step.data.length ? step.data.toString("base64") : null).toString());
    this.parser.reset();
    this.headerSent = false;
    this.stage = "header";
    void this.host.hooks.notify(StreamEvents.authenticated, { username: step.username, remoteAddress: this.remoteAddress, mechanism });
  }

  private saslFailure(step: Extract<SaslStep, { kind: "failure" }>): void {
    const username = (this.mechanism as { username?: string } | undefined)?.username;
    this.mechanism = undefined;
    this.stage = "pre-auth";
    this.write(
      x("failure", { xmlns: NS.SASL }, x(step.condition), step.text ? x("text", { "xml:lang": "en" }, step.text) : null).toString(),
    );
    if (step.condition === "aborted") return;
    this.authFailures++;
    void this.host.hooks.notify(StreamEvents.authFailed, { username, remoteAddress: this.remoteAddress, condition: step.condition });
    if (this.authFailures >= MAX_AUTH_ATTEMPTS) this.streamError("policy-violation", `too many failed authentication attempts (${MAX_AUTH_ATTEMPTS})`);
  }

  // --- resource binding ------------------------------------------------------------------
  private onPreBindElement(el: Element): void | Promise<void> {
    if (el.name === "iq" && (el.attrs.xmlns === undefined || el.attrs.xmlns === NS.CLIENT)) {
      const bind = el.getChild("bind", NS.BIND);
      if (bind && el.attrs.type === "set") return this.bind(el, bind);
      if (el.getChild("session", NS.SESSION) && el.attrs.type === "set") {
        // Legacy session establishment before bind is meaningless; answer as RFC 6120 does not forbid.
        this.write(x("iq", { type: "result", id: el.attrs.id ?? "" }).toString());
        return;
      }
    }
    const nonza = this.host.hooks.handle(StreamEvents.nonza, { stream: this, element: el });
    const onUnhandled = (handled: boolean) => {
      if (!handled) this.streamError("not-authorized", "a resource must be bound before sending stanzas (RFC 6120 §7.1)");
    };
    if (nonza instanceof Promise) return nonza.then(onUnhandled);
    onUnhandled(nonza);
  }

  private bind(iq: Element, bind: Element): void {
    const reply = (payload: Element | null, err?: StanzaError) => {
      const out = err ? errorReply(iq, err) : x("iq", { type: "result", id: iq.attrs.id ?? "" }, payload);
      if (err) {
        delete out.attrs.from;
        delete out.attrs.to;
      }
      this.write(out.toString());
    };
    const requested = bind.getChildText("resource");
    let resource: string;
    if (requested !== undefined && requested !== "") {
      try {
        resource = prepResource(requested);
      } catch (err) {
        return reply(null, new StanzaError("bad-request", err instanceof JidError ? err.message : "invalid resource"));
      }
    } else {
      resource = randomToken(6, "base64url");
    }
    const jid = Jid.of(this.username!, this.host.domain, resource);
    const sessions = this.host.sessions;
    const existing = sessions.get(jid);
    if (existing) {
      // Resource conflict: the newest connection wins and the old stream ends with <conflict/>
      // (RFC 6120 §7.7.2.2 lets the server choose; phones reconnecting need this behaviour).
      sessions.remove(existing);
      existing.close("conflict", "replaced by a new connection with the same resource");
    } else if (sessions.resources(jid.bareString).length >= this.host.maxResourcesPerAccount) {
      return reply(null, new StanzaError("resource-constraint", `at most ${this.host.maxResourcesPerAccount} resources may be bound at once`));
    }
    const session = new Session(jid, this);
    this.session = session;
    sessions.add(session);
    this.stage = "bound";
    reply(x("bind", { xmlns: NS.BIND }, x("jid", null, session.full)));
    void this.host.hooks.notify(SessionEvents.bound, session);
  }

  // --- stanzas ---------------------------------------------------------------------------
  private onStanza(el: Element): void | Promise<void> {
    const session = this.session!;
    const name = el.name;
    const ns = el.attrs.xmlns;
    if ((name === "message" || name === "presence" || name === "iq") && (ns === undefined || ns === NS.CLIENT)) {
      const from = el.attrs.from;
      if (from !== undefined && from !== session.full) {
        // RFC 6120 §8.1.2.1: a client may only send from its own full (or bare) JID.
        let ok = false;
        try {
          const f = Jid.parse(from);
          ok = f.equals(session.jid) || f.equals(session.bareJid);
        } catch {
          ok = false;
        }
        if (!ok) return this.streamError("invalid-from", `'from' (${from}) does not match the authenticated address ${session.full}`);
      }
      el.attrs.from = session.full;
      if (ns !== undefined) delete el.attrs.xmlns;
      this.host.stats?.countIn(name);
      if (name === "iq" && el.attrs.type === "set" && el.getChild("session", NS.SESSION) && el.attrs.to === undefined) {
        session.send(x("iq", { type: "result", id: el.attrs.id ?? "" }));
        this.handledInbound++;
        return;
      }
      if (name === "iq" && el.getChild("bind", NS.BIND)) {
        this.handledInbound++;
        session.send(errorReply(el, new StanzaError("not-allowed", "a resource is already bound on this stream")));
        return;
      }
      const r = this.host.router.routeFromClient(el, session);
      if (r instanceof Promise) {
        return r.then(
          () => void this.handledInbound++,
          (err) => {
            this.handledInbound++;
            this.stanzaFailed(el, err);
          },
        );
      }
      this.handledInbound++;
      return;
    }
    const nonza = this.host.hooks.handle(StreamEvents.nonza, { stream: this, element: el });
    const onUnhandled = (handled: boolean) => {
      if (!handled) this.streamError("unsupported-stanza-type", `<${name}${ns ? ` xmlns='${ns}'` : ""}> is not a known stanza`);
    };
    if (nonza instanceof Promise) return nonza.then(onUnhandled);
    onUnhandled(nonza);
  }

  private stanzaFailed(el: Element, err: unknown): void {
    this.host.log.error({ err, stanza: el.toString().slice(0, 2000) }, "routing a stanza failed");
    const type = el.attrs.type;
    if (type === "error" || (el.name === "iq" && type === "result") || !this.session) return;
    const e = err instanceof StanzaError ? err : new StanzaError("internal-server-error", "the server failed to process this stanza");
    const reply = errorReply(el, e);
    reply.attrs.to = this.session.full;
    delete reply.attrs.from;
    this.session.send(reply);
  }

  // --- ending ----------------------------------------------------------------------------
  /** Sends a stream error and closes (RFC 6120 §4.9). */
  streamError(condition: StreamErrorCondition, text?: string): void {
    if (this.stage === "closed") return;
    if (!this.headerSent) this.sendHeader(undefined);
    this.host.log.debug({ condition, text, remote: this.remoteAddress, jid: this.session?.full }, "stream error");
    this.write(new StreamError(condition, text).toElement().toString());
    this.closeReason = condition;
    this.endStream(condition);
  }

  private endStream(reason: string): void {
    if (this.stage === "closed") return;
    this.write(this.transport.framing === "websocket" ? x("close", { xmlns: NS.FRAMING }).toString() : "</stream:stream>");
    this.stage = "closed";
    this.transport.close();
    this.cleanup(reason);
  }

  private cleanup(reason: string): void {
    this.queue.clear();
    if (this.shapeTimer !== undefined) clearTimeout(this.shapeTimer);
    this.shapeTimer = undefined;
    const session = this.session;
    if (!session) return;
    if (reason === "transport-closed" || reason === "connection-timeout") {
      // An unfinished stream (XEP-0198 §7): stream management may keep the session alive.
      const claimed = this.host.hooks.handle(StreamEvents.transportLost, { stream: this, session, reason });
      if (claimed === true) return;
    }
    session.closing = true;
    const wasRegistered = this.host.sessions.remove(session);
    if (wasRegistered || reason === "conflict") void this.host.hooks.notify(SessionEvents.closed, { session, reason });
  }

  /**
   * XEP-0198 resumption: this freshly authenticated stream (before bind) takes over an existing
   * session of the same account and carries its stanzas from now on.
   */
  adoptSession(session: Session): void {
    if (this.stage !== "pre-bind" || session.username !== this.username) throw new Error("a session can only be adopted by its own account's stream before bind");
    this.session = session;
    this.stage = "bound";
  }

  /**
   * Lets go of the session without ending it (it moved to another stream, or its owner ends it);
   * the stream itself should be closed right after. Nothing the client sends is processed.
   */
  detachSession(): Session | undefined {
    const session = this.session;
    this.session = undefined;
    if (this.stage !== "closed") this.stage = "detached";
    this.queue.clear();
    return session;
  }

  private internalError(err: unknown): void {
    if (err instanceof XmlStreamError) return this.streamError(err.condition as StreamErrorCondition, err.message);
    if (err instanceof StreamError) return this.streamError(err.condition, err.text);
    this.host.log.error({ err, remote: this.remoteAddress }, "stream processing failed");
    this.streamError("internal-server-error");
  }

  /** Periodic check from the listener: idle timeout, whitespace keepalive, idle memory. */
  tick(now: number, idleTimeoutMs: number, authTimeoutMs: number, keepaliveMs: number): void {
    if (this.stage === "closed") return;
    if (now - this.lastReceived >= COMPACT_AFTER_MS && this.compactedAt < this.lastReceived) {
      this.compactedAt = now;
      this.parser.compact();
    }
    if (!this.authenticated && now - this.openedAt > authTimeoutMs) {
      return this.streamError("connection-timeout", "authentication did not complete in time");
    }
    if (now - this.lastReceived > idleTimeoutMs) {
      return this.streamError("connection-timeout", `no data received for ${Math.round(idleTimeoutMs / 1000)} s`);
    }
    if (this.stage === "bound" && this.transport.framing === "stream" && now - this.lastSent > keepaliveMs) this.write(" ");
  }
}
