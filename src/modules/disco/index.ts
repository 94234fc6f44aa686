// Service discovery (XEP-0030) for the server and for user accounts.
import { defineModule } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { DROP, defineFoldEvent } from "../../core/hooks/hooks.ts";
import type { Jid } from "../../jid/jid.ts";
import { RosterServiceToken } from "../roster/index.ts";

export interface AccountDiscoContext {
  /** The account queried (bare JID). */
  owner: string;
  /** Who asks (the owner or a contact allowed to discover the account). */
  requester: Jid;
}

/** Hooks through which other modules extend what an account's bare JID answers. */
export const DiscoEvents = Object.freeze({
  /** disco#items of an account without a node: modules append their <item/>s (PEP nodes). */
  accountItems: defineFoldEvent<Element[], AccountDiscoContext>("disco/account-items"),
  /** disco#info of a node of an account: the module that owns the node returns the whole <query/>. */
  accountNodeInfo: defineFoldEvent<Element | undefined, AccountDiscoContext & { node: string }>("disco/account-node-info"),
});

export default defineModule({
  id: "disco",
  requires: [RosterServiceToken],
  setup(ctx) {
    const disco = ctx.host.disco;
    const roster = ctx.use(RosterServiceToken);
    const hooks = ctx.host.hooks;
    disco.identities.push({ category: "server", type: "im", name: "Parley" });
    ctx.feature(NS.DISCO_INFO, { account: true });
    ctx.feature(NS.DISCO_ITEMS, { account: true });

    const infoResult = (node: string | undefined, identities: typeof disco.identities, features: Iterable<string>) =>
      x(
        "query",
        node ? { xmlns: NS.DISCO_INFO, node } : { xmlns: NS.DISCO_INFO },
        ...identities.map((i) => x("identity", i.name ? { category: i.category, type: i.type, name: i.name } : { category: i.category, type: i.type })),
        ...[...features].sort().map((f) => x("feature", { var: f })),
      );

    ctx.iq("get", "host", NS.DISCO_INFO, "query", (_p, q) => {
      if (q.attrs.node !== undefined) throw new StanzaError("item-not-found", `no such node: ${q.attrs.node}`);
      return infoResult(undefined, disco.identities, disco.features);
    });
    ctx.iq("get", "host", NS.DISCO_ITEMS, "query", (_p, q) => {
      if (q.attrs.node !== undefined) throw new StanzaError("item-not-found", `no such node: ${q.attrs.node}`);
      return x("query", { xmlns: NS.DISCO_ITEMS });
    });

    // An account's bare JID answers for the account (XEP-0030 §3.1) — only to the user and to
    // contacts who may see their presence, so the query cannot probe who exists.
    const mayDiscoverAccount = async (owner: string, requester: string) => {
      if (owner === requester) return true;
      const item = await roster.item(owner, requester);
      return item !== undefined && (item.subscription === "from" || item.subscription === "both");
    };
    ctx.iq("get", ["self", "bare"], NS.DISCO_INFO, "query", async (p, q) => {
      if (!(await mayDiscoverAccount(p.to.bareString, p.from.bareString))) throw new StanzaError("service-unavailable");
      const node = q.attrs.node;
      if (node !== undefined) {
        const r = hooks.has(DiscoEvents.accountNodeInfo) ? await hooks.fold(DiscoEvents.accountNodeInfo, undefined, { owner: p.to.bareString, requester: p.from, node }) : undefined;
        if (r === undefined || r === DROP) throw new StanzaError("item-not-found", `no such node: ${node}`);
        return r;
      }
      return infoResult(undefined, [{ category: "account", type: "registered" }, ...disco.accountIdentities], disco.accountFeatures);
    });
    ctx.iq("get", ["self", "bare"], NS.DISCO_ITEMS, "query", async (p, q) => {
      if (!(await mayDiscoverAccount(p.to.bareString, p.from.bareString))) throw new StanzaError("service-unavailable");
      if (q.attrs.node !== undefined) return x("query", { xmlns: NS.DISCO_ITEMS, node: q.attrs.node });
      const items = hooks.has(DiscoEvents.accountItems) ? await hooks.fold(DiscoEvents.accountItems, [], { owner: p.to.bareString, requester: p.from }) : [];
      return x("query", { xmlns: NS.DISCO_ITEMS }, ...(items === DROP ? [] : items));
    });
  },
});
