// XEP-0198 Stream Management: acknowledgements both ways, and resumption of a stream whose
// connection dropped, so that an abrupt disconnect loses no stanza.
//
// - <enable/> (after bind) wraps the session's sink in an SmSink: every stanza written to the
//   client is counted and kept until the client acknowledges it (<a h/>); the server asks
//   (<r/>) every ACK_EVERY stanzas or ACK_DELAY_MS after the last one.
// - 'h' for the client's stanzas is the stream machine's handledInbound (incremented once a
//   stanza was fully routed — stored offline, delivered …), counted from <enable/>.
// - The connection of a resumable stream drops (StreamEvents.transportLost): the session stays
//   registered and "hibernates" for the resumption timeout; stanzas for it are queued.
//   <resume previd h/> on a new authenticated stream of the same account, before bind, moves
//   the session there (C2sStream.adoptSession), answers <resumed/> and retransmits what the
//   client has not acknowledged.
// - When a session with stream management finally ends (hibernation timed out, clean close,
//   stream error, shutdown) its unacknowledged stanzas are routed again after it left the
//   registry, or bounced — see rules.ts and docs/architecture.md "Durability".
import { randomBytes } from "node:crypto";
import { defineModule, Priority } from "../../core/module/module.ts";
import { SessionEvents, StreamEvents, type NonzaPayload, type TransportLostPayload } from "../../core/stream/stream-events.ts";
import type { C2sStream } from "../../core/stream/c2s-stream.ts";
import type { Session, SessionSink } from "../../core/session/session.ts";
import { StanzaError } from "../../core/errors.ts";
import { x, escapeText, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { MessagingEvents, type MessageDelivered } from "../messaging/service.ts";
import { OfflineServiceToken } from "../offline/index.ts";
import { UnackedQueue, addH, parseH, type Unacked } from "./queue.ts";
import { disposition, parseStanza, stampDelay } from "./rules.ts";

/** Ask for an acknowledgement after this many stanzas … */
export const ACK_EVERY = 5;
/** … or this long after the last stanza, whichever comes first. */
export const ACK_DELAY_MS = 1000;
/** At shutdown, how long live clients get to acknowledge before the rest is saved. */
export const SHUTDOWN_ACK_WAIT_MS = 1000;

const R = `<r xmlns='${NS.SM}'/>`;

interface SmState {
  readonly session: Session;
  /** The live stream, or undefined while the session hibernates. */
  stream: C2sStream | undefined;
  /** The stream whose handledInbound counts the client's stanzas now (also after it dropped). */
  countingStream: C2sStream;
  /** 'h' for the client's stanzas = inBase + countingStream.handledInbound (mod 2^32). */
  inBase: number;
  readonly queue: UnackedQueue<Session>;
  /** SM-ID when resumable. */
  readonly id: string | undefined;
  readonly resumeMs: number;
  /** Stanzas written since our last <r/>. */
  sinceRequest: number;
  requestTimer: NodeJS.Timeout | undefined;
  hibernateTimer: NodeJS.Timeout | undefined;
  overflowing: boolean;
  /** Set once the session's end began: unacknowledged stanzas are (being) rerouted. */
  finishing: Promise<void> | undefined;
}

/** The session's sink while stream management is on: counts, keeps, forwards to the live stream. */
class SmSink implements SessionSink {
  private readonly st: SmState;
  private readonly onWrite: (st: SmState, data: string) => void;
  private readonly onCloseHibernating: (st: SmState, condition: string) => void;

  constructor(st: SmState, onWrite: (st: SmState, data: string) => void, onCloseHibernating: (st: SmState, condition: string) => void) {
    this.st = st;
    this.onWrite = onWrite;
    this.onCloseHibernating = onCloseHibernating;
  }
  write(data: string): void {
    this.onWrite(this.st, data);
  }
  close(condition?: string, text?: string): void {
    if (this.st.stream) this.st.stream.close(condition, text);
    else this.onCloseHibernating(this.st, condition ?? "server-closed");
  }
  get transportKind(): string {
    return (this.st.stream ?? this.st.countingStream).transportKind;
  }
  get secure(): boolean {
    return (this.st.stream ?? this.st.countingStream).secure;
  }
  get remoteAddress(): string {
    return (this.st.stream ?? this.st.countingStream).remoteAddress;
  }
  /** Undefined while hibernating: nobody to ping (XEP-0199 dead-peer detection). */
  get lastReceived(): number | undefined {
    return this.st.stream?.lastReceived;
  }
}

export default defineModule({
  id: "stream-management",
  // Not called directly (unacknowledged messages are routed again, and the messaging rules
  // store them), but without offline storage the module could not keep its promise; this
  // also loads it after offline storage and unloads it before.
  requires: [OfflineServiceToken],
  setup(ctx) {
    const sessions = ctx.sessions;
    const router = ctx.router;
    const hooks = ctx.host.hooks;
    const log = ctx.log;
    const domain = ctx.domain;
    const resumeTimeoutSeconds = ctx.config.streamManagement.resumeTimeoutSeconds;
    const maxUnacked = ctx.config.streamManagement.maxUnackedStanzas;

    const byStream = new WeakMap<C2sStream, SmState>();
    const bySession = new Map<Session, SmState>();
    const byId = new Map<string, SmState>();
    /** Ends in progress (rerouting), awaited at shutdown and unload. */
    const pending = new Set<Promise<void>>();
    /** Set by StreamEvents.shutdown: no new stream management, no resumption. */
    let shuttingDown = false;

    const inboundH = (st: SmState): number => addH(st.inBase, st.countingStream.handledInbound);

    const failed = (condition: string): string => x("failed", { xmlns: NS.SM }, x(condition, { xmlns: NS.STANZA_ERRORS })).toString();

    // --- outbound: counting, requests, bound --------------------------------------------------
    const requestAck = (st: SmState): void => {
      if (st.requestTimer) {
        clearTimeout(st.requestTimer);
        st.requestTimer = undefined;
      }
      if (!st.stream || st.finishing) return;
      st.sinceRequest = 0;
      st.stream.write(R);
    };

    const onWrite = (st: SmState, data: string): void => {
      st.queue.push(data, Date.now());
      if (st.stream) st.stream.write(data);
      if (st.queue.length > maxUnacked) return overflow(st);
      if (!st.stream) return;
      if (++st.sinceRequest >= ACK_EVERY) requestAck(st);
      else if (!st.requestTimer) {
        st.requestTimer = setTimeout(() => {
          st.requestTimer = undefined;
          if (st.sinceRequest > 0) requestAck(st);
        }, ACK_DELAY_MS);
        st.requestTimer.unref();
      }
    };

    /** More unacknowledged stanzas than allowed: the stream (or the hibernating session) ends. */
    const overflow = (st: SmState): void => {
      if (st.overflowing) return;
      st.overflowing = true;
      log.info({ jid: st.session.full, unacked: st.queue.length }, "XEP-0198: too many unacknowledged stanzas, ending the session");
      // Not from inside whoever is delivering right now.
      setImmediate(() => {
        if (st.finishing) return;
        if (st.stream) st.stream.close("policy-violation", `more than ${maxUnacked} stanzas were not acknowledged`);
        else void endSession(st, "policy-violation");
      });
    };

    const onAck = (st: SmState, stream: C2sStream, el: Element): void => {
      if (st.finishing) return;
      const h = parseH(el.attrs.h);
      if (h === undefined) return stream.close("bad-format", "<a/> needs an 'h' attribute with an unsignedInt");
      const r = st.queue.ack(h);
      if (r.kind === "too-high") return handledCountTooHigh(stream, h, r.sent);
    };

    /** XEP-0198 §4: the peer acknowledged more than was sent. */
    const handledCountTooHigh = (stream: C2sStream, h: number, sent: number): void => {
      stream.write(
        `<stream:error><undefined-condition xmlns='${NS.STREAM_ERRORS}'/>` +
          `<handled-count-too-high xmlns='${NS.SM}' h='${h}' send-count='${sent}'/>` +
          `<text xmlns='${NS.STREAM_ERRORS}' xml:lang='en'>${escapeText(`you acknowledged ${h} stanzas but only ${sent} were sent`)}</text></stream:error>`,
      );
      stream.close();
    };

    // --- enable --------------------------------------------------------------------------------
    const onEnable = (stream: C2sStream, el: Element): void => {
      const session = stream.session;
      // §3: only after resource binding (or by resuming), and only once per stream.
      if (!session || session.closing || byStream.has(stream) || bySession.has(session) || shuttingDown) {
        stream.write(failed("unexpected-request"));
        return;
      }
      const wantsResume = el.attrs.resume === "true" || el.attrs.resume === "1";
      let seconds = resumeTimeoutSeconds;
      const max = parseH(el.attrs.max);
      if (max !== undefined && max > 0) seconds = Math.min(seconds, max);
      const resumable = wantsResume && seconds > 0;
      const st: SmState = {
        session,
        stream,
        countingStream: stream,
        // h starts at zero now (§4), whatever the stream handled before.
        inBase: addH(0, -stream.handledInbound),
        queue: new UnackedQueue<Session>(),
        id: resumable ? randomBytes(18).toString("base64url") : undefined,
        resumeMs: seconds * 1000,
        sinceRequest: 0,
        requestTimer: undefined,
        hibernateTimer: undefined,
        overflowing: false,
        finishing: undefined,
      };
      const attrs: Record<string, string> = { xmlns: NS.SM };
      if (st.id) {
        attrs.id = st.id;
        attrs.resume = "true";
        attrs.max = String(seconds);
      }
      stream.write(x("enabled", attrs).toString());
      byStream.set(stream, st);
      bySession.set(session, st);
      if (st.id) byId.set(st.id, st);
      session.attach(new SmSink(st, onWrite, (s, condition) => void endSession(s, condition)));
    };

    // --- resume --------------------------------------------------------------------------------
    const onResume = (stream: C2sStream, el: Element): void => {
      if (stream.session) {
        stream.write(failed("unexpected-request"));
        return;
      }
      const h = parseH(el.attrs.h);
      const previd = el.attrs.previd;
      if (h === undefined || previd === undefined) {
        stream.write(failed("bad-request"));
        return;
      }
      const st = byId.get(previd);
      // Unknown, expired or ended, or another account's: all look the same (item-not-found).
      if (!st || shuttingDown || st.finishing || st.session.closing || st.session.username !== stream.authenticatedUser || st.session.jid.domain !== domain) {
        stream.write(failed("item-not-found"));
        return;
      }
      const r = st.queue.ack(h);
      if (r.kind === "too-high") return handledCountTooHigh(stream, h, r.sent);
      const old = st.stream;
      if (old) {
        // §5: the client came back before we noticed the old connection was gone.
        old.detachSession();
        byStream.delete(old);
        old.close("conflict", "this session was resumed on another connection");
      }
      if (st.hibernateTimer) {
        clearTimeout(st.hibernateTimer);
        st.hibernateTimer = undefined;
      }
      const handled = inboundH(st);
      stream.adoptSession(st.session);
      st.stream = stream;
      st.countingStream = stream;
      st.inBase = addH(handled, -stream.handledInbound);
      st.overflowing = false;
      byStream.set(stream, st);
      stream.write(x("resumed", { xmlns: NS.SM, h: String(handled), previd }).toString());
      const again = st.queue.pending();
      for (const entry of again) stream.write(entry.data);
      log.debug({ jid: st.session.full, retransmitted: again.length, h: handled }, "XEP-0198: session resumed");
      if (again.length > 0) requestAck(st);
    };

    // --- hibernation and the end ----------------------------------------------------------------
    ctx.on(StreamEvents.transportLost, ({ stream, session, reason }: TransportLostPayload) => {
      const st = bySession.get(session);
      if (!st || st.stream !== stream || !st.id || st.finishing) return false;
      st.stream = undefined;
      byStream.delete(stream);
      if (st.requestTimer) {
        clearTimeout(st.requestTimer);
        st.requestTimer = undefined;
      }
      st.hibernateTimer = setTimeout(() => {
        st.hibernateTimer = undefined;
        void endSession(st, "resumption-timeout");
      }, st.resumeMs);
      st.hibernateTimer.unref();
      log.debug({ jid: session.full, reason, unacked: st.queue.length, seconds: st.resumeMs / 1000 }, "XEP-0198: connection lost, session hibernating");
      return true;
    });

    /** Reroutes or bounces what the client did not acknowledge; the session has left the registry. */
    const finish = (st: SmState): Promise<void> => {
      if (st.finishing) return st.finishing;
      const run = async () => {
        // Whoever ends the session synchronously (a conflicting bind) registers its successor first.
        await Promise.resolve();
        for (const t of [st.requestTimer, st.hibernateTimer]) if (t) clearTimeout(t);
        st.requestTimer = st.hibernateTimer = undefined;
        bySession.delete(st.session);
        if (st.id) byId.delete(st.id);
        if (st.stream) byStream.delete(st.stream);
        const entries = st.queue.takeAll();
        if (entries.length) log.debug({ jid: st.session.full, unacked: entries.length }, "XEP-0198: rerouting unacknowledged stanzas");
        for (const entry of entries) {
          try {
            await reroute(st.session, entry);
          } catch (err) {
            log.error({ err, jid: st.session.full, stanza: entry.data.slice(0, 2000) }, "XEP-0198: rerouting an unacknowledged stanza failed");
          }
        }
      };
      const p = run();
      st.finishing = p;
      pending.add(p);
      void p.finally(() => pending.delete(p));
      return p;
    };

    const reroute = async (session: Session, entry: Unacked<Session>): Promise<void> => {
      let el: Element;
      try {
        el = parseStanza(entry.data);
      } catch (err) {
        log.error({ err, jid: session.full }, "XEP-0198: an unacknowledged stanza could not be read back");
        return;
      }
      switch (disposition(el)) {
        case "drop":
          return;
        case "bounce":
          await router.bounce(el, new StanzaError("service-unavailable"), session.jid);
          return;
        case "route": {
          // Delivered to other resources as well (tied priorities): they have it, unless they left too.
          if (entry.others?.some((o) => !o.closing && sessions.get(o.jid) === o)) return;
          if (el.attrs.to === undefined) el.attrs.to = session.full;
          if (el.attrs.from === undefined) el.attrs.from = domain;
          stampDelay(el, domain, entry.at);
          await router.route(el);
          return;
        }
      }
    };

    /** Ends a session this module holds (hibernating, or at shutdown) the way the core would. */
    const endSession = async (st: SmState, reason: string): Promise<void> => {
      const session = st.session;
      if (!session.closing) {
        session.closing = true;
        const wasRegistered = sessions.remove(session);
        // SessionEvents.closed runs finish() first (below), then presence broadcasts unavailable.
        if (wasRegistered || reason === "conflict") await hooks.notify(SessionEvents.closed, { session, reason });
      }
      await finish(st);
    };

    // Every end of a stream-managed session passes here (the core's, after it removed the
    // session, and endSession's): unacknowledged stanzas go somewhere before anyone sees the
    // resource go unavailable.
    ctx.on(
      SessionEvents.closed,
      ({ session }) => {
        const st = bySession.get(session);
        if (st) return finish(st);
      },
      Priority.Policy,
    );

    // A bare-JID message delivered to several resources at once: remember the co-recipients so
    // that an unacknowledged copy is not delivered to them a second time.
    ctx.on(
      MessagingEvents.delivered,
      ({ stanza, recipients }: MessageDelivered) => {
        if (recipients.length < 2) return;
        let serialized: string | undefined;
        for (const s of recipients) {
          const st = bySession.get(s);
          const last = st?.queue.last();
          if (!last) continue;
          serialized ??= stanza.toString();
          if (last.data === serialized) last.others = recipients.filter((r) => r !== s);
        }
      },
      Priority.Policy,
    );

    // --- stream feature and nonzas ----------------------------------------------------------------
    ctx.on(StreamEvents.features, (features) => [...features, x("sm", { xmlns: NS.SM })]);

    ctx.on(StreamEvents.nonza, ({ stream, element }: NonzaPayload) => {
      if (element.attrs.xmlns !== NS.SM || !stream.isAuthenticated) return false;
      switch (element.name) {
        case "enable":
          onEnable(stream, element);
          return true;
        case "resume":
          onResume(stream, element);
          return true;
        case "r": {
          const st = byStream.get(stream);
          if (!st) return false;
          stream.write(`<a xmlns='${NS.SM}' h='${inboundH(st)}'/>`);
          return true;
        }
        case "a": {
          const st = byStream.get(stream);
          if (!st) return false;
          onAck(st, stream, element);
          return true;
        }
        default:
          return false;
      }
    });

    // --- shutdown -----------------------------------------------------------------------------
    // Before any stream is closed: one last round of acknowledgements from live clients, then
    // every stream-managed session (live or hibernating) ends and its unacknowledged stanzas
    // are stored or bounced; only then does its stream get <system-shutdown/>.
    ctx.on(StreamEvents.shutdown, async () => {
      shuttingDown = true;
      const all = [...bySession.values()];
      const asked = all.filter((st) => st.stream && st.queue.length > 0 && !st.finishing);
      for (const st of asked) requestAck(st);
      const deadline = Date.now() + SHUTDOWN_ACK_WAIT_MS;
      while (asked.some((st) => st.stream && st.queue.length > 0 && !st.finishing) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const st of all) {
        const stream = st.stream;
        await endSession(st, "system-shutdown");
        if (stream) {
          stream.detachSession();
          stream.close("system-shutdown", "the server is shutting down");
        }
      }
      await Promise.all([...pending]);
    });

    ctx.onUnload(async () => {
      // Normally the shutdown event has already ended everything; this is the safety net.
      for (const st of [...bySession.values()]) await endSession(st, "system-shutdown");
      await Promise.all([...pending]);
    });
  },
});
