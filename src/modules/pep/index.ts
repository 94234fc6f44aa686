// Personal Eventing Protocol (XEP-0163): every account's bare JID is a virtual pubsub service
// (XEP-0060 subset). Publish with auto-create and publish-options, retract, items retrieval,
// node creation/configuration/deletion/purge, notifications filtered by XEP-0115 +notify
// (CapsService), the last published item to newly available or newly entitled resources, and
// the account's disco#info identity/features and disco#items. Who may see what is decided in
// one place, decide() — the node's access model, then the PepEvents.mayDeliver fold the
// enterprise presence module hooks. See docs/protocol.md (XEP-0163).
import { randomBytes, randomUUID } from "node:crypto";
import { defineModule, Priority } from "../../core/module/module.ts";
import { DROP } from "../../core/hooks/hooks.ts";
import { StanzaError } from "../../core/errors.ts";
import { StanzaEvents, type StanzaPayload } from "../../core/router/stanza-events.ts";
import { SessionEvents } from "../../core/stream/stream-events.ts";
import type { Session } from "../../core/session/session.ts";
import { Element, x } from "../../xml/element.ts";
import { Jid } from "../../jid/jid.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountEvents } from "../accounts/index.ts";
import { RosterEvents, RosterServiceToken } from "../roster/index.ts";
import { PresenceEvents } from "../presence/service.ts";
import { CapsEvents, CapsServiceToken } from "../caps/index.ts";
import { DiscoEvents } from "../disco/index.ts";
import { openPepStore } from "./store/sql-pep-store.ts";
import type { PepItem, PepNode, PepNodeConfig, PepStore } from "./store/types.ts";
import {
  ConfigFormError,
  FORM_NODE_CONFIG,
  FORM_PUBLISH_OPTIONS,
  configForm,
  defaultConfig,
  parseConfigForm,
  unmetPrecondition,
} from "./config.ts";
import { parsePayload } from "./payload.ts";
import { PepEvents, PepServiceToken, type PepAction, type PepDeliveryQuery, type PepService } from "./service.ts";

export { PepEvents, PepServiceToken };
export type { PepService, PepDeliveryQuery, PepAction, PepItem, PepNode, PepNodeConfig };

/** Nodes one account may have. */
const MAX_NODES = 1000;
/** Longest node name / item id accepted (characters). */
const MAX_NAME = 1024;
/** Prefix of notification ids: errors coming back for them are swallowed (XEP-0163 §4.3.1). */
const ID_PREFIX = "pep-";

/** XEP-0060 features advertised on accounts (`http://jabber.org/protocol/pubsub#<name>`). */
const FEATURES = [
  "access-open",
  "access-presence",
  "access-roster",
  "access-whitelist",
  "auto-create",
  "auto-subscribe",
  "config-node",
  "create-and-configure",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "filtered-notifications",
  "item-ids",
  "last-published",
  "persistent-items",
  "presence-notifications",
  "publish",
  "publish-options",
  "purge-nodes",
  "retract-items",
  "retrieve-default",
  "retrieve-items",
];

interface CachedItem {
  item: PepItem;
  /** The payload element (parsed from item.payload when it came from the store). */
  el: Element | undefined;
}

interface NodeState {
  node: PepNode;
  last: CachedItem | undefined;
}

type NodeMap = Map<string, NodeState>;

function pubsubError(condition: ConstructorParameters<typeof StanzaError>[0], pubsubCondition?: string, text?: string, attrs?: Record<string, string>): StanzaError {
  return new StanzaError(condition, text, { extra: pubsubCondition ? [x(pubsubCondition, { xmlns: NS.PUBSUB_ERRORS, ...attrs })] : [] });
}

function unsupported(feature: string): StanzaError {
  return pubsubError("feature-not-implemented", "unsupported", `${feature} is not supported by this PEP service`, { feature });
}

/** XEP-0060 §6.5.9 (and §6.1.3): why an entity may not retrieve items, by access model. */
function denial(config: Readonly<PepNodeConfig>): StanzaError {
  switch (config.accessModel) {
    case "roster":
      return pubsubError("not-authorized", "not-in-roster-group");
    case "whitelist":
      return pubsubError("not-allowed", "closed-node");
    default:
      return pubsubError("not-authorized", "presence-subscription-required");
  }
}

