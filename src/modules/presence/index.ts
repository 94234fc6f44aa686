// Presence (RFC 6121 §4) with enterprise presence (docs/presence.md): every presence a user's
// resources send out carries the user's ONE aggregated state, rendered for the level each
// watcher has (privacy matrix) — broadcasts, probe answers, presence at login, directed
// presence, subscription grants, unblocks and level changes alike. Fan-out renders once per
// level (renderPerLevel) and sends the same bytes to every watcher of that level with only
// 'to' inserted. Subscriptions are the roster module's; states, levels and timers the
// enterprise presence engine's (src/modules/enterprise-presence/).
import { defineModule } from "../../core/module/module.ts";
import { StanzaEvents, type StanzaPayload, type BroadcastPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import { StanzaError, errorReply } from "../../core/errors.ts";
import { Element, x } from "../../xml/element.ts";
import { Jid } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import type { Session } from "../../core/session/session.ts";
import { RosterEvents, RosterServiceToken } from "../roster/index.ts";
import {
  EnterprisePresenceServiceToken, project, renderPerLevel, renderPresence, withTo, xmppShowStatus,
  type PresenceState, type RenderedPresence, type ViewerLevel,
} from "../enterprise-presence/index.ts";
import { PresenceEvents } from "./service.ts";

export { PresenceEvents };

const AVAILABILITY = new Set([undefined, "unavailable"]);

/** Children of a client's presence that the server writes itself (the rest travel on, e.g. XEP-0115 <c/>). */
function isOwnChild(el: Element): boolean {
  const ns = el.attrs.xmlns;
  if (ns === NS.PARLEY_PRESENCE || ns === NS.DELAY) return true;
  if (ns === NS.IDLE && el.name === "idle") return true;
  return (ns === undefined || ns === NS.CLIENT) && (el.name === "show" || el.name === "status" || el.name === "priority");
}

function extrasOf(presence: Element | undefined): Element[] {
  if (!presence) return [];
  const out: Element[] = [];
  for (const c of presence.children) if (typeof c !== "string" && !isOwnChild(c)) out.push(c);
  return out;
}

/** The stanza with 'to' set (a fresh element sharing children; for filters and routing). */
function addressed(stanza: Element, to: string): Element {
  return new Element("presence", { to, ...stanza.attrs }, stanza.children);
}

/** One recipient of a user's presence. */
interface Watcher {
  /** A local session (undefined: a remote contact, routed). */
  session?: Session;
  /** The 'to' address: the contact's bare JID, or an own resource's full JID. */
  to: string;
  level: ViewerLevel;
  lang: string;
}

export default defineModule({
  id: "presence",
  requires: [RosterServiceToken, EnterprisePresenceServiceToken],
  async setup(ctx) {
    const roster = ctx.use(RosterServiceToken);
    const ep = ctx.use(EnterprisePresenceServiceToken);
    const sessions = ctx.sessions;
    const hooks = ctx.host.hooks;
    const languages = ep.settings.languages;

    const availableResources = (owner: string): Session[] => sessions.resources(owner).filter((s) => s.presence !== undefined && !s.closing);

    /** Render options for a resource of `owner` and a reader's language. */
    const optsFor = (owner: string, from: Session | string, lang: string) => {
      const langsOrdered = lang === languages[0] ? languages : [lang, ...languages.filter((l) => l !== lang)];
      const base = { langs: langsOrdered, freeForChat: ep.freeForChat(owner), ...(lang !== languages[0] ? { lang } : {}) };
      if (typeof from === "string") return { ...base, from };
      return { ...base, from: from.full, priority: from.priority, extra: extrasOf(from.presence) };
    };

    /** Whether `level` saw the user available in `state` (an unavailable is only sent to those who did). */
    const visibleIn = (state: PresenceState | undefined, level: ViewerLevel): boolean =>
      state !== undefined && xmppShowStatus(project(state, undefined, level)).available;

    const sendTo = (w: Watcher, r: { xml: string; stanza: Element }): void | Promise<void> => {
      if (w.session) {
        if (w.session.closing) return;
        w.session.sendRaw(withTo(r.xml, w.to), () => addressed(r.stanza, w.to));
        return;
      }
      return ctx.router.route(addressed(r.stanza, w.to)) as void | Promise<void>;
    };

    /** Everyone who receives `owner`'s broadcasts: subscribers' available sessions (or the remote contact), and the owner's own available resources. */
    const watchersOf = async (owner: string, extraOwn?: Session): Promise<Watcher[]> => {
      const resolve = await ep.levelResolver(owner);
      const out: Watcher[] = [];
      for (const contact of await roster.subscribers(owner)) {
        let jid: Jid;
        try {
          jid = Jid.parse(contact);
        } catch {
          continue;
        }
        if (ctx.router.isLocalDomain(jid.domain)) {
          const theirs = availableResources(contact);
          if (theirs.length === 0) continue;
          const lv = resolve(jid);
          const level = lv instanceof Promise ? await lv : lv;
          for (const s of theirs) out.push({ session: s, to: contact, level, lang: ep.languageOf(s) });
        } else {
          out.push({ to: contact, level: await resolve(jid), lang: languages[0] });
        }
      }
      for (const own of sessions.resources(owner)) {
        if (own.closing || (own.presence === undefined && own !== extraOwn)) continue;
        out.push({ session: own, to: own.full, level: "self", lang: ep.languageOf(own) });
      }
      return out;
    };

    /**
     * Sends the presence of `resources` (each with its own from/priority/<c/>, all with the
     * aggregate) to `watchers`: one renderPerLevel per resource and language, shared bytes.
     * `previous`: an unavailable rendering only goes to levels that saw the user available.
     */
    const fanOut = async (owner: string, state: PresenceState, previous: PresenceState | undefined, resources: readonly Session[], watchers: readonly Watcher[]) => {
      if (resources.length === 0 || watchers.length === 0) return;
      const byLang = new Map<string, Set<ViewerLevel>>();
      for (const w of watchers) {
        let levels = byLang.get(w.lang);
        if (!levels) byLang.set(w.lang, (levels = new Set()));
        levels.add(w.level);
      }
      for (const r of resources) {
        const renderings = new Map<string, Map<ViewerLevel, RenderedPresence>>();
        for (const [lang, levels] of byLang) renderings.set(lang, renderPerLevel(state, undefined, levels, optsFor(owner, r, lang)));
        for (const w of watchers) {
          const rendered = renderings.get(w.lang)!.get(w.level)!;
          if (!rendered.available && w.level !== "self" && !visibleIn(previous, w.level)) continue;
          const sent = sendTo(w, rendered);
          if (sent) await sent;
        }
      }
    };

    // --- the aggregate changed: every resource again, to everyone -----------------------------------
    ctx.on(PresenceEvents.changed, async ({ user, state, previous }) => {
      const resources = availableResources(user);
      if (resources.length === 0) return;
      await fanOut(user, state, previous, resources, await watchersOf(user));
    });

    /** The user's current presence (each available resource, rendered for `to`'s level) to one address. */
    const sendCurrentPresence = async (owner: string, to: string, unavailableIfNone: boolean) => {
      let toJid: Jid;
      try {
        toJid = Jid.parse(to);
      } catch {
        return;
      }
      const level = await ep.level(owner, toJid);
      const state = await ep.stateOf(owner);
      const target = toJid.resource !== "" ? sessions.get(toJid) : undefined;
      const lang = ep.languageOf(target);
      let sent = false;
      for (const s of availableResources(owner)) {
        const r = renderPresence(project(state, undefined, level), optsFor(owner, s, lang));
        if (!r.available) continue;
        sent = true;
        await ctx.router.route(addressed(r.stanza, to));
      }
      if (!sent && unavailableIfNone) {
        // Offline, Appear Offline and "no availability for this level" look the same.
        const r = renderPresence(project(state, undefined, level), optsFor(owner, owner, lang));
        await ctx.router.route(addressed(r.stanza, to));
      }
    };

    /** A resource stopped being available: unavailable to watchers (with the offline state when it was the last). */
    const leave = async (session: Session, directed: readonly string[], echo: boolean) => {
      const owner = session.bare;
      const before = ep.current(owner);
      await ep.resourceGone(session);
      const after = ep.current(owner) ?? before;
      const plain = x("presence", { from: session.full, type: "unavailable" });
      const plainXml = plain.toString();
      const last = availableResources(owner).length === 0;
      const watchers = await watchersOf(owner, echo ? session : undefined);
      const byLang = new Map<string, Set<ViewerLevel>>();
      for (const w of watchers) {
        let levels = byLang.get(w.lang);
        if (!levels) byLang.set(w.lang, (levels = new Set()));
        levels.add(w.level);
      }
      const finals = new Map<string, Map<ViewerLevel, RenderedPresence>>();
      if (last && after) for (const [lang, levels] of byLang) finals.set(lang, renderPerLevel(after, undefined, levels, optsFor(owner, session.full, lang)));
      for (const w of watchers) {
        if (w.level === "self") {
          await sendTo(w, { xml: plainXml, stanza: plain });
          continue;
        }
        if (!visibleIn(before, w.level)) continue; // they never saw this resource
        const r = last ? finals.get(w.lang)?.get(w.level) : undefined;
        await sendTo(w, r ?? { xml: plainXml, stanza: plain });
      }
      for (const t of directed) await ctx.router.route(x("presence", { from: session.full, to: t, type: "unavailable" }));
    };

    // --- availability broadcasts from clients -----------------------------------------------------
    ctx.on(StanzaEvents.preBroadcast, async ({ stanza, origin }: BroadcastPayload) => {
      const type = stanza.attrs.type;
      if (!AVAILABILITY.has(type)) {
        if (type !== "error") origin.send(errorReply(stanza, new StanzaError("bad-request", `presence of type '${type}' needs a 'to' address`)));
        return true;
      }
      if (type === "unavailable") {
        const wasAvailable = origin.presence !== undefined;
        origin.presence = undefined;
        const directed = [...origin.directedTo];
        origin.directedTo.clear();
        if (wasAvailable) await leave(origin, directed, true);
        else for (const t of directed) await ctx.router.route(x("presence", { from: origin.full, to: t, type: "unavailable" }));
        await hooks.notify(PresenceEvents.unavailable, origin);
        return true;
      }
      const priorityText = stanza.getChildText("priority");
      let priority = 0;
      if (priorityText !== undefined) {
        priority = Number(priorityText.trim());
        if (!Number.isInteger(priority) || priority < -128 || priority > 127) {
          origin.send(errorReply(stanza, new StanzaError("bad-request", "priority must be an integer from -128 to 127")));
          return true;
        }
      }
      const initial = origin.presence === undefined;
      const prevPresence = origin.presence;
      const prevPriority = origin.priority;
      origin.priority = priority;
      origin.presence = stanza;
      let result: Awaited<ReturnType<typeof ep.clientPresence>>;
      try {
        result = await ep.clientPresence(origin, stanza, initial);
      } catch (err) {
        // Storage failed (the manual state or note could not be written): nothing changed.
        ctx.log.error({ err, jid: origin.full }, "presence could not be applied");
        result = { ok: false, error: new StanzaError("internal-server-error", "the server could not store this presence; try again") };
      }
      if (!result.ok) {
        // docs/presence.md: the presence is refused as a whole, with a text saying what is wrong.
        origin.presence = prevPresence;
        origin.priority = prevPriority;
        origin.send(errorReply(stanza, result.error));
        return true;
      }
      // Changed → every resource went out already (PresenceEvents.changed); else only this one.
      if (!result.changed) {
        const state = ep.current(origin.bare);
        if (state) await fanOut(origin.bare, state, state, [origin], await watchersOf(origin.bare));
      }
      if (initial) {
        // RFC 6121 §4.2.2: a user is implicitly subscribed to their own presence, so the new
        // resource also learns of the account's other available resources (as if it had
        // probed its own bare JID; Prosody and ejabberd do the same).
        const own = ep.current(origin.bare);
        if (own) {
          const lang = ep.languageOf(origin);
          for (const sibling of availableResources(origin.bare)) {
            if (sibling === origin) continue;
            const r = renderPresence(project(own, undefined, "self"), optsFor(origin.bare, sibling, lang));
            origin.sendRaw(withTo(r.xml, origin.full), () => addressed(r.stanza, origin.full));
          }
        }
        // Probes (RFC 6121 §4.3): answered directly for local contacts, rendered for the level
        // each contact gives this user.
        const lang = ep.languageOf(origin);
        for (const contact of await roster.subscriptions(origin.bare)) {
          let jid: Jid;
          try {
            jid = Jid.parse(contact);
          } catch {
            continue;
          }
          if (ctx.router.isLocalDomain(jid.domain)) {
            const theirs = availableResources(contact);
            const state = ep.current(contact);
            if (theirs.length === 0 || !state) continue;
            const level = await ep.level(contact, origin.jid);
            const projection = project(state, undefined, level);
            for (const s of theirs) {
              const r = renderPresence(projection, optsFor(contact, s, lang));
              if (r.available) origin.sendRaw(withTo(r.xml, origin.full), () => addressed(r.stanza, origin.full));
            }
          } else {
            await ctx.router.route(x("presence", { type: "probe", from: origin.bare, to: contact }));
          }
        }
        await hooks.notify(PresenceEvents.initial, origin);
      }
      return true;
    });

    // --- directed presence (RFC 6121 §4.6): remembered so unavailable follows on disconnect, and
    // carrying the aggregate rendered for the target's level (the client's own <show/>/<status/>
    // for that one recipient are kept: it chose to say them).
    const onDirected = async (p: StanzaPayload): Promise<boolean> => {
      const { stanza, origin, to } = p;
      const type = stanza.attrs.type;
      if (!origin || !AVAILABILITY.has(type)) return false;
      const target = to.toString();
      if (type !== undefined) {
        origin.directedTo.delete(target);
        return false; // unavailable: delivered as sent
      }
      origin.directedTo.add(target);
      const state = ep.current(origin.bare);
      if (origin.presence === undefined || !state) return false; // no broadcast yet (e.g. joining a room first): as sent
      const level = await ep.level(origin.bare, to);
      const r = renderPresence(project(state, undefined, level), {
        ...optsFor(origin.bare, origin, ep.languageOf(to.resource !== "" ? sessions.get(to) : undefined)),
        extra: extrasOf(stanza),
      });
      let out: Element;
      if (r.available) {
        out = addressed(r.stanza.clone(), target);
        const show = stanza.getChild("show");
        const statuses = stanza.getChildren("status");
        if (show) {
          out.removeChildren("show");
          out.children.unshift(show);
        }
        if (statuses.length) {
          out.removeChildren("status");
          const at = out.children.findIndex((c) => typeof c !== "string" && c.name !== "show");
          out.children.splice(at < 0 ? out.children.length : at, 0, ...statuses);
        }
      } else {
        out = x("presence", { from: origin.full, to: target, type: "unavailable" });
      }
      await ctx.router.deliver({ stanza: out, origin, from: p.from, to });
      return true;
    };
    ctx.on(StanzaEvents.pre.presence.bare, onDirected);
    ctx.on(StanzaEvents.pre.presence.full, onDirected);
    ctx.on(StanzaEvents.pre.presence.host, ({ stanza }) => AVAILABILITY.has(stanza.attrs.type)); // presence to the server itself: nothing to do

    const isAllowedToProbe = async (owner: string, from: Jid): Promise<boolean> => {
      if (from.bareString === owner) return true;
      const item = await roster.item(owner, from.bareString);
      return item !== undefined && (item.subscription === "from" || item.subscription === "both");
    };

    // Inbound availability and probes for a local user's bare JID.
    ctx.on(StanzaEvents.deliver.presence.bare, async ({ stanza, from, to }: StanzaPayload) => {
      const type = stanza.attrs.type;
      if (type === "probe") {
        if (await isAllowedToProbe(to.bareString, from)) await sendCurrentPresence(to.bareString, from.toString(), true);
        return true;
      }
      if (!AVAILABILITY.has(type) && type !== "error") return false;
      for (const s of sessions.resources(to.bareString)) if (s.presence !== undefined) s.send(stanza);
      return true;
    });
    ctx.on(StanzaEvents.deliver.presence.full, async ({ stanza, from, to }: StanzaPayload) => {
      const type = stanza.attrs.type;
      if (type === "probe") {
        if (await isAllowedToProbe(to.bareString, from)) {
          const s = sessions.get(to);
          const state = await ep.stateOf(to.bareString);
          if (s?.presence) {
            const level = await ep.level(to.bareString, from);
            const r = renderPresence(project(state, undefined, level), optsFor(to.bareString, s, languages[0]));
            if (r.available) await ctx.router.route(addressed(r.stanza, from.toString()));
          }
        }
        return true;
      }
      if (!AVAILABILITY.has(type) && type !== "error") return false;
      sessions.get(to)?.send(stanza);
      return true;
    });

    // Subscription changes: share or withdraw availability at once.
    ctx.on(RosterEvents.presenceAccess, async ({ owner, contact, grant }) => {
      if (grant) return sendCurrentPresence(owner, contact, false);
      for (const s of availableResources(owner)) await ctx.router.route(x("presence", { from: s.full, to: contact, type: "unavailable" }));
    });
    // An unblock (or anything else that changes what a contact may see): the current presence again.
    ctx.on(PresenceEvents.resend, ({ owner, to }) => sendCurrentPresence(owner, to, false));
    // A new privacy level for a contact that receives the presence: re-rendered for it.
    ctx.on(RosterEvents.levelChanged, async ({ owner, contact }) => {
      const item = await roster.item(owner, contact);
      if (!item || (item.subscription !== "from" && item.subscription !== "both")) return;
      await sendCurrentPresence(owner, contact, false);
    });

    // A session that ends without saying goodbye is unavailable (RFC 6121 §4.5.1).
    ctx.on(SessionEvents.closed, async ({ session }) => {
      const directed = [...session.directedTo];
      session.directedTo.clear();
      if (session.presence === undefined && directed.length === 0) return;
      const wasAvailable = session.presence !== undefined;
      session.presence = undefined;
      if (wasAvailable) await leave(session, directed, false);
      else for (const t of directed) await ctx.router.route(x("presence", { from: session.full, to: t, type: "unavailable" }));
      await hooks.notify(PresenceEvents.unavailable, session);
    });
  },
});
