// 1:1 message delivery rules of RFC 6121 §8.5 for local recipients: by type, to the bare or a
// full JID, highest non-negative priority, offline storage when nobody can take it.
import { defineModule } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type StanzaPayload } from "../../core/router/stanza-events.ts";
import type { Session } from "../../core/session/session.ts";
import { AccountServiceToken } from "../accounts/index.ts";
import { OfflineServiceToken } from "../offline/index.ts";
import { NS } from "../../protocol/ns.ts";
import type { Element } from "../../xml/element.ts";
import { selectRecipients } from "./rules.ts";
import { MessagingEvents } from "./service.ts";

export { MessagingEvents };
export type { MessageDelivered } from "./service.ts";

export default defineModule({
  id: "messaging",
  requires: [AccountServiceToken, OfflineServiceToken],
  async setup(ctx) {
    const accounts = ctx.use(AccountServiceToken);
    const offline = ctx.use(OfflineServiceToken);
    const sessions = ctx.sessions;
    ctx.feature(NS.CHATSTATES);
    const hooks = ctx.host.hooks;
    /** MessagingEvents.delivered; no promise is created unless some module listens. */
    const delivered = (p: StanzaPayload, recipients: Session[], stored: boolean): void => {
      if (hooks.has(MessagingEvents.delivered)) void hooks.notify(MessagingEvents.delivered, { stanza: p.stanza, from: p.from, to: p.to, recipients, offline: stored });
    };

    const toBare = (p: StanzaPayload): boolean | Promise<boolean> => {
      const { stanza, to } = p;
      const type = stanza.attrs.type ?? "normal";
      const resources: Session[] = sessions.resources(to.bareString);
      const recipients = selectRecipients(type, resources);
      if (recipients.length > 0) {
        for (const s of recipients) s.send(stanza);
        delivered(p, recipients, false);
        return true;
      }
      return noLiveRecipient(p, type);
    };

    const noLiveRecipient = async (p: StanzaPayload, type: string): Promise<boolean> => {
      const { stanza, to } = p;
      if (type === "error" || type === "headline") return true; // §8.5.2.2: silently ignored
      const exists = await accounts.exists(to.local);
      if (!exists || type === "groupchat") {
        await ctx.router.bounce(stanza, new StanzaError("service-unavailable"), to.bare);
        return true;
      }
      // normal/chat: store if it carries content worth keeping; bare chat states are transient.
      if (!hasStorableContent(stanza)) {
        delivered(p, [], false);
        return true;
      }
      try {
        await offline.store(to.bareString, stanza);
      } catch (err) {
        if (err instanceof StanzaError) await ctx.router.bounce(stanza, err, to.bare);
        else throw err;
        return true;
      }
      delivered(p, [], true);
      return true;
    };

    ctx.on(StanzaEvents.deliver.message.bare, toBare);

    ctx.on(StanzaEvents.deliver.message.full, (p: StanzaPayload) => {
      const session = sessions.get(p.to);
      if (session) {
        session.send(p.stanza);
        delivered(p, [session], false);
        return true;
      }
      const type = p.stanza.attrs.type ?? "normal";
      // §8.5.3.2.1: no such resource → chat/normal as if to the bare JID; others not delivered.
      if (type === "chat" || type === "normal") return toBare({ ...p, to: p.to.bare });
      if (type === "groupchat") return Promise.resolve(ctx.router.bounce(p.stanza, new StanzaError("service-unavailable"), p.to)).then(() => true);
      return true;
    });
  },
});

/** Messages that only carry a chat state (XEP-0085) or nothing at all are not stored offline. */
function hasStorableContent(stanza: Element): boolean {
  for (const c of stanza.children) {
    if (typeof c === "string") continue;
    if (c.attrs.xmlns === NS.CHATSTATES) continue;
    if (c.name === "thread") continue;
    return true;
  }
  return false;
}
