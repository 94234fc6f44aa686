// XEP-0191 Blocking Command: a user's blocklist, its pushes, and its enforcement.
//
// Enforcement points (docs/protocol.md has the table):
//  - the user → a blocked JID: refused in the outbound phase (pre-*, Priority.Policy) with
//    <not-acceptable/> + <blocked xmlns='urn:xmpp:blocking:errors'/>;
//  - a blocked JID → the user: in the delivery phase (Priority.Policy) presence is dropped,
//    IQ get/set answered <service-unavailable/>, IQ result/error dropped, messages answered
//    <service-unavailable/> (XEP-0191 §3.3: the user appears offline / absent); IQs to the
//    user's bare JID that the server answers (disco …) are checked in the outbound phase of a
//    local sender, before those handlers run;
//  - stanzas the server generates for a user (presence probe answers, routed presence) to a
//    JID that user blocked are dropped in the delivery phase / before remote routing;
//  - presence the presence module writes straight to local sessions (broadcasts, probe
//    answers at login) passes through an outbound session filter, installed only on sessions
//    that need it: those of users with a non-empty blocklist and those an online user blocks.
// Blocklists of online users are kept in memory (a check is a few Set lookups); others are
// read from the store and kept in a small LRU.
import { defineModule, Priority } from "../../core/module/module.ts";
import { StanzaError, errorReply } from "../../core/errors.ts";
import { StanzaEvents, type StanzaKind, type StanzaPayload, type BroadcastPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import type { OutFilter, Session } from "../../core/session/session.ts";
import { Element, x } from "../../xml/element.ts";
import { Jid, JidError } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountEvents } from "../accounts/index.ts";
import { RosterServiceToken } from "../roster/index.ts";
import { PresenceEvents } from "../presence/service.ts";
import { Blocklist, matchKeys } from "./blocklist.ts";
import { openBlockingStore } from "./store/sql-blocking-store.ts";
import { BlockingEvents, BlockingServiceToken, type BlockingService } from "./service.ts";

export { BlockingEvents, BlockingServiceToken };
export type { BlockingService };

/** Most items one blocklist may hold. */
export const MAX_BLOCKLIST_ITEMS = 10_000;
/** Blocklists of offline users kept in memory (most recently used). */
const RECENT_LISTS = 1000;
/** Session filter priority: before CSI (-100) holds anything back. */
const FILTER_PRIORITY = 100;

type MaybeBool = boolean | Promise<boolean>;

