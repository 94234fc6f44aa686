// XEP-0115 Entity Capabilities for local clients: when a client's available presence carries
// <c xmlns='http://jabber.org/protocol/caps' hash node ver/>, the server looks the 'ver' up
// (memory, then the caps_entries table) and, when it is new, asks that client for its
// disco#info (node#ver), recomputes the hash (§5.1) and keeps the result only if it matches
// (§5.4). Unknown hash functions: the answer is used for that client alone, never cached.
import { defineModule, Priority } from "../../core/module/module.ts";
import { StanzaEvents, type BroadcastPayload } from "../../core/router/stanza-events.ts";
import { Jid } from "../../jid/jid.ts";
import type { Session } from "../../core/session/session.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { openCapsStore } from "./store/sql-caps-store.ts";
import type { CapsRecord } from "./store/types.ts";
import { CapsEvents, CapsServiceToken, type CapsService } from "./service.ts";
import { IllFormedInfo, capsVer, parseDiscoInfo, supportedHash, type CapsIdentity, type CapsInfo } from "./verification.ts";

export { CapsEvents, CapsServiceToken };
export type { CapsService };

/** How long a client has to answer the disco#info query. */
const QUERY_TIMEOUT_MS = 10_000;
/** Verified entries kept in memory (least recently added dropped first). */
const MEMORY_ENTRIES = 10_000;
/** Disco queries one session may cause per window (a client cycling 'ver's cannot flood). */
const QUERIES_PER_WINDOW = 5;
const QUERY_WINDOW_MS = 10 * 60_000;
/** Limits on what one answer may hold before it is refused. */
const MAX_FEATURES = 1000;
const MAX_VER_LENGTH = 256;

interface Known {
  info: CapsInfo;
  features: ReadonlySet<string>;
}

interface SessionCaps {
  hash: string;
  node: string;
  ver: string;
  known: Known | undefined;
}

function toKnown(info: CapsInfo): Known {
  return { info, features: new Set(info.features) };
}

function fromRecord(r: CapsRecord): Known {
  return toKnown({
    identities: JSON.parse(r.identities) as CapsIdentity[],
    features: JSON.parse(r.features) as string[],
    forms: JSON.parse(r.forms) as CapsInfo["forms"],
  });
}

