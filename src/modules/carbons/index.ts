// XEP-0280 Message Carbons: every carbons-enabled resource of a user sees both sides of the
// user's 1:1 conversations. Messages a resource sends are copied (<sent/>) to the user's other
// enabled resources before delivery; messages the user receives are copied (<received/>) to
// the enabled resources that did not get the original (MessagingEvents.delivered tells which
// did). Eligibility is in rules.ts.
import { defineModule, Priority } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type StanzaPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import type { Session } from "../../core/session/session.ts";
import type { Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { MessagingEvents, type MessageDelivered } from "../messaging/service.ts";
import { isCarbonEligible, prepareForwarded, wrapCarbon } from "./rules.ts";

export default defineModule({
  id: "carbons",
  setup(ctx) {
    /** Carbons-enabled sessions by bare JID (an entry exists only while non-empty). */
    const enabled = new Map<string, Set<Session>>();
    /** Messages whose <private/> element was removed on delivery (XEP-0280 §9): never copied. */
    const privateMessages = new WeakSet<Element>();

    ctx.feature(NS.CARBONS);

    const enable = (session: Session, on: boolean): void => {
      let set = enabled.get(session.bare);
      if (on) {
        if (session.closing) return;
        if (!set) enabled.set(session.bare, (set = new Set()));
        set.add(session);
      } else if (set) {
        set.delete(session);
        if (set.size === 0) enabled.delete(session.bare);
      }
    };

    // §4–5: enable / disable for the requesting session; repeats are not errors (§10.1).
    for (const [name, on] of [["enable", true], ["disable", false]] as const) {
      ctx.iq("set", ["self", "host"], NS.CARBONS, name, (p) => {
        if (!p.origin) throw new StanzaError("not-allowed", "carbons can only be changed by the user's own sessions");
        enable(p.origin, on);
        return null;
      });
    }
    ctx.on(SessionEvents.closed, ({ session }) => enable(session, false));

    // §8: copies of what a resource sends, to the user's other enabled resources. Observes only
    // (returns false); runs after policy (blocking) has refused what will not be sent.
    const onSent = (p: StanzaPayload): false => {
      const origin = p.origin;
      if (!origin) return false;
      const set = enabled.get(origin.bare);
      if (!set || (set.size === 1 && set.has(origin))) return false;
      // To one's own account: the recipients get it as <received/> copies (see onDelivered).
      if (p.to.local === origin.jid.local && p.to.domain === origin.jid.domain) return false;
      if (!isCarbonEligible(p.stanza, "sent")) return false;
      const inner = prepareForwarded(p.stanza);
      for (const s of set) if (s !== origin) s.send(wrapCarbon("sent", inner, origin.bare, s.full));
      return false;
    };
    ctx.on(StanzaEvents.pre.message.bare, onSent, Priority.Early);
    ctx.on(StanzaEvents.pre.message.full, onSent, Priority.Early);

    // §9: the receiving server removes <private/> before delivery; remember the message.
    const stripPrivate = (p: StanzaPayload): false => {
      const el = p.stanza.getChild("private", NS.CARBONS);
      if (el) {
        privateMessages.add(p.stanza);
        p.stanza.children = p.stanza.children.filter((c) => c !== el);
      }
      return false;
    };
    ctx.on(StanzaEvents.deliver.message.bare, stripPrivate, Priority.Rewrite);
    ctx.on(StanzaEvents.deliver.message.full, stripPrivate, Priority.Rewrite);

    // §7: copies of what the user receives, to the enabled resources that did not get it.
    ctx.on(MessagingEvents.delivered, ({ stanza, from, to, recipients }: MessageDelivered) => {
      const owner = to.bareString;
      const set = enabled.get(owner);
      if (!set) return;
      if (privateMessages.has(stanza) || !isCarbonEligible(stanza, "received")) return;
      const self = from.local === to.local && from.domain === to.domain ? from.toString() : undefined;
      let inner: Element | undefined;
      for (const s of set) {
        if (s.closing || recipients.includes(s) || s.full === self) continue;
        inner ??= prepareForwarded(stanza);
        s.send(wrapCarbon("received", inner, owner, s.full));
      }
    });
  },
});
