// Offline messages: stored durably when nobody can take them, delivered when a resource sends
// initial presence with a non-negative priority (RFC 6121 §8.5.2.1.1, XEP-0160 best practice).
import { defineModule } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import type { Session } from "../../core/session/session.ts";
import { AccountEvents, AccountServiceToken } from "../accounts/index.ts";
import { PresenceEvents } from "../presence/service.ts";
import { openOfflineStore } from "./store/sql-offline-store.ts";
import { OfflineServiceToken, type OfflineService } from "./service.ts";
import { parseStoredStanza } from "./stored-stanza.ts";

export { OfflineServiceToken };
export type { OfflineService };

const DELIVERY_BATCH = 200;

export default defineModule({
  id: "offline",
  requires: [AccountServiceToken],
  provides: [OfflineServiceToken],
  async setup(ctx) {
    const store = await openOfflineStore(ctx.db);
    const quota = ctx.config.limits.offlineQuota;
    // Serialise delivery per user so two resources logging in at once cannot both take a message.
    const delivering = new Map<string, Promise<void>>();

    const service: OfflineService = {
      async store(owner, stanza) {
        if ((await store.count(owner)) >= quota) {
          throw new StanzaError("service-unavailable", `the recipient's offline storage is full (${quota} messages)`);
        }
        const stamped = stanza.clone();
        // XEP-0203: when the server received it, so clients show the right time — unless this
        // server stamped it already (XEP-0198 stores an undelivered one with its first stamp).
        const ownDelay = stamped.children.some((c) => typeof c !== "string" && c.name === "delay" && c.attrs.xmlns === NS.DELAY && c.attrs.from === ctx.domain);
        if (!ownDelay) stamped.children.push(x("delay", { xmlns: NS.DELAY, from: ctx.domain, stamp: new Date().toISOString() }, "Offline Storage"));
        await store.push(owner, stamped.toString(), new Date());
      },
      count: (owner) => store.count(owner),
    };
    ctx.provide(OfflineServiceToken, service);
    ctx.feature(NS.OFFLINE);

    const deliver = async (session: Session) => {
      for (;;) {
        const batch = await store.list(session.bare, DELIVERY_BATCH);
        if (batch.length === 0) return;
        const delivered: number[] = [];
        for (const m of batch) {
          if (session.closing) break;
          let el: Element;
          try {
            el = parseStoredStanza(m.stanza);
          } catch (err) {
            ctx.log.error({ err, id: m.id, owner: session.bare }, "unreadable offline message kept in storage");
            continue;
          }
          session.send(el);
          delivered.push(m.id);
        }
        if (delivered.length) await store.delete(session.bare, delivered);
        if (session.closing || delivered.length < batch.length) return;
      }
    };

    ctx.on(PresenceEvents.initial, (session: Session) => {
      if (session.priority < 0) return;
      const prev = delivering.get(session.bare) ?? Promise.resolve();
      const next = prev.then(() => deliver(session)).catch((err) => ctx.log.error({ err, owner: session.bare }, "offline delivery failed"));
      delivering.set(session.bare, next);
      return next.finally(() => {
        if (delivering.get(session.bare) === next) delivering.delete(session.bare);
      });
    });

    ctx.on(AccountEvents.removed, ({ bare }) => store.removeOwner(bare));
  },
});
