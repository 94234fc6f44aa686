// Service discovery (XEP-0030) for the server and for user accounts.
import { defineModule } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { RosterServiceToken } from "../roster/index.ts";

export default defineModule({
  id: "disco",
  requires: [RosterServiceToken],
  setup(ctx) {
    const disco = ctx.host.disco;
    const roster = ctx.use(RosterServiceToken);
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
      if (q.attrs.node !== undefined) throw new StanzaError("item-not-found", `no such node: ${q.attrs.node}`);
      return infoResult(undefined, [{ category: "account", type: "registered" }], disco.accountFeatures);
    });
    ctx.iq("get", ["self", "bare"], NS.DISCO_ITEMS, "query", async (p) => {
      if (!(await mayDiscoverAccount(p.to.bareString, p.from.bareString))) throw new StanzaError("service-unavailable");
      return x("query", { xmlns: NS.DISCO_ITEMS });
    });
  },
});