/** The action element of a <pubsub/> request (publish-options / configure ride along). */
function actionOf(pubsub: Element): Element | undefined {
  for (const c of pubsub.children) {
    if (typeof c === "string") continue;
    if (c.name === "publish-options" || c.name === "configure" || c.name === "options") continue;
    return c;
  }
  // <configure/> alone is an action in the owner namespace.
  return pubsub.getChild("configure") ?? pubsub.getChild("options");
}

function requireNode(el: Element): string {
  const node = el.attrs.node;
  if (node === undefined || node === "") throw pubsubError("bad-request", "nodeid-required");
  if (node.length > MAX_NAME) throw new StanzaError("not-acceptable", `node names are at most ${MAX_NAME} characters`);
  return node;
}

function configFromForm(parent: Element | undefined, formType: string, onUnsupported: (err: ConfigFormError) => StanzaError): Partial<PepNodeConfig> | undefined {
  const form = parent?.getChild("x", NS.DATA_FORMS);
  if (!form) return undefined;
  try {
    return parseConfigForm(form, formType);
  } catch (err) {
    if (!(err instanceof ConfigFormError)) throw err;
    if (err.kind === "unsupported") throw onUnsupported(err);
    throw new StanzaError("bad-request", err.message);
  }
}

export default defineModule({
  id: "pep",
  requires: [RosterServiceToken, CapsServiceToken],
  provides: [PepServiceToken],
  async setup(ctx) {
    const store: PepStore = await openPepStore(ctx.db);
    const roster = ctx.use(RosterServiceToken);
    const caps = ctx.use(CapsServiceToken);
    const hooks = ctx.host.hooks;
    const sessions = ctx.sessions;

    // --- interest (XEP-0163 §4.2, XEP-0115 "+notify") ------------------------------------
    const notifyOf = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();
    /** The nodes a resource asked notifications for, or undefined while its caps are unknown. */
    const interest = (full: string): ReadonlySet<string> | undefined => {
      const features = caps.features(full);
      if (!features) return undefined;
      let nodes = notifyOf.get(features);
      if (!nodes) {
        const n = new Set<string>();
        for (const f of features) if (f.endsWith("+notify") && f.length > 7) n.add(f.slice(0, -7));
        nodes = n;
        notifyOf.set(features, nodes);
      }
      return nodes;
    };
    const wants = (s: Session, node: string): boolean => interest(s.full)?.has(node) ?? false;

    // --- node cache (online owners) and per-owner serialisation ------------------------------
    const cache = new Map<string, Promise<NodeMap>>();
    const load = (owner: string): Promise<NodeMap> => {
      let p = cache.get(owner);
      if (!p) {
        p = store.nodesWithLast([owner]).then((rows) => {
          const m: NodeMap = new Map();
          for (const r of rows) m.set(r.node.node, { node: r.node, last: r.last ? { item: r.last, el: undefined } : undefined });
          return m;
        });
        if (sessions.hasResources(owner)) {
          cache.set(owner, p);
          p.catch(() => {
            if (cache.get(owner) === p) cache.delete(owner);
          });
        }
      }
      return p;
    };
    const nodeState = async (owner: string, node: string): Promise<NodeState | undefined> => (await load(owner)).get(node);

    const locks = new Map<string, Promise<unknown>>();
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

    const payloadOf = (c: CachedItem): Element | undefined => {
      if (c.el) return c.el;
      try {
        c.el = parsePayload(c.item.payload);
      } catch (err) {
        ctx.log.error({ err, id: c.item.id }, "stored PEP payload does not parse");
        return undefined;
      }
      return c.el;
    };

    // --- the one decision point ---------------------------------------------------------------
    const isSubscriber = (sub: string | undefined) => sub === "from" || sub === "both";

    /**
     * Whether the watcher may see it: the owner always; others by the node's access model,
     * then the PepEvents.mayDeliver fold. `presenceHint` (the watcher's own roster says it
     * receives the owner's presence) stands in for the owner's roster when the owner is
     * offline and their roster is not in memory (last published items at login).
     */
    const decide = async (q: PepDeliveryQuery, presenceHint?: boolean): Promise<boolean> => {
      if (q.watcher === q.owner) return true;
      if (!(await accessAllowed(q, presenceHint))) return false;
      if (!hooks.has(PepEvents.mayDeliver)) return true;
      return (await hooks.fold(PepEvents.mayDeliver, true, q)) === true;
    };

    /** The payload this watcher gets (PepEvents.payloadFor); null = withhold the item. */
    const payloadFor = async (q: PepDeliveryQuery, payload: Element | undefined): Promise<Element | undefined | null> => {
      if (payload === undefined || q.watcher === q.owner || !hooks.has(PepEvents.payloadFor)) return payload;
      const r = await hooks.fold(PepEvents.payloadFor, payload, q);
      return r === DROP ? null : r;
    };

    /** The node's access model alone (decide()'s first half; retrieval uses it to pick its error). */
    const accessAllowed = async (q: PepDeliveryQuery, presenceHint?: boolean): Promise<boolean> => {
      if (q.watcher === q.owner) return true;
      const config = q.config;
      switch (config.accessModel) {
        case "open":
          break;
        case "presence": {
          if (presenceHint !== undefined && !sessions.hasResources(q.owner)) {
            if (!presenceHint) return false;
            break;
          }
          if (!isSubscriber((await roster.item(q.owner, q.watcher))?.subscription)) return false;
          break;
        }
        case "roster": {
          const item = await roster.item(q.owner, q.watcher);
          if (!item || !item.groups.some((g) => config.rosterGroupsAllowed.includes(g))) return false;
          break;
        }
        default:
          return false; // whitelist (owner only) and anything unknown
      }
      return true;
    };

    // --- notifications --------------------------------------------------------------------------
    const isLocal = (bare: string): boolean => {
      const at = bare.indexOf("@");
      return at > 0 && ctx.router.isLocalDomain(bare.slice(at + 1));
    };

    const send = (owner: string, to: Session, config: Readonly<PepNodeConfig>, content: Element, delay?: Date) => {
      const msg = x(
        "message",
        { from: owner, to: to.full, type: config.notificationType === "normal" ? "normal" : "headline", id: ID_PREFIX + randomBytes(9).toString("base64url") },
        x("event", { xmlns: NS.PUBSUB_EVENT }, content),
        delay ? x("delay", { xmlns: NS.DELAY, from: owner, stamp: delay.toISOString() }) : null,
      );
      // Through the delivery phase, so that blocking (XEP-0163 §4.3.3 rule 3) and any other
      // policy on messages applies.
      return ctx.router.deliver({ stanza: msg, origin: undefined, from: Jid.parse(owner), to: to.jid });
    };

    /**
     * Sends a node event to the owner's available resources and to the contacts entitled to it
     * (XEP-0163 §4.3), each filtered by +notify interest and decide().
     */
    const broadcast = async (owner: string, node: string, config: Readonly<PepNodeConfig>, content: Element, action: PepAction, item: PepDeliveryQuery["item"]) => {
      if (!config.deliverNotifications) return;
      for (const s of sessions.resources(owner)) if (s.presence !== undefined && wants(s, node)) await send(owner, s, config, content);
      if (config.accessModel === "whitelist") return;
      for (const contact of await roster.subscribers(owner)) {
        // Remote contacts: no federation yet (XEP-0163 §4.3.2 allows sending nothing without presence information).
        if (!isLocal(contact)) continue;
        for (const s of sessions.resources(contact)) {
          if (!s.availableForBare || !wants(s, node)) continue;
          const q: PepDeliveryQuery = { owner, watcher: contact, watcherFull: s.full, node, config, item, action };
          if (!(await decide(q))) continue;
          let c = content;
          if (action === "publish" && item && config.deliverPayloads) {
            const pl = await payloadFor(q, item.payload);
            if (pl === null) continue;
            if (pl !== item.payload) c = x("items", { node }, itemElement(item.id, pl));
          }
          await send(owner, s, config, c);
        }
      }
    };

    const itemElement = (id: string, payload: Element | undefined): Element => x("item", { id }, payload ?? null);

    /**
     * The last published item of each node the resource wants, from `owners` (default: the
     * accounts whose presence it receives, and its own) — XEP-0163 §4.3.4.
     */
    const sendLastItems = async (session: Session, nodes: readonly string[], onlyOwner?: string) => {
      if (nodes.length === 0 || session.presence === undefined || session.closing) return;
      const watcher = session.bare;
      const wanted = new Set(nodes);
      let owners: string[];
      if (onlyOwner !== undefined) owners = [onlyOwner];
      else {
        owners = [watcher];
        // Other accounts' items go to resources with non-negative priority (§4.3.2 rule 3).
        if (session.priority >= 0) for (const o of await roster.subscriptions(watcher)) if (isLocal(o) && o !== watcher) owners.push(o);
      }
      const found: Array<{ owner: string; node: string; config: PepNodeConfig; last: CachedItem }> = [];
      const offline: string[] = [];
      for (const owner of owners) {
        if (!cache.has(owner) && !sessions.hasResources(owner)) {
          offline.push(owner);
          continue;
        }
        for (const [name, st] of await load(owner)) if (wanted.has(name) && st.last) found.push({ owner, node: name, config: st.node.config, last: st.last });
      }
      if (offline.length) {
        for (const r of await store.nodesWithLast(offline, [...wanted])) {
          if (r.last) found.push({ owner: r.node.owner, node: r.node.node, config: r.node.config, last: { item: r.last, el: undefined } });
        }
      }
      for (const f of found) {
        const when = f.config.sendLastPublishedItem;
        // A new entitlement (onlyOwner) is a new subscription: on_sub qualifies too.
        if (!f.config.deliverNotifications || !(when === "on_sub_and_presence" || (onlyOwner !== undefined && when === "on_sub"))) continue;
        const payload = payloadOf(f.last);
        const item = { id: f.last.item.id, payload };
        const hint = onlyOwner === undefined ? true : undefined;
        const q: PepDeliveryQuery = { owner: f.owner, watcher, watcherFull: session.full, node: f.node, config: f.config, item, action: "last-published" };
        if (!(await decide(q, hint))) continue;
        const shown = f.config.deliverPayloads ? await payloadFor(q, payload) : undefined;
        if (shown === null) continue;
        if (session.presence === undefined || session.closing) return;
        const content = x("items", { node: f.node }, itemElement(f.last.item.id, shown));
        await send(f.owner, session, f.config, content, f.last.item.published);
      }
    };

    /** The interest each available session had when we last sent it last items. */
    const served = new WeakMap<Session, ReadonlySet<string>>();
    const onInterest = async (session: Session) => {
      if (session.presence === undefined || session.closing) return;
      const now = interest(session.full);
      if (!now || now.size === 0) return;
      const before = served.get(session);
      served.set(session, now);
      const fresh = before ? [...now].filter((n) => !before.has(n)) : [...now];
      await sendLastItems(session, fresh);
    };
    ctx.on(PresenceEvents.initial, onInterest);
    ctx.on(CapsEvents.known, ({ session }) => onInterest(session));
    ctx.on(PresenceEvents.unavailable, (session: Session) => {
      served.delete(session);
    });
    // A contact newly entitled to the owner's presence gets the owner's last items (XEP-0163 §4.3.4, §7).
    ctx.on(RosterEvents.presenceAccess, async ({ owner, contact, grant }) => {
      if (!grant || !isLocal(owner) || !isLocal(contact)) return;
      for (const s of sessions.resources(contact)) {
        if (!s.availableForBare) continue;
        const nodes = interest(s.full);
        if (nodes && nodes.size) await sendLastItems(s, [...nodes], owner);
      }
    });

    // Errors bounced by recipients of notifications come back to the owner's bare JID
    // (§4.3.1 rule 2): they are the service's, not the user's clients' business.
    ctx.on(
      StanzaEvents.deliver.message.bare,
      ({ stanza }: StanzaPayload) => stanza.attrs.type === "error" && (stanza.attrs.id ?? "").startsWith(ID_PREFIX),
      Priority.Early,
    );

    // --- operations (shared by the IQ handlers and the service) ---------------------------------
    const createNode = async (nodes: NodeMap, owner: string, node: string, config: PepNodeConfig): Promise<NodeState> => {
      if (nodes.size >= MAX_NODES) throw new StanzaError("policy-violation", `an account has at most ${MAX_NODES} PEP nodes`);
      const created = new Date();
      if (!(await store.createNode(owner, node, config, created))) throw new StanzaError("conflict", `node ${node} exists`);
      const st: NodeState = { node: { owner, node, config, created }, last: undefined };
      nodes.set(node, st);
      return st;
    };

    const publish = (owner: string, node: string, payload: Element, id: string, publisher: string, options: Partial<PepNodeConfig> | undefined): Promise<string> =>
      withLock(owner, async () => {
        const nodes = await load(owner);
        let st = nodes.get(node);
        if (!st) st = await createNode(nodes, owner, node, defaultConfig(options));
        else if (options) {
          const field = unmetPrecondition(st.node.config, options);
          if (field !== undefined) throw pubsubError("conflict", "precondition-not-met", `the node's ${field} does not match the publish-options`);
        }
        const config = st.node.config;
        const item: PepItem = { id, payload: payload.toString(), publisher, published: new Date() };
        if (config.persistItems) await store.publish(owner, node, item, config.maxItems);
        st.last = { item, el: payload };
        const content = x("items", { node }, itemElement(id, config.deliverPayloads ? payload : undefined));
        await broadcast(owner, node, config, content, "publish", { id, payload });
        await hooks.notify(PepEvents.published, { owner, node, item, publisher });
        return id;
      });

    const retract = (owner: string, node: string, id: string, notify: boolean | undefined): Promise<boolean> =>
      withLock(owner, async () => {
        const nodes = await load(owner);
        const st = nodes.get(node);
        if (!st) return false;
        const config = st.node.config;
        let removed: boolean;
        if (config.persistItems) removed = await store.retract(owner, node, id);
        else removed = st.last?.item.id === id;
        if (!removed) return false;
        const lastWas = st.last;
        if (st.last?.item.id === id) {
          const next = config.persistItems ? await store.lastItem(owner, node) : undefined;
          st.last = next ? { item: next, el: undefined } : undefined;
        }
        if (notify ?? config.notifyRetract) {
          const payload = lastWas?.item.id === id ? payloadOf(lastWas) : undefined;
          await broadcast(owner, node, config, x("items", { node }, x("retract", { id })), "retract", { id, payload });
        }
        await hooks.notify(PepEvents.retracted, { owner, node, id });
        return true;
      });

    // --- IQ handlers ------------------------------------------------------------------------------
    const handlePublish = async (p: StanzaPayload, pubsub: Element, el: Element): Promise<Element> => {
      const node = requireNode(el);
      const items = el.getChildren("item");
      if (items.length === 0) throw pubsubError("bad-request", "item-required");
      if (items.length > 1) throw pubsubError("bad-request", "invalid-payload", "publish one item at a time");
      const itemEl = items[0];
      const payloads = itemEl.elements();
      if (payloads.length === 0) throw pubsubError("bad-request", "payload-required");
      if (payloads.length > 1) throw pubsubError("bad-request", "invalid-payload", "an item holds exactly one payload element");
      const id = itemEl.attrs.id || randomUUID();
      if (id.length > MAX_NAME) throw new StanzaError("not-acceptable", `item ids are at most ${MAX_NAME} characters`);
      const options = configFromForm(pubsub.getChild("publish-options"), FORM_PUBLISH_OPTIONS, (err) =>
        pubsubError("conflict", "precondition-not-met", err.message),
      );
      const payload = payloads[0];
      // A payload without its own xmlns is in the pubsub namespace: keep it so in the event.
      if (payload.attrs.xmlns === undefined) payload.attrs.xmlns = NS.PUBSUB;
      const done = await publish(p.to.bareString, node, payload, id, p.from.toString(), options);
      return x("pubsub", { xmlns: NS.PUBSUB }, x("publish", { node }, x("item", { id: done })));
    };

    const handleRetract = async (p: StanzaPayload, el: Element): Promise<null> => {
      const node = requireNode(el);
      const id = el.getChild("item")?.attrs.id;
      if (!id) throw pubsubError("bad-request", "item-required");
      const n = el.attrs.notify;
      const notify = n === undefined ? undefined : n === "1" || n === "true";
      if (!(await retract(p.to.bareString, node, id, notify))) throw new StanzaError("item-not-found", `no item ${id} in node ${node}`);
      return null;
    };

    const handleCreate = async (p: StanzaPayload, pubsub: Element, el: Element): Promise<null> => {
      if (el.attrs.node === undefined || el.attrs.node === "") throw pubsubError("not-acceptable", "nodeid-required", "instant nodes are not supported: name the node");
      const node = requireNode(el);
      const owner = p.to.bareString;
      const options = configFromForm(pubsub.getChild("configure"), FORM_NODE_CONFIG, (err) => new StanzaError("not-acceptable", err.message));
      await withLock(owner, async () => {
        const nodes = await load(owner);
        if (nodes.has(node)) throw new StanzaError("conflict", `node ${node} exists`);
        await createNode(nodes, owner, node, defaultConfig(options));
      });
      return null;
    };

    const handleItems = async (p: StanzaPayload, el: Element): Promise<Element> => {
      const node = requireNode(el);
      const owner = p.to.bareString;
      const watcher = p.from.bareString;
      let max: number | undefined;
      if (el.attrs.max_items !== undefined) {
        if (!/^\d{1,9}$/.test(el.attrs.max_items) || Number(el.attrs.max_items) < 1) throw new StanzaError("bad-request", "max_items must be a positive integer");
        max = Number(el.attrs.max_items);
      }
      const ids = el.getChildren("item").map((i) => i.attrs.id).filter((i): i is string => i !== undefined && i !== "");
      const st = await nodeState(owner, node);
      if (!st) {
        // Others learn nothing about which nodes exist: the default node's answer.
        if (watcher !== owner) throw denial(defaultConfig());
        throw new StanzaError("item-not-found", `no node ${node}`);
      }
      const config = st.node.config;
      // The access model answers with an error; the privacy hook (per item, below) by leaving
      // items out, so a watcher it withholds them from sees an empty node.
      if (watcher !== owner && !(await accessAllowed({ owner, watcher, watcherFull: p.from.toString(), node, config, item: undefined, action: "retrieve" }))) {
        throw denial(config);
      }
      let found: CachedItem[];
      if (!config.persistItems) {
        const l = st.last;
        found = l && (ids.length === 0 || ids.includes(l.item.id)) ? [l] : [];
      } else if (ids.length === 0 && max === 1 && st.last) {
        found = [st.last];
      } else {
        const last = st.last;
        found = (await store.items(owner, node, { ids: ids.length ? ids : undefined, max })).map((item) =>
          last && last.item.id === item.id && last.item.published.getTime() === item.published.getTime() ? last : { item, el: undefined },
        );
      }
      const out = x("items", { node });
      for (const c of found) {
        const payload = payloadOf(c);
        const q: PepDeliveryQuery = { owner, watcher, watcherFull: p.from.toString(), node, config, item: { id: c.item.id, payload }, action: "retrieve" };
        if (watcher !== owner && !(await decide(q))) continue;
        const shown = await payloadFor(q, payload);
        if (shown === null) continue;
        out.append(itemElement(c.item.id, shown));
      }
      return x("pubsub", { xmlns: NS.PUBSUB }, out);
    };

    ctx.iq("set", "self", NS.PUBSUB, "pubsub", (p, pubsub) => {
      const el = actionOf(pubsub);
      switch (el?.name) {
        case "publish":
          return handlePublish(p, pubsub, el);
        case "retract":
          return handleRetract(p, el);
        case "create":
          return handleCreate(p, pubsub, el);
        case "subscribe":
        case "unsubscribe":
          throw unsupported("subscribe");
        case "options":
          throw unsupported("subscription-options");
        default:
          throw new StanzaError("bad-request", "unknown pubsub request");
      }
    });
    ctx.iq("set", "bare", NS.PUBSUB, "pubsub", (_p, pubsub) => {
      const el = actionOf(pubsub);
      if (el?.name === "subscribe" || el?.name === "unsubscribe") throw unsupported("subscribe");
      if (el?.name === "options") throw unsupported("subscription-options");
      // One publisher per node (§2.2): only the owner publishes, retracts, creates.
      throw new StanzaError("forbidden", "only the account owner may change its PEP nodes");
    });
    ctx.iq("get", ["self", "bare"], NS.PUBSUB, "pubsub", (p, pubsub) => {
      const el = actionOf(pubsub);
      switch (el?.name) {
        case "items":
          return handleItems(p, el);
        case "subscriptions":
          throw unsupported("retrieve-subscriptions");
        case "affiliations":
          throw unsupported("retrieve-affiliations");
        case "options":
          throw unsupported("subscription-options");
        default:
          throw new StanzaError("bad-request", "unknown pubsub request");
      }
    });

    // Owner use cases (XEP-0060 §8, namespace pubsub#owner).
    ctx.iq("get", "self", NS.PUBSUB_OWNER, "pubsub", async (p, pubsub) => {
      const el = actionOf(pubsub);
      if (el?.name === "default") return x("pubsub", { xmlns: NS.PUBSUB_OWNER }, x("default", null, configForm(defaultConfig())));
      if (el?.name === "configure") {
        const node = requireNode(el);
        const st = await nodeState(p.to.bareString, node);
        if (!st) throw new StanzaError("item-not-found", `no node ${node}`);
        return x("pubsub", { xmlns: NS.PUBSUB_OWNER }, x("configure", { node }, configForm(st.node.config)));
      }
      if (el?.name === "affiliations" || el?.name === "subscriptions") throw unsupported(el.name === "affiliations" ? "modify-affiliations" : "manage-subscriptions");
      throw new StanzaError("bad-request", "unknown pubsub#owner request");
    });
    ctx.iq("set", "self", NS.PUBSUB_OWNER, "pubsub", async (p, pubsub) => {
      const el = actionOf(pubsub);
      const owner = p.to.bareString;
      switch (el?.name) {
        case "configure": {
          const node = requireNode(el);
          const form = el.getChild("x", NS.DATA_FORMS);
          if (!form) throw new StanzaError("bad-request", "a data form is required");
          if (form.attrs.type === "cancel") return null;
          const changes = configFromForm(el, FORM_NODE_CONFIG, (err) => new StanzaError("not-acceptable", err.message)) ?? {};
          await withLock(owner, async () => {
            const st = await nodeState(owner, node);
            if (!st) throw new StanzaError("item-not-found", `no node ${node}`);
            const next: PepNodeConfig = { ...st.node.config, ...changes };
            await store.setConfig(owner, node, next);
            if (!next.persistItems) await store.purge(owner, node);
            else if (next.maxItems < st.node.config.maxItems) await store.trim(owner, node, next.maxItems);
            st.node = { ...st.node, config: next };
          });
          return null;
        }
        case "delete": {
          const node = requireNode(el);
          await withLock(owner, async () => {
            const nodes = await load(owner);
            const st = nodes.get(node);
            if (!st) throw new StanzaError("item-not-found", `no node ${node}`);
            await store.deleteNode(owner, node);
            nodes.delete(node);
            if (st.node.config.notifyDelete) await broadcast(owner, node, st.node.config, x("delete", { node }), "delete", undefined);
            await hooks.notify(PepEvents.nodeCleared, { owner, node, deleted: true });
          });
          return null;
        }
        case "purge": {
          const node = requireNode(el);
          await withLock(owner, async () => {
            const st = await nodeState(owner, node);
            if (!st) throw new StanzaError("item-not-found", `no node ${node}`);
            await store.purge(owner, node);
            st.last = undefined;
            if (st.node.config.notifyRetract) await broadcast(owner, node, st.node.config, x("purge", { node }), "purge", undefined);
            await hooks.notify(PepEvents.nodeCleared, { owner, node, deleted: false });
          });
          return null;
        }
        case "affiliations":
          throw unsupported("modify-affiliations");
        case "subscriptions":
          throw unsupported("manage-subscriptions");
        default:
          throw new StanzaError("bad-request", "unknown pubsub#owner request");
      }
    });
    ctx.iq("get", "bare", NS.PUBSUB_OWNER, "pubsub", () => {
      throw new StanzaError("forbidden", "only the account owner manages its PEP nodes");
    });
    ctx.iq("set", "bare", NS.PUBSUB_OWNER, "pubsub", () => {
      throw new StanzaError("forbidden", "only the account owner manages its PEP nodes");
    });

    // --- service discovery (XEP-0163 §6) ---------------------------------------------------------
    const identity = { category: "pubsub", type: "pep" };
    ctx.host.disco.accountIdentities.push(identity);
    ctx.onUnload(() => {
      const i = ctx.host.disco.accountIdentities.indexOf(identity);
      if (i >= 0) ctx.host.disco.accountIdentities.splice(i, 1);
    });
    ctx.feature(NS.PUBSUB, { account: true, server: false });
    for (const f of FEATURES) ctx.feature(`${NS.PUBSUB}#${f}`, { account: true, server: false });

    /** Nodes the requester may know of: all for the owner, the accessible ones for others (§6.2). */
    const visible = async (owner: string, requester: Jid, st: NodeState): Promise<boolean> =>
      requester.bareString === owner ||
      decide({ owner, watcher: requester.bareString, watcherFull: requester.toString(), node: st.node.node, config: st.node.config, item: undefined, action: "discover" });

    ctx.on(DiscoEvents.accountItems, async (items, { owner, requester }) => {
      const out = [...items];
      for (const st of (await load(owner)).values()) {
        if (!(await visible(owner, requester, st))) continue;
        const attrs: Record<string, string> = { jid: owner, node: st.node.node };
        if (st.node.config.title !== undefined) attrs.name = st.node.config.title;
        out.push(x("item", attrs));
      }
      return out;
    });
    ctx.on(DiscoEvents.accountNodeInfo, async (result, { owner, requester, node }) => {
      if (result !== undefined) return result;
      const st = await nodeState(owner, node);
      if (!st || !(await visible(owner, requester, st))) return result;
      return x(
        "query",
        { xmlns: NS.DISCO_INFO, node },
        x("identity", { category: "pubsub", type: "leaf" }),
        x("feature", { var: NS.PUBSUB }),
      );
    });

    // --- lifecycle -----------------------------------------------------------------------------
    ctx.on(SessionEvents.bound, (session: Session) => {
      if (!cache.has(session.bare)) void load(session.bare).catch((err) => ctx.log.error({ err, owner: session.bare }, "loading PEP nodes failed"));
    });
    ctx.on(SessionEvents.closed, ({ session }) => {
      served.delete(session);
      if (!sessions.hasResources(session.bare)) cache.delete(session.bare);
    });
    ctx.on(AccountEvents.removed, async ({ bare }) => {
      await withLock(bare, async () => {
        cache.delete(bare);
        await store.removeOwner(bare);
      });
    });

    // --- service ---------------------------------------------------------------------------------
    const service: PepService = {
      async mayDeliver(q) {
        if (q.watcher === q.owner) return true;
        const config = q.config ?? (await nodeState(q.owner, q.node))?.node.config;
        if (!config) return false;
        return decide({ ...q, config });
      },
      async node(owner, node) {
        return (await nodeState(owner, node))?.node;
      },
      async lastItem(owner, node) {
        return (await nodeState(owner, node))?.last?.item;
      },
      async publish(owner, node, payload, opts = {}) {
        if (node === "" || node.length > MAX_NAME) throw new StanzaError("bad-request", "bad node name");
        return publish(owner, node, payload, opts.id ?? randomUUID(), opts.publisher ?? owner, opts.options);
      },
      async retract(owner, node, id, notify) {
        return retract(owner, node, id, notify);
      },
    };
    ctx.provide(PepServiceToken, service);
  },
});