function then<T, R>(v: T | Promise<T>, fn: (v: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(fn) : fn(v);
}

function sameAccount(a: Jid, b: Jid): boolean {
  return a.local === b.local && a.domain === b.domain;
}

export default defineModule({
  id: "blocking",
  requires: [RosterServiceToken],
  provides: [BlockingServiceToken],
  async setup(ctx) {
    const store = await openBlockingStore(ctx.db);
    const roster = ctx.use(RosterServiceToken);
    const sessions = ctx.sessions;
    const router = ctx.router;
    const hooks = ctx.host.hooks;
    const domain = ctx.domain;

    /** Lists of owners with at least one session. */
    const online = new Map<string, Blocklist>();
    /** Recently used lists of owners without sessions (insertion order = LRU order). */
    const recent = new Map<string, Blocklist>();
    const loading = new Map<string, Promise<Blocklist>>();
    /** item → online owners whose list holds it (finds the sessions an online user blocks). */
    const blockedBy = new Map<string, Set<string>>();
    /** Sessions carrying the blocking filter, with its remover. */
    const filters = new Map<Session, () => void>();
    /** Sessions that asked for the blocklist: they get pushes (§3.3). */
    const requested = new WeakSet<Session>();
    /** Stanzas this module itself sends across a block (errors, the unavailable presence). */
    const exempt = new WeakSet<Element>();
    /** Per-owner serialisation of blocklist writes. */
    const locks = new Map<string, Promise<unknown>>();
    let pushId = 0;

    // --- the cache ---------------------------------------------------------------------------
    const remember = (owner: string, bl: Blocklist): void => {
      recent.delete(owner);
      recent.set(owner, bl);
      if (recent.size > RECENT_LISTS) recent.delete(recent.keys().next().value!);
    };

    const indexItems = (owner: string, items: Iterable<string>, add: boolean): void => {
      for (const item of items) {
        let owners = blockedBy.get(item);
        if (add) {
          if (!owners) blockedBy.set(item, (owners = new Set()));
          owners.add(owner);
        } else if (owners) {
          owners.delete(owner);
          if (owners.size === 0) blockedBy.delete(item);
        }
      }
    };

    const goOnline = (owner: string, bl: Blocklist): void => {
      recent.delete(owner);
      online.set(owner, bl);
      indexItems(owner, bl.items, true);
      if (bl.size > 0) {
        for (const s of sessions.resources(owner)) ensureFilter(s);
        filterTargets(bl.items);
      }
    };

    const goOffline = (owner: string): void => {
      const bl = online.get(owner);
      if (!bl) return;
      online.delete(owner);
      indexItems(owner, bl.items, false);
      remember(owner, bl);
    };

    /** The owner's list: from memory (synchronously) or from the store. */
    const load = (owner: string): Blocklist | Promise<Blocklist> => {
      const on = online.get(owner);
      if (on) return on;
      const r = recent.get(owner);
      if (r) {
        if (sessions.hasResources(owner)) goOnline(owner, r);
        else remember(owner, r);
        return r;
      }
      let p = loading.get(owner);
      if (!p) {
        p = store.list(owner).then(
          (items) => {
            loading.delete(owner);
            // A write may have cached the list meanwhile: that copy is the current one.
            const existing = online.get(owner) ?? recent.get(owner);
            if (existing) return existing;
            const bl = new Blocklist(items);
            if (sessions.hasResources(owner)) goOnline(owner, bl);
            else remember(owner, bl);
            return bl;
          },
          (err: unknown) => {
            loading.delete(owner);
            throw err;
          },
        );
        loading.set(owner, p);
      }
      return p;
    };

    const matchesList = (owner: string, jid: Jid): MaybeBool => then(load(owner), (bl) => bl.matches(jid));

    // --- the session filter ------------------------------------------------------------------
    const isServer = (j: Jid): boolean => j.local === "" && j.resource === "" && j.domain === domain;

    /** Blocked either way, judged from the lists in memory (the filter must be synchronous). */
    const blockedInMemory = (from: Jid, to: Jid): boolean => {
      if (sameAccount(from, to) || isServer(from)) return false;
      const mine = online.get(to.bareString);
      if (mine !== undefined && mine.matches(from)) return true;
      if (from.local !== "" && from.domain === domain) {
        const theirs = online.get(from.bareString);
        if (theirs !== undefined && theirs.matches(to)) return true;
      }
      return false;
    };

    const filter: OutFilter = (stanza, session) => {
      if (exempt.has(stanza)) return stanza;
      const fromAttr = stanza.attrs.from;
      if (fromAttr === undefined) return stanza;
      let from: Jid;
      try {
        from = Jid.parse(fromAttr);
      } catch {
        return stanza;
      }
      return blockedInMemory(from, session.jid) ? null : stanza;
    };

    const ensureFilter = (s: Session): void => {
      if (s.closing || filters.has(s)) return;
      filters.set(s, s.addOutFilter(filter, FILTER_PRIORITY));
    };

    /** Puts the filter on the local sessions that newly blocked items match. */
    const filterTargets = (items: Iterable<string>): void => {
      for (const item of items) {
        let j: Jid;
        try {
          j = Jid.parse(item);
        } catch {
          continue;
        }
        if (j.domain !== domain) continue;
        if (j.local !== "") {
          if (j.resource !== "") {
            const s = sessions.get(j);
            if (s) ensureFilter(s);
          } else {
            for (const s of sessions.resources(j.bareString)) ensureFilter(s);
          }
        } else {
          const one = new Blocklist([item]);
          for (const s of sessions.all()) if (one.matches(s.jid)) ensureFilter(s);
        }
      }
    };

    const targetedByOnline = (jid: Jid): boolean => {
      for (const k of matchKeys(jid)) if (blockedBy.has(k)) return true;
      return false;
    };

    ctx.on(SessionEvents.bound, (session: Session) => {
      if (targetedByOnline(session.jid)) ensureFilter(session);
      const r = then(load(session.bare), (bl) => {
        if (bl.size > 0) ensureFilter(session);
      });
      if (r instanceof Promise) return r.catch((err) => ctx.log.error({ err, owner: session.bare }, "loading the blocklist failed"));
    });

    ctx.on(SessionEvents.closed, ({ session }) => {
      filters.get(session)?.();
      filters.delete(session);
      if (!sessions.hasResources(session.bare)) goOffline(session.bare);
    });

    ctx.onUnload(() => {
      for (const remove of filters.values()) remove();
      filters.clear();
    });

    // --- enforcement ---------------------------------------------------------------------------
    const blockedError = () =>
      new StanzaError("not-acceptable", "you have blocked this address", { extra: [x("blocked", { xmlns: NS.BLOCKING_ERRORS })] });

    /** No answer to errors and IQ results (RFC 6120 §8.3.1). */
    const answerable = (stanza: Element): boolean => {
      const type = stanza.attrs.type;
      return type !== "error" && !(stanza.name === "iq" && type === "result");
    };

    /** An error from `from` (the blocked party's address) routed back to the stanza's sender. */
    const routeError = (p: StanzaPayload, err: StanzaError): true | Promise<true> => {
      if (!answerable(p.stanza) || p.stanza.attrs.from === undefined) return true;
      const reply = errorReply(p.stanza, err);
      reply.attrs.from = p.to.toString();
      exempt.add(reply);
      return then(router.route(reply), () => true as const);
    };

    /** A blocked JID's stanza for the user (§3.3.1). */
    const refuseInbound = (kind: StanzaKind, p: StanzaPayload): true | Promise<true> => {
      const type = p.stanza.attrs.type;
      if (kind === "presence") return true;
      if (kind === "iq") return type === "get" || type === "set" ? routeError(p, new StanzaError("service-unavailable")) : true;
      if (type === "headline") return true;
      return routeError(p, new StanzaError("service-unavailable"));
    };

    // Outbound phase, for stanzas the user's clients send. Makes sure the sender's list is
    // loaded, refuses stanzas to JIDs the user blocked, and checks IQs to another account
    // against that account's list before the server answers them on the account's behalf.
    const onPre = (kind: StanzaKind) => (p: StanzaPayload): MaybeBool => {
      const origin = p.origin;
      if (!origin || exempt.has(p.stanza)) return false;
      const to = p.to;
      return then(load(origin.bare), (own): MaybeBool => {
        if (own.size > 0 && !sameAccount(p.from, to) && !isServer(to) && own.matches(to)) {
          if (answerable(p.stanza)) {
            const reply = errorReply(p.stanza, blockedError());
            if (reply.attrs.from === undefined) reply.attrs.from = to.toString();
            exempt.add(reply);
            origin.send(reply);
          }
          return true;
        }
        const type = p.stanza.attrs.type;
        if (kind !== "iq" || (type !== "get" && type !== "set") || to.local === "" || to.domain !== domain || sameAccount(p.from, to)) return false;
        return then(matchesList(to.bareString, p.from), (blocked) => (blocked ? refuseInbound("iq", p) : false));
      });
    };
    for (const kind of ["message", "presence", "iq"] as const) {
      const fn = onPre(kind);
      ctx.on(StanzaEvents.pre[kind].bare, fn, Priority.Policy);
      ctx.on(StanzaEvents.pre[kind].full, fn, Priority.Policy);
      ctx.on(StanzaEvents.pre[kind].host, fn, Priority.Policy);
    }
    // Availability broadcasts: the user's list must be in memory before the presence module
    // writes to local sessions (the session filter is synchronous).
    ctx.on(
      StanzaEvents.preBroadcast,
      ({ origin }: BroadcastPayload) => then(load(origin.bare), () => false),
      Priority.Policy,
    );

    /** Server-generated stanzas from a local user to a JID that user blocked. */
    const blockedBySender = (p: StanzaPayload): MaybeBool => {
      const from = p.from;
      if (p.origin !== undefined || from.local === "" || from.domain !== domain || sameAccount(from, p.to)) return false;
      return matchesList(from.bareString, p.to);
    };

    // Delivery phase, for everything addressed to a local account.
    const onDeliver = (kind: StanzaKind) => (p: StanzaPayload): MaybeBool => {
      if (exempt.has(p.stanza)) return false;
      const { from, to } = p;
      if (sameAccount(from, to) || isServer(from)) return false;
      return then(matchesList(to.bareString, from), (blocked): MaybeBool => (blocked ? refuseInbound(kind, p) : blockedBySender(p)));
    };
    for (const kind of ["message", "presence", "iq"] as const) {
      const fn = onDeliver(kind);
      ctx.on(StanzaEvents.deliver[kind].bare, fn, Priority.Policy);
      ctx.on(StanzaEvents.deliver[kind].full, fn, Priority.Policy);
    }
    ctx.on(StanzaEvents.routeRemote, (p: StanzaPayload) => (exempt.has(p.stanza) ? false : blockedBySender(p)), Priority.Policy);

    // --- the blocking command ------------------------------------------------------------------
    const withLock = <T>(owner: string, fn: () => Promise<T>): Promise<T> => {
      const prev = locks.get(owner) ?? Promise.resolve();
      const next = prev.then(fn, fn);
      const tail = next.catch(() => undefined);
      locks.set(owner, tail);
      void tail.then(() => {
        if (locks.get(owner) === tail) locks.delete(owner);
      });
      return next;
    };

    const prepare = (owner: string, jid: string): string => {
      let j: Jid;
      try {
        j = Jid.parse(jid);
      } catch (err) {
        throw new StanzaError("jid-malformed", err instanceof JidError ? `${jid}: ${err.message}` : `malformed JID ${jid}`);
      }
      if (j.bareString === owner) throw new StanzaError("not-acceptable", "an account cannot block itself");
      return j.toString();
    };

    const push = (owner: string, kind: "block" | "unblock", items: readonly string[]): void => {
      for (const s of sessions.resources(owner)) {
        if (!requested.has(s)) continue;
        s.send(x("iq", { type: "set", id: `blocking-push-${(++pushId).toString(36)}`, to: s.full }, x(kind, { xmlns: NS.BLOCKING }, ...items.map((jid) => x("item", { jid })))));
      }
    };

    /**
     * Addresses among `contacts` (bare JIDs) that `items` cover: the contact's bare JID for
     * account and domain items, the contact's full JID for items naming a resource.
     */
    const coveredContacts = (contacts: readonly string[], items: readonly Jid[]): Set<string> => {
      const out = new Set<string>();
      for (const c of contacts) {
        let cj: Jid;
        try {
          cj = Jid.parse(c);
        } catch {
          continue;
        }
        for (const e of items) {
          if (e.local !== "" ? e.bareString !== cj.bareString : e.domain !== cj.domain) continue;
          out.add(e.resource === "" ? cj.bareString : `${cj.bareString}/${e.resource}`);
        }
      }
      return out;
    };

    const parseAll = (items: readonly string[]): Jid[] => {
      const out: Jid[] = [];
      for (const i of items) {
        try {
          out.push(Jid.parse(i));
        } catch {
          // stored items are prepared JIDs; skip anything unreadable
        }
      }
      return out;
    };

    /** §3.3: the blocked JIDs see the user go offline, and the user sees them go offline. */
    const presenceOnBlock = async (owner: string, added: readonly string[]): Promise<void> => {
      const items = parseAll(added);
      const temp = new Blocklist(added);
      const own = sessions.resources(owner);
      const available = own.filter((s) => s.presence !== undefined);
      const send = async (stanza: Element) => {
        exempt.add(stanza);
        await router.route(stanza);
      };
      if (available.length > 0) {
        const targets = coveredContacts(await roster.subscribers(owner), items);
        for (const s of available) for (const t of targets) await send(x("presence", { from: s.full, to: t, type: "unavailable" }));
      }
      // Directed presence (RFC 6121 §4.6) to a now-blocked JID ends too.
      for (const s of own) {
        for (const d of [...s.directedTo]) {
          let dj: Jid;
          try {
            dj = Jid.parse(d);
          } catch {
            continue;
          }
          if (!temp.matches(dj)) continue;
          s.directedTo.delete(d);
          await send(x("presence", { from: s.full, to: d, type: "unavailable" }));
        }
      }
      if (available.length === 0) return;
      // Unavailable from the blocked contacts, to the user's available resources.
      const froms = new Set<string>();
      const accountItems = items.filter((e) => e.local !== "");
      const domainItems = items.filter((e) => e.local === "");
      for (const e of accountItems) {
        if (e.domain === domain) {
          const theirs = e.resource !== "" ? [sessions.get(e)].filter((s) => s !== undefined) : sessions.resources(e.bareString);
          for (const cs of theirs) if (cs.presence !== undefined) froms.add(cs.full);
        } else {
          froms.add(e.toString());
        }
      }
      if (domainItems.length > 0) {
        for (const c of coveredContacts(await roster.subscriptions(owner), domainItems)) {
          const cj = Jid.parse(c);
          if (cj.domain === domain) {
            for (const cs of sessions.resources(cj.bareString)) if (cs.presence !== undefined && temp.matches(cs.jid)) froms.add(cs.full);
          } else {
            froms.add(c);
          }
        }
      }
      for (const f of froms) {
        for (const s of available) {
          const pres = x("presence", { from: f, to: s.full, type: "unavailable" });
          exempt.add(pres);
          s.send(pres);
        }
      }
    };

    /** §3.4: the unblocked JIDs get the user's current presence again; the user's view is refreshed. */
    const presenceOnUnblock = async (owner: string, removed: readonly string[], remaining: Blocklist): Promise<void> => {
      const available = sessions.resources(owner).filter((s) => s.presence !== undefined);
      if (available.length === 0 || removed.length === 0) return;
      const items = parseAll(removed);
      for (const t of coveredContacts(await roster.subscribers(owner), items)) {
        const tj = Jid.parse(t);
        if (remaining.matches(tj)) continue;
        // Rendered by the presence module for the level the contact has now (docs/presence.md).
        await hooks.notify(PresenceEvents.resend, { owner, to: t });
      }
      for (const c of coveredContacts(await roster.subscriptions(owner), items)) {
        if (remaining.matches(Jid.parse(c))) continue;
        await router.route(x("presence", { type: "probe", from: owner, to: c }));
      }
    };

    const block = async (owner: string, jids: readonly string[]): Promise<string[]> => {
      const prepared = [...new Set(jids.map((j) => prepare(owner, j)))];
      if (prepared.length === 0) return [];
      return withLock(owner, async () => {
        const current = await load(owner);
        const fresh = prepared.filter((j) => !current.items.has(j)).length;
        if (current.size + fresh > MAX_BLOCKLIST_ITEMS) {
          throw new StanzaError("not-acceptable", `a blocklist holds at most ${MAX_BLOCKLIST_ITEMS} items`);
        }
        const added = await store.add(owner, prepared);
        const bl = await load(owner);
        bl.add(added);
        if (online.get(owner) === bl && added.length > 0) {
          indexItems(owner, added, true);
          for (const s of sessions.resources(owner)) ensureFilter(s);
          filterTargets(added);
        }
        push(owner, "block", prepared);
        await presenceOnBlock(owner, added);
        return added;
      }).then(async (added) => {
        // Outside the lock: a handler may itself change the list.
        if (added.length > 0) await hooks.notify(BlockingEvents.changed, { owner, blocked: added, unblocked: [] });
        return added;
      });
    };

    const unblock = async (owner: string, jids?: readonly string[]): Promise<string[]> => {
      const prepared = jids === undefined ? undefined : [...new Set(jids.map((j) => prepare(owner, j)))];
      return withLock(owner, async () => {
        const removed = prepared === undefined ? await store.clear(owner) : await store.remove(owner, prepared);
        const bl = await load(owner);
        bl.delete(removed);
        if (online.get(owner) === bl) indexItems(owner, removed, false);
        push(owner, "unblock", prepared ?? []);
        await presenceOnUnblock(owner, removed, bl);
        return removed;
      }).then(async (removed) => {
        if (removed.length > 0) await hooks.notify(BlockingEvents.changed, { owner, blocked: [], unblocked: removed });
        return removed;
      });
    };

    const service: BlockingService = {
      isBlocked(owner, jid) {
        const j = typeof jid === "string" ? Jid.parse(jid) : jid;
        if (j.local !== "" && j.bareString === owner) return false;
        return matchesList(owner, j);
      },
      async list(owner) {
        return (await load(owner)).list();
      },
      block,
      unblock,
    };
    ctx.provide(BlockingServiceToken, service);
    ctx.feature(NS.BLOCKING);

    // --- IQs (§3.1–3.5) ----------------------------------------------------------------------
    const itemJids = (el: Element): string[] =>
      el.getChildren("item").map((item) => {
        const jid = item.attrs.jid;
        if (jid === undefined || jid === "") throw new StanzaError("bad-request", "every <item/> needs a 'jid'");
        return jid;
      });

    ctx.iq("get", "self", NS.BLOCKING, "blocklist", async (p) => {
      if (p.origin) requested.add(p.origin);
      const bl = await load(p.from.bareString);
      return x("blocklist", { xmlns: NS.BLOCKING }, ...bl.list().map((jid) => x("item", { jid })));
    });
    ctx.iq("set", "self", NS.BLOCKING, "block", async (p, el) => {
      const jids = itemJids(el);
      if (jids.length === 0) throw new StanzaError("bad-request", "<block/> needs at least one <item/>");
      await block(p.from.bareString, jids);
      return null;
    });
    ctx.iq("set", "self", NS.BLOCKING, "unblock", async (p, el) => {
      const jids = itemJids(el);
      await unblock(p.from.bareString, jids.length === 0 ? undefined : jids);
      return null;
    });

    ctx.on(AccountEvents.removed, async ({ bare }) => {
      await withLock(bare, async () => {
        await store.removeOwner(bare);
        const bl = online.get(bare);
        if (bl) {
          indexItems(bare, bl.items, false);
          bl.clear();
        }
        recent.delete(bare);
      });
    });
  },
});
