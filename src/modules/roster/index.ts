// Roster (RFC 6121 §2) and presence subscriptions (RFC 6121 §3), with roster versioning
// (RFC 6121 §2.6) and pre-approval (§3.4). The subscription rules are in subscription.ts.
import { defineModule, Priority } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type StanzaPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents, StreamEvents } from "../../core/stream/stream-events.ts";
import { Element, x } from "../../xml/element.ts";
import { Jid } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountEvents, AccountServiceToken } from "../accounts/index.ts";
import { PresenceEvents } from "../presence/service.ts";
import { BlockingEvents, BlockingServiceToken, type BlockingService } from "../blocking/service.ts";
import { openRosterStore } from "./store/sql-roster-store.ts";
import { CONTACT_LEVELS, type ContactLevel, type RosterItem, type RosterStore } from "./store/types.ts";
import { inbound, outbound, type SubState, type SubscriptionType } from "./subscription.ts";
import { RosterEvents, RosterServiceToken, type RosterService } from "./service.ts";
import type { Session } from "../../core/session/session.ts";

export { RosterEvents, RosterServiceToken };
export type { RosterService, RosterItem, ContactLevel };
export { CONTACT_LEVELS };

const SUB_TYPES = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);
const MAX_NAME = 1024;
const MAX_GROUPS = 64;
const MAX_ITEMS = 10_000;

/**
 * A roster <item/>. The contact's privacy level (docs/presence.md) travels as
 * <privacy xmlns='urn:parley:presence:0' level='…'/>: 'blocked' when the owner's XEP-0191
 * blocklist covers the contact, else the level given to it (none = the domain's default).
 */
export function itemElement(item: RosterItem, blocked = false): Element {
  const attrs: Record<string, string> = { jid: item.jid, subscription: item.subscription };
  if (item.name !== undefined) attrs.name = item.name;
  if (item.askOut) attrs.ask = "subscribe";
  if (item.approved) attrs.approved = "true";
  const level = blocked ? "blocked" : item.level;
  return x(
    "item",
    attrs,
    ...item.groups.map((g) => x("group", null, g)),
    level !== undefined ? x("privacy", { xmlns: NS.PARLEY_PRESENCE, level }) : null,
  );
}

/** Values of <privacy level/> in a roster set: the four levels, 'blocked', or 'default' (no level). */
const SETTABLE_LEVELS = new Set<string>([...CONTACT_LEVELS, "blocked", "default"]);

interface CachedRoster {
  version: number;
  items: Map<string, RosterItem>;
}

