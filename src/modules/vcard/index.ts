// vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153, with the server rules of XEP-0398
// §4): users store one vCard each, anyone may read it through the user's bare JID, and the
// server stamps the photo hash into its users' available presence.
import { defineModule, Priority } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type BroadcastPayload, type StanzaPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import { x, type Element } from "../../xml/element.ts";
import type { Jid } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountEvents, AccountServiceToken } from "../accounts/index.ts";
import { EnterprisePresenceServiceToken, filterCard, type EnterprisePresenceService } from "../enterprise-presence/index.ts";
import { openVcardStore } from "./store/sql-vcard-store.ts";
import { PhotoError, applyAvatarUpdate, isEmptyVcard, parseElement, photoHashOf } from "./avatar.ts";
import { VcardEvents, VcardServiceToken, type VcardService } from "./service.ts";

export { VcardEvents, VcardServiceToken };
export type { VcardService };

type Hash = string | null;

export default defineModule({
  id: "vcard",
  requires: [AccountServiceToken],
  provides: [VcardServiceToken],
  async setup(ctx) {
    const store = await openVcardStore(ctx.db);
    const maxBytes = ctx.config.vcard.maxBytes;
    const hooks = ctx.host.hooks;
    const sessions = ctx.sessions;

    // Photo hashes of online users: presence is stamped without a storage read. A pending load
    // is kept as its promise so concurrent first presences share it.
    const hashes = new Map<string, Hash | Promise<Hash>>();
    // Writes per owner are serialised so the cache follows the order of the stored writes.
    const writing = new Map<string, Promise<unknown>>();

    const readHash = async (owner: string): Promise<Hash> => {
      const h = await store.photoHash(owner);
      return h === undefined ? "" : h;
    };

    const loadHash = (owner: string): Hash | Promise<Hash> => {
      const cached = hashes.get(owner);
      if (cached !== undefined) return cached;
      const p = readHash(owner);
      if (!sessions.hasResources(owner)) return p;
      hashes.set(owner, p);
      p.then(
        (h) => {
          if (hashes.get(owner) === p) hashes.set(owner, h);
        },
        () => {
          if (hashes.get(owner) === p) hashes.delete(owner);
        },
      );
      return p;
    };

    const serialized = (owner: string, fn: () => Promise<void>): Promise<void> => {
      const prev = writing.get(owner) ?? Promise.resolve();
      const next = prev.catch(() => undefined).then(fn);
      writing.set(owner, next);
      return next.finally(() => {
        if (writing.get(owner) === next) writing.delete(owner);
      });
    };

    // The viewer's privacy level comes from the enterprise presence module (loaded after this
    // one, so looked up when used). Without it, vCards are not filtered.
    const presence = (): EnterprisePresenceService | undefined => {
      try {
        return ctx.use(EnterprisePresenceServiceToken);
      } catch {
        return undefined;
      }
    };

    const service: VcardService = {
      async get(owner: string, viewer?: Jid) {
        // The single read path: others get the fields of the matrix rows their level sees
        // (enterprise-presence card-fields.ts; docs/presence.md "Contact card and PEP filtering").
        const ep = viewer !== undefined && viewer.bareString !== owner ? presence() : undefined;
        const level = ep && viewer ? await ep.level(owner, viewer) : "self";
        if (level === "blocked") return undefined;
        const rec = await store.get(owner);
        if (!rec) return undefined;
        const el = parseElement(rec.xml);
        el.attrs.xmlns = NS.VCARD;
        return level === "self" ? el : filterCard(el, level);
      },
      async photoHash(owner) {
        return loadHash(owner);
      },
      async set(owner, vcard) {
        let result: { photoHash: Hash; photoChanged: boolean } = { photoHash: "", photoChanged: false };
        await serialized(owner, async () => {
          const el = vcard.clone();
          // Keep 'version' and namespace declarations (children may use their prefixes).
          const attrs: Record<string, string> = { xmlns: NS.VCARD };
          for (const [k, v] of Object.entries(el.attrs)) if (k === "version" || k.startsWith("xmlns:")) attrs[k] = v;
          el.attrs = attrs;
          const xml = el.toString();
          const bytes = Buffer.byteLength(xml);
          if (bytes > maxBytes) throw new StanzaError("not-acceptable", `the vCard is ${bytes} bytes; at most ${maxBytes} are accepted (a smaller photo helps)`);
          let hash: Hash;
          try {
            hash = photoHashOf(el);
          } catch (err) {
            if (err instanceof PhotoError) throw new StanzaError("bad-request", err.message);
            throw err;
          }
          try {
            parseElement(xml);
          } catch {
            throw new StanzaError("bad-request", "the vCard uses namespace prefixes declared outside it");
          }
          const before = await loadHash(owner);
          if (isEmptyVcard(el)) {
            await store.remove(owner);
            hash = "";
          } else {
            await store.set(owner, xml, hash);
          }
          if (hashes.has(owner) || sessions.hasResources(owner)) hashes.set(owner, hash);
          result = { photoHash: hash, photoChanged: before !== hash };
        });
        await hooks.notify(VcardEvents.changed, { owner, ...result });
        return result;
      },
      async remove(owner) {
        let removed = false;
        await serialized(owner, async () => {
          const before = await loadHash(owner);
          removed = await store.remove(owner);
          if (hashes.has(owner)) hashes.set(owner, "");
          if (removed) void hooks.notify(VcardEvents.changed, { owner, photoHash: "", photoChanged: before !== "" });
        });
        return removed;
      },
    };
    ctx.provide(VcardServiceToken, service);
    ctx.feature(NS.VCARD);

    const emptyVcard = () => x("vCard", { xmlns: NS.VCARD });

    // XEP-0054 §3.1: one's own vCard (no 'to', or one's bare JID). No vCard → an empty one.
    ctx.iq("get", "self", NS.VCARD, "vCard", async (p) => (await service.get(p.from.bareString, p.from)) ?? emptyVcard());
    // §3.3: another user's vCard through their bare JID, answered by the server. No vCard and
    // no such user get the same answer, so the query cannot probe which accounts exist.
    ctx.iq("get", "bare", NS.VCARD, "vCard", async (p) => {
      // A blocked requester is refused by the blocking module (service-unavailable) before
      // this; get() answers nothing for Blocked as well.
      const card = await service.get(p.to.bareString, p.from);
      if (!card) throw new StanzaError("item-not-found", "no vCard is published for this address");
      return card;
    });
    // §3.2: updating one's own vCard; another user's → forbidden.
    ctx.iq("set", "self", NS.VCARD, "vCard", async (p, vcard) => {
      await service.set(p.from.bareString, vcard);
      return null;
    });
    ctx.iq("set", "bare", NS.VCARD, "vCard", () => {
      throw new StanzaError("forbidden", "only the owner of an account may change its vCard");
    });

    // XEP-0153 / XEP-0398 §4: the hash goes into every available presence the user sends,
    // broadcast and directed, before the presence module stores and fans it out.
    const stamp = (stanza: Element, owner: string): boolean | Promise<boolean> => {
      if (stanza.attrs.type !== undefined) return false;
      const h = loadHash(owner);
      if (typeof h === "string" || h === null) {
        applyAvatarUpdate(stanza, h);
        return false;
      }
      return h.then(
        (v) => {
          applyAvatarUpdate(stanza, v);
          return false;
        },
        (err) => {
          ctx.log.warn({ err, owner }, "vCard photo hash unavailable; presence sent as is");
          return false;
        },
      );
    };
    ctx.on(StanzaEvents.preBroadcast, ({ stanza, origin }: BroadcastPayload) => stamp(stanza, origin.bare), Priority.Rewrite);
    const directed = ({ stanza, origin }: StanzaPayload) => (origin ? stamp(stanza, origin.bare) : false);
    ctx.on(StanzaEvents.pre.presence.bare, directed, Priority.Rewrite);
    ctx.on(StanzaEvents.pre.presence.full, directed, Priority.Rewrite);

    // Cache life: warmed when a resource binds, dropped when the user's last resource leaves.
    ctx.on(SessionEvents.bound, (session) => {
      const h = loadHash(session.bare);
      if (typeof h === "object" && h !== null) h.catch(() => undefined);
    });
    ctx.on(SessionEvents.closed, ({ session }) => {
      if (!sessions.hasResources(session.bare)) hashes.delete(session.bare);
    });
    ctx.on(AccountEvents.removed, async ({ bare }) => {
      await store.remove(bare);
      hashes.delete(bare);
    });
  },
});