export default defineModule({
  id: "caps",
  provides: [CapsServiceToken],
  async setup(ctx) {
    const store = await openCapsStore(ctx.db);
    const hooks = ctx.host.hooks;
    const memory = new Map<string, Known>();
    const inflight = new Map<string, Promise<Known | undefined>>();
    const bySession = new WeakMap<Session, SessionCaps>();
    const queryTimes = new WeakMap<Session, number[]>();

    const key = (hash: string, ver: string) => `${hash} ${ver}`;
    const remember = (k: string, v: Known) => {
      memory.delete(k);
      memory.set(k, v);
      if (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
    };

    const sessionOf = (jid: Jid | string): Session | undefined => {
      try {
        return ctx.sessions.get(typeof jid === "string" ? Jid.parse(jid) : jid);
      } catch {
        return undefined;
      }
    };

    const service: CapsService = {
      features: (jid) => {
        const s = sessionOf(jid);
        return s ? bySession.get(s)?.known?.features : undefined;
      },
      hasFeature: (jid, ns) => service.features(jid)?.has(ns) ?? false,
      identities: (jid) => {
        const s = sessionOf(jid);
        return s ? bySession.get(s)?.known?.info.identities : undefined;
      },
    };
    ctx.provide(CapsServiceToken, service);

    const mayQuery = (session: Session): boolean => {
      const now = Date.now();
      const times = (queryTimes.get(session) ?? []).filter((t) => now - t < QUERY_WINDOW_MS);
      if (times.length >= QUERIES_PER_WINDOW) {
        queryTimes.set(session, times);
        return false;
      }
      times.push(now);
      queryTimes.set(session, times);
      return true;
    };

    /** Asks the client for node#ver and returns what it said (undefined: no usable answer). */
    const ask = async (session: Session, c: SessionCaps): Promise<CapsInfo | undefined> => {
      if (!mayQuery(session)) {
        ctx.log.info({ jid: session.full }, "XEP-0115: too many capability queries for this session; not asking");
        return undefined;
      }
      let reply: Element;
      try {
        reply = await ctx.router.request(
          x("iq", { type: "get", from: ctx.domain, to: session.full }, x("query", { xmlns: NS.DISCO_INFO, node: `${c.node}#${c.ver}` })),
          QUERY_TIMEOUT_MS,
        );
      } catch (err) {
        ctx.log.debug({ err: (err as Error).message, jid: session.full }, "XEP-0115: no disco#info answer");
        return undefined;
      }
      const query = reply.attrs.type === "result" ? reply.getChild("query", NS.DISCO_INFO) : undefined;
      if (!query) return undefined;
      try {
        const info = parseDiscoInfo(query);
        if (info.features.length > MAX_FEATURES) return undefined;
        return info;
      } catch (err) {
        if (err instanceof IllFormedInfo) {
          ctx.log.info({ jid: session.full, reason: err.message }, "XEP-0115: ill-formed disco#info answer");
          return undefined;
        }
        throw err;
      }
    };

    /** Verified info for hash+ver: memory, storage, or this client's answer if its hash matches. */
    const verified = async (session: Session, c: SessionCaps): Promise<Known | undefined> => {
      const k = key(c.hash, c.ver);
      const hit = memory.get(k);
      if (hit) return hit;
      const pending = inflight.get(k);
      if (pending) {
        const v = await pending;
        if (v) return v;
        // The other client's answer did not verify: this one gets asked itself (below).
      }
      const p = (async (): Promise<Known | undefined> => {
        const rec = await store.get(c.hash, c.ver);
        if (rec) return fromRecord(rec);
        const info = await ask(session, c);
        if (!info) return undefined;
        if (capsVer(info, c.hash) !== c.ver) {
          ctx.log.info({ jid: session.full, ver: c.ver, node: c.node }, "XEP-0115: disco#info does not hash to the advertised ver; not cached");
          return undefined;
        }
        // Known at once; the durable copy (for later sessions and restarts) follows.
        store
          .put({
            hash: c.hash,
            ver: c.ver,
            identities: JSON.stringify(info.identities),
            features: JSON.stringify(info.features),
            forms: JSON.stringify(info.forms),
          })
          .catch((err) => ctx.log.error({ err, ver: c.ver }, "XEP-0115: storing verified capabilities failed"));
        return toKnown(info);
      })();
      inflight.set(k, p);
      try {
        const v = await p;
        if (v) remember(k, v);
        return v;
      } finally {
        if (inflight.get(k) === p) inflight.delete(k);
      }
    };

    const learn = async (session: Session, c: SessionCaps): Promise<void> => {
      let known: Known | undefined;
      if (supportedHash(c.hash)) known = await verified(session, c);
      else {
        // §5.4 step 2: associate the answer with this client only.
        const info = await ask(session, c);
        if (info) known = toKnown(info);
      }
      if (!known || bySession.get(session) !== c || session.closing) return;
      c.known = known;
      await hooks.notify(CapsEvents.known, { session, node: c.node, ver: c.ver, hash: c.hash, features: known.features });
    };

    // Observes every availability broadcast (never claims it, never delays it).
    ctx.on(
      StanzaEvents.preBroadcast,
      ({ stanza, origin }: BroadcastPayload) => {
        if (stanza.attrs.type !== undefined) return false;
        const el = stanza.getChild("c", NS.CAPS);
        if (!el) return false;
        const { hash, node, ver } = el.attrs;
        // Without 'hash' it is the legacy format (before 1.4), which cannot be verified: ignored.
        if (!hash || !node || !ver || ver.length > MAX_VER_LENGTH) return false;
        const prev = bySession.get(origin);
        if (prev && prev.hash === hash && prev.ver === ver && prev.node === node) return false;
        const c: SessionCaps = { hash, node, ver, known: undefined };
        bySession.set(origin, c);
        learn(origin, c).catch((err) => ctx.log.error({ err, jid: origin.full }, "XEP-0115: learning capabilities failed"));
        return false;
      },
      Priority.Early,
    );
  },
});
