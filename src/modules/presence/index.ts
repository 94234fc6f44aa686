// Presence (RFC 6121 §4): availability broadcast to subscribers, probes at login, directed
// presence, unavailable on disconnect, priorities. Subscriptions themselves are the roster
// module's; this module only decides who sees which availability and sends it.
import { defineModule } from "../../core/module/module.ts";
import { StanzaEvents, type StanzaPayload, type BroadcastPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import { StanzaError, errorReply } from "../../core/errors.ts";
import { Element, escapeAttr } from "../../xml/element.ts";
import { Jid } from "../../jid/jid.ts";
import type { Session } from "../../core/session/session.ts";
import { RosterEvents, RosterServiceToken } from "../roster/index.ts";
import { PresenceEvents } from "./service.ts";

export { PresenceEvents };

const AVAILABILITY = new Set([undefined, "unavailable"]);

/** Serializes a presence once; each recipient gets the same bytes with only 'to' inserted. */
class SharedPresence {
  readonly stanza: Element;
  private readonly head: string;
  private readonly tail: string;
  constructor(stanza: Element) {
    this.stanza = stanza;
    const s = stanza.toString(); // stanza has no 'to'
    this.head = s.slice(0, "<presence".length);
    this.tail = s.slice("<presence".length);
  }
  sendTo(session: Session, to: string): void {
    if (session.closing) return;
    const stanza = this.stanza;
    session.sendRaw(this.head + " to='" + escapeAttr(to) + "'" + this.tail, () => new Element("presence", { ...stanza.attrs, to }, stanza.children));
  }
}

function unavailableFrom(full: string): Element {
  return new Element("presence", { from: full, type: "unavailable" });
}

export default defineModule({
  id: "presence",
  requires: [RosterServiceToken],
  async setup(ctx) {
    const roster = ctx.use(RosterServiceToken);
    const sessions = ctx.sessions;
    const hooks = ctx.host.hooks;

    /** Sends a presence from a local user to a contact's bare JID: local resources directly, else routed. */
    const sendToContact = (shared: SharedPresence, contact: string): void | Promise<void> => {
      const jid = Jid.parse(contact);
      if (ctx.router.isLocalDomain(jid.domain)) {
        for (const s of sessions.resources(contact)) if (s.presence !== undefined) shared.sendTo(s, contact);
        return;
      }
      const out = new Element("presence", { ...shared.stanza.attrs, to: contact }, shared.stanza.children);
      return ctx.router.route(out) as void | Promise<void>;
    };

    /** RFC 6121 §4.2.2 / §4.4.2: to every subscriber and to the user's own available resources. */
    const broadcast = async (session: Session, stanza: Element, extra: Iterable<string> = []) => {
      const shared = new SharedPresence(stanza);
      for (const contact of await roster.subscribers(session.bare)) await sendToContact(shared, contact);
      for (const own of sessions.resources(session.bare)) if (own.presence !== undefined || own === session) shared.sendTo(own, own.full);
      for (const target of extra) {
        const jid = Jid.parse(target);
        const local = sessions.get(jid);
        if (local) shared.sendTo(local, target);
        else if (!ctx.router.isLocalDomain(jid.domain)) await ctx.router.route(new Element("presence", { ...stanza.attrs, to: target }, stanza.children));
      }
    };

    /** The current presence of each available resource of `owner`, sent to `to` (probe answer). */
    const sendCurrentPresence = async (owner: string, to: string, unavailableIfNone: boolean) => {
      const available = sessions.resources(owner).filter((s) => s.presence !== undefined);
      if (available.length === 0) {
        if (unavailableIfNone) await ctx.router.route(new Element("presence", { from: owner, to, type: "unavailable" }));
        return;
      }
      for (const s of available) await ctx.router.route(new Element("presence", { ...s.presence!.attrs, from: s.full, to }, s.presence!.children));
    };

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
        if (wasAvailable || directed.length) await broadcast(origin, stanza, directed);
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
      origin.priority = priority;
      origin.presence = stanza;
      await broadcast(origin, stanza);
      if (initial) {
        // RFC 6121 §4.2.2: a user is implicitly subscribed to their own presence, so the new
        // resource also learns of the account's other available resources (as if it had
        // probed its own bare JID; Prosody and ejabberd do the same). Without this a second
        // device never saw the first one until that one changed its status.
        for (const own of sessions.resources(origin.bare)) {
          if (own !== origin && own.presence !== undefined) origin.send(new Element("presence", { ...own.presence.attrs, from: own.full, to: origin.full }, own.presence.children));
        }
        // Probes (RFC 6121 §4.3): answered directly for local contacts.
        for (const contact of await roster.subscriptions(origin.bare)) {
          const jid = Jid.parse(contact);
          if (ctx.router.isLocalDomain(jid.domain)) {
            for (const s of sessions.resources(contact)) {
              if (s.presence !== undefined) origin.send(new Element("presence", { ...s.presence.attrs, from: s.full, to: origin.full }, s.presence.children));
            }
          } else {
            await ctx.router.route(new Element("presence", { type: "probe", from: origin.bare, to: contact }));
          }
        }
        await hooks.notify(PresenceEvents.initial, origin);
      }
      return true;
    });

    // Directed presence (RFC 6121 §4.6): remembered so unavailable follows on disconnect.
    const onDirected = ({ stanza, origin, to }: StanzaPayload) => {
      const type = stanza.attrs.type;
      if (!origin || !AVAILABILITY.has(type)) return false;
      const target = to.toString();
      if (type === undefined) origin.directedTo.add(target);
      else origin.directedTo.delete(target);
      return false; // continue to delivery
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
          if (s?.presence) await ctx.router.route(new Element("presence", { ...s.presence.attrs, from: s.full, to: from.toString() }, s.presence.children));
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
      for (const s of sessions.resources(owner)) if (s.presence !== undefined) await ctx.router.route(new Element("presence", { from: s.full, to: contact, type: "unavailable" }));
    });

    // A session that ends without saying goodbye is unavailable (RFC 6121 §4.5.1).
    ctx.on(SessionEvents.closed, async ({ session }) => {
      const directed = [...session.directedTo];
      session.directedTo.clear();
      if (session.presence === undefined && directed.length === 0) return;
      const wasAvailable = session.presence !== undefined;
      session.presence = undefined;
      const stanza = unavailableFrom(session.full);
      if (wasAvailable) await broadcast(session, stanza, directed);
      else for (const t of directed) await ctx.router.route(new Element("presence", { from: session.full, to: t, type: "unavailable" }));
      await hooks.notify(PresenceEvents.unavailable, session);
    });
  },
});