export default defineModule({
  id: "roster",
  requires: [AccountServiceToken],
  provides: [RosterServiceToken],
  async setup(ctx) {
    const store: RosterStore = await openRosterStore(ctx.db);
    const accounts = ctx.use(AccountServiceToken);
    const hooks = ctx.host.hooks;
    const domain = ctx.domain;
    // Rosters of online users, loaded once and kept in step with every write below.
    const cache = new Map<string, Promise<CachedRoster>>();

    const load = (owner: string): Promise<CachedRoster> => {
      let c = cache.get(owner);
      if (!c) {
        c = store.list(owner).then((r) => ({ version: r.version, items: new Map(r.items.map((i) => [i.jid, i])) }));
        if (ctx.sessions.hasResources(owner)) cache.set(owner, c);
        c.catch(() => cache.delete(owner));
      }
      return c;
    };

    // XEP-0191 blocklists (the blocking module requires this one, so it is looked up lazily).
    const blockingService = (): BlockingService | undefined => {
      try {
        return ctx.use(BlockingServiceToken);
      } catch {
        return undefined;
      }
    };
    /** Whether the owner's blocklist covers the contact; answered from memory (online owners) or false. */
    const blockedNow = (owner: string, contact: string): boolean => {
      const b = blockingService();
      if (!b) return false;
      try {
        return b.isBlocked(owner, contact) === true;
      } catch {
        return false;
      }
    };
    const isBlocked = async (owner: string, contact: string): Promise<boolean> => {
      const b = blockingService();
      if (!b) return false;
      try {
        return await b.isBlocked(owner, contact);
      } catch {
        return false;
      }
    };

    const isLocalAccount = async (bare: Jid): Promise<boolean> =>
      bare.domain === domain && bare.local !== "" && (ctx.sessions.hasResources(bare.bareString) || (await accounts.exists(bare.local)));

    const push = (owner: string, item: RosterItem | { jid: string; subscription: "remove" }, version: number) => {
      const itemEl =
        "askOut" in item ? itemElement(item, blockedNow(owner, item.jid)) : x("item", { jid: item.jid, subscription: "remove" });
      for (const s of ctx.sessions.resources(owner)) {
        if (!s.interested) continue;
        s.send(x("iq", { type: "set", id: "push-" + version.toString(36) + "-" + Math.random().toString(36).slice(2, 8), to: s.full }, x("query", { xmlns: NS.ROSTER, ver: String(version) }, itemEl)));
      }
    };

    /** Writes an item (or removes it), updates the cache and pushes to interested resources. */
    const writeItem = async (owner: string, item: RosterItem | undefined, contact: string): Promise<void> => {
      let version: number | undefined;
      if (item) version = await store.put(owner, item);
      else version = await store.remove(owner, contact);
      const c = cache.get(owner);
      if (c) {
        const r = await c;
        if (item) r.items.set(contact, item);
        else r.items.delete(contact);
        if (version !== undefined) r.version = version;
      }
      if (version !== undefined) push(owner, item ?? { jid: contact, subscription: "remove" }, version);
      await hooks.notify(RosterEvents.itemChanged, { owner, contact, item });
    };

    const stateOf = async (owner: string, contact: string): Promise<{ item: RosterItem | undefined; state: SubState }> => {
      const item = (await load(owner)).items.get(contact);
      const pending = (await store.listPendingIn(owner)).some((p) => p.contact === contact);
      return {
        item,
        state: item
          ? { subscription: item.subscription, askOut: item.askOut, approved: item.approved, pendingIn: pending }
          : { subscription: "none", askOut: false, approved: false, pendingIn: pending },
      };
    };

    /** Persists a transition: the item (created only when it carries state) and the pending request. */
    const applyState = async (owner: string, contact: string, item: RosterItem | undefined, prev: SubState, next: SubState, status?: string) => {
      if (next.pendingIn !== prev.pendingIn) {
        if (next.pendingIn) await store.addPendingIn(owner, contact, status);
        else await store.removePendingIn(owner, contact);
      }
      const itemChanged = next.subscription !== prev.subscription || next.askOut !== prev.askOut || next.approved !== prev.approved;
      if (!itemChanged) return;
      if (!item && next.subscription === "none" && !next.askOut && !next.approved) return;
      const updated: RosterItem = item
        ? { ...item, subscription: next.subscription, askOut: next.askOut, approved: next.approved }
        : { jid: contact, subscription: next.subscription, askOut: next.askOut, approved: next.approved, groups: [] };
      await writeItem(owner, updated, contact);
    };

    const subscriptionStanza = (type: string, from: string, to: string, status?: string) =>
      x("presence", { type, from, to }, status !== undefined ? x("status", null, status) : null);

    // --- outbound subscription stanzas (the user acts) ------------------------------------
    const onOutbound = async (p: StanzaPayload): Promise<boolean> => {
      const type = p.stanza.attrs.type;
      if (type === undefined || !SUB_TYPES.has(type)) return false;
      const owner = p.from.bareString;
      const contact = p.to.bare;
      if (contact.bareString === owner) return true; // subscribing to oneself is meaningless; ignore
      const { item, state } = await stateOf(owner, contact.bareString);
      const t = outbound(type as SubscriptionType, state);
      await applyState(owner, contact.bareString, item, state, t.next);
      if (t.forward) {
        // RFC 6121 §3.1.2: subscription stanzas travel from the bare JID, to the bare JID.
        const out = new Element("presence", { ...p.stanza.attrs, from: owner, to: contact.bareString }, p.stanza.children);
        delete out.attrs.id;
        if (p.stanza.attrs.id !== undefined) out.attrs.id = p.stanza.attrs.id;
        await ctx.router.deliver({ stanza: out, origin: undefined, from: p.from.bare, to: contact });
      }
      if (t.sendPresence) await hooks.notify(RosterEvents.presenceAccess, { owner, contact: contact.bareString, grant: true });
      if (t.sendUnavailable) await hooks.notify(RosterEvents.presenceAccess, { owner, contact: contact.bareString, grant: false });
      return true;
    };
    ctx.on(StanzaEvents.pre.presence.bare, onOutbound);
    ctx.on(StanzaEvents.pre.presence.full, onOutbound);

    // --- inbound subscription stanzas (a contact acts on a local user) ---------------------
    const onInbound = async (p: StanzaPayload): Promise<boolean> => {
      const type = p.stanza.attrs.type;
      if (type === undefined || !SUB_TYPES.has(type)) return false;
      const owner = p.to.bare;
      const contact = p.from.bareString;
      if (!(await isLocalAccount(owner))) {
        // §3.1.3: a request for a user that does not exist is answered with unsubscribed.
        if (type === "subscribe") await ctx.router.route(subscriptionStanza("unsubscribed", owner.bareString, contact));
        return true;
      }
      const { item, state } = await stateOf(owner.bareString, contact);
      const t = inbound(type as SubscriptionType, state);
      const status = p.stanza.getChildText("status");
      await applyState(owner.bareString, contact, item, state, t.next, status);
      if (t.forward) {
        const out = new Element("presence", { ...p.stanza.attrs, from: contact, to: owner.bareString }, p.stanza.children);
        for (const s of ctx.sessions.resources(owner.bareString)) if (s.presence !== undefined) s.send(out);
      }
      if (t.autoReplySubscribed) await ctx.router.route(subscriptionStanza("subscribed", owner.bareString, contact));
      if (t.sendPresence) await hooks.notify(RosterEvents.presenceAccess, { owner: owner.bareString, contact, grant: true });
      if (t.sendUnavailable) await hooks.notify(RosterEvents.presenceAccess, { owner: owner.bareString, contact, grant: false });
      return true;
    };
    ctx.on(StanzaEvents.deliver.presence.bare, onInbound);
    ctx.on(StanzaEvents.deliver.presence.full, onInbound);

    // Stored requests are delivered when a resource becomes available (RFC 6121 §3.1.3).
    ctx.on(PresenceEvents.initial, async (session: Session) => {
      for (const pending of await store.listPendingIn(session.bare)) {
        session.send(subscriptionStanza("subscribe", pending.contact, session.bare, pending.status));
      }
    });

    // --- roster IQs ------------------------------------------------------------------------
    ctx.feature(NS.ROSTER, { server: false });
    ctx.on(StreamEvents.features, (features) => [...features, x("ver", { xmlns: NS.ROSTER_VER }), x("sub", { xmlns: NS.PRE_APPROVAL })],
    );

    ctx.iq("get", "self", NS.ROSTER, "query", async (p, query) => {
      const owner = p.from.bareString;
      if (p.origin) p.origin.interested = true;
      const roster = await load(owner);
      const ver = query.attrs.ver;
      // RFC 6121 §2.6.3: an up-to-date client gets an empty result; otherwise the full roster
      // (we do not keep per-version diffs, which the RFC allows).
      if (ver !== undefined && ver === String(roster.version)) return null;
      const b = blockingService();
      if (b) await b.isBlocked(owner, ctx.domain); // loads the blocklist, so the checks below are answered from memory
      return x("query", { xmlns: NS.ROSTER, ver: String(roster.version) }, ...[...roster.items.values()].map((i) => itemElement(i, blockedNow(owner, i.jid))));
    });

    ctx.iq("set", "self", NS.ROSTER, "query", async (p, query) => {
      const owner = p.from.bareString;
      const items = query.getChildren("item");
      if (items.length !== 1) throw new StanzaError("bad-request", "a roster set must contain exactly one <item/>");
      const el = items[0];
      let contact: Jid;
      try {
        contact = Jid.parse(el.attrs.jid ?? "");
      } catch (err) {
        throw new StanzaError("bad-request", `invalid item jid: ${(err as Error).message}`);
      }
      if (!contact.isBare) throw new StanzaError("bad-request", "roster items are bare JIDs");
      const contactBare = contact.bareString;
      if (el.attrs.subscription === "remove") {
        const roster = await load(owner);
        const existing = roster.items.get(contactBare);
        if (!existing) throw new StanzaError("item-not-found", `${contactBare} is not in the roster`);
        await removeWithHandshake(owner, contactBare, existing);
        return null;
      }
      const name = el.attrs.name;
      if (name !== undefined && name.length > MAX_NAME) throw new StanzaError("not-acceptable", `the name is longer than ${MAX_NAME} characters`);
      const groups = el.getChildren("group").map((g) => g.text());
      if (groups.some((g) => g === "")) throw new StanzaError("not-acceptable", "group names must not be empty");
      if (new Set(groups).size !== groups.length) throw new StanzaError("bad-request", "duplicate group");
      if (groups.length > MAX_GROUPS) throw new StanzaError("not-acceptable", `at most ${MAX_GROUPS} groups per item`);
      const roster = await load(owner);
      const existing = roster.items.get(contactBare);
      if (!existing && roster.items.size >= MAX_ITEMS) throw new StanzaError("resource-constraint", `a roster holds at most ${MAX_ITEMS} items`);
      // Privacy level (docs/presence.md): absent → unchanged (standard clients know nothing of it).
      let level: ContactLevel | undefined = existing?.level;
      let block: boolean | undefined;
      const privacy = el.getChildren("privacy", NS.PARLEY_PRESENCE);
      if (privacy.length > 1) throw new StanzaError("bad-request", "at most one <privacy/> per item");
      if (privacy.length === 1) {
        const v = privacy[0].attrs.level ?? "";
        if (!SETTABLE_LEVELS.has(v)) {
          throw new StanzaError("bad-request", `privacy level '${v}' is not valid; expected friends-family, workgroup, colleagues, external, blocked or default`);
        }
        if (v === "blocked") block = true;
        else {
          block = false;
          level = v === "default" ? undefined : (v as ContactLevel);
        }
        if (contactBare === owner) throw new StanzaError("not-acceptable", "an account has no privacy level for itself");
      }
      let unblock = false;
      if (block !== undefined) {
        const b = blockingService();
        if (block && !b) throw new StanzaError("service-unavailable", "blocking is not available on this server");
        if (!block && b && (await isBlocked(owner, contactBare))) {
          // Another level for a blocked contact unblocks it — only possible when the contact's
          // own JID is the blocklist item (a whole blocked domain cannot have exceptions).
          if (!(await b.list(owner)).includes(contactBare)) {
            throw new StanzaError("not-allowed", `${contactBare} is blocked through a domain or resource item of the blocklist; unblock that item instead`);
          }
          unblock = true;
        }
      }
      // The client may not set subscription state (RFC 6121 §2.1.2.5): keep the server's.
      const item: RosterItem = {
        jid: contactBare,
        name: name === "" ? undefined : name,
        groups,
        subscription: existing?.subscription ?? "none",
        askOut: existing?.askOut ?? false,
        approved: existing?.approved ?? false,
      };
      if (level !== undefined) item.level = level;
      await writeItem(owner, item, contactBare);
      // Blocked is the XEP-0191 blocklist: the blocking command does the rest (pushes, presence),
      // and BlockingEvents.changed pushes this item again with its new level.
      if (block === true) await blockingService()!.block(owner, [contactBare]);
      else if (unblock) await blockingService()!.unblock(owner, [contactBare]);
      else if (level !== existing?.level) await hooks.notify(RosterEvents.levelChanged, { owner, contact: contactBare, level });
      return null;
    });

    // A XEP-0191 block or unblock shows in the roster as the contact's level: push the items it covers.
    ctx.on(BlockingEvents.changed, async ({ owner, blocked, unblocked }) => {
      const roster = await load(owner);
      const touched = new Set<string>();
      for (const raw of [...blocked, ...unblocked]) {
        let j: Jid;
        try {
          j = Jid.parse(raw);
        } catch {
          continue;
        }
        if (j.resource !== "") continue; // a resource item does not block the contact as such
        if (j.local !== "") {
          if (roster.items.has(j.bareString)) touched.add(j.bareString);
        } else {
          for (const c of roster.items.keys()) if (c.endsWith("@" + j.domain)) touched.add(c);
        }
      }
      for (const contact of touched) {
        const item = roster.items.get(contact);
        if (item) await writeItem(owner, item, contact);
      }
    });

    /** RFC 6121 §2.5.2: removing an item cancels subscriptions both ways. */
    const removeWithHandshake = async (owner: string, contact: string, existing: RosterItem) => {
      const pending = (await store.listPendingIn(owner)).some((p) => p.contact === contact);
      const hadFrom = existing.subscription === "from" || existing.subscription === "both";
      const hadTo = existing.subscription === "to" || existing.subscription === "both" || existing.askOut;
      await writeItem(owner, undefined, contact);
      if (pending) await store.removePendingIn(owner, contact);
      const ownerJid = Jid.parse(owner);
      const contactJid = Jid.parse(contact);
      if (hadFrom) await hooks.notify(RosterEvents.presenceAccess, { owner, contact, grant: false });
      if (hadTo) await ctx.router.deliver({ stanza: subscriptionStanza("unsubscribe", owner, contact), origin: undefined, from: ownerJid, to: contactJid });
      if (hadFrom || pending) await ctx.router.deliver({ stanza: subscriptionStanza("unsubscribed", owner, contact), origin: undefined, from: ownerJid, to: contactJid });
    };

    // --- lifecycle ---------------------------------------------------------------------------
    // Late: after the unavailable broadcast (presence, enterprise presence), which reads this
    // roster; dropped first, it was loaded from storage twice more on every logout.
    ctx.on(
      SessionEvents.closed,
      ({ session }) => {
        if (!ctx.sessions.hasResources(session.bare)) cache.delete(session.bare);
      },
      Priority.Late,
    );
    ctx.on(SessionEvents.bound, (session: Session) => {
      // Keep the roster cached from the first session on.
      if (!cache.has(session.bare)) void load(session.bare);
    });
    ctx.on(AccountEvents.removed, async ({ bare }) => {
      const roster = await store.list(bare);
      for (const item of roster.items) {
        const hadFrom = item.subscription === "from" || item.subscription === "both";
        const hadTo = item.subscription === "to" || item.subscription === "both" || item.askOut;
        const from = Jid.parse(bare);
        const to = Jid.parse(item.jid);
        if (hadTo) await ctx.router.deliver({ stanza: subscriptionStanza("unsubscribe", bare, item.jid), origin: undefined, from, to });
        if (hadFrom) await ctx.router.deliver({ stanza: subscriptionStanza("unsubscribed", bare, item.jid), origin: undefined, from, to });
      }
      cache.delete(bare);
      await store.removeOwner(bare);
    });

    const service: RosterService = {
      async items(owner) {
        return (await load(owner)).items;
      },
      async item(owner, contact) {
        return (await load(owner)).items.get(contact);
      },
      async subscribers(owner) {
        const out: string[] = [];
        for (const i of (await load(owner)).items.values()) if (i.subscription === "from" || i.subscription === "both") out.push(i.jid);
        return out;
      },
      async subscriptions(owner) {
        const out: string[] = [];
        for (const i of (await load(owner)).items.values()) if (i.subscription === "to" || i.subscription === "both") out.push(i.jid);
        return out;
      },
      async addMutual(owner, contact, opts) {
        const a = (await load(owner)).items.get(contact);
        const b = (await load(contact)).items.get(owner);
        await writeItem(owner, { jid: contact, name: opts?.name ?? a?.name, groups: opts?.group ? [opts.group] : a?.groups ?? [], subscription: "both", askOut: false, approved: false }, contact);
        await writeItem(contact, { jid: owner, name: opts?.contactName ?? b?.name, groups: opts?.contactGroup ? [opts.contactGroup] : b?.groups ?? [], subscription: "both", askOut: false, approved: false }, owner);
        await hooks.notify(RosterEvents.presenceAccess, { owner, contact, grant: true });
        await hooks.notify(RosterEvents.presenceAccess, { owner: contact, contact: owner, grant: true });
      },
      async importMutual(rows) {
        const out: Array<{ owner: string; item: RosterItem }> = [];
        for (const r of rows) {
          out.push({ owner: r.owner, item: { jid: r.contact, name: r.name, groups: r.group ? [r.group] : [], subscription: "both", askOut: false, approved: false } });
          out.push({ owner: r.contact, item: { jid: r.owner, groups: r.group ? [r.group] : [], subscription: "both", askOut: false, approved: false } });
        }
        const n = await store.importMany(out);
        // Online users see the change through a fresh load.
        for (const r of rows) {
          cache.delete(r.owner);
          cache.delete(r.contact);
        }
        return n;
      },
      async removeItem(owner, contact) {
        const existing = (await load(owner)).items.get(contact);
        if (!existing) return false;
        await removeWithHandshake(owner, contact, existing);
        return true;
      },
    };
    ctx.provide(RosterServiceToken, service);
  },
});
