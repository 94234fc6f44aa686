// PepService and PepEvents: Personal Eventing (XEP-0163) for other modules — the enterprise
// presence module (privacy levels), the REST API, the CLI.
import { defineService } from "../../core/module/module.ts";
import { defineFoldEvent, defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { Element } from "../../xml/element.ts";
import type { PepItem, PepNode, PepNodeConfig } from "./store/types.ts";

export type { PepItem, PepNode, PepNodeConfig };

/** Why PEP asks whether a watcher may see something. */
export type PepAction =
  /** A notification of a new item (publish). */
  | "publish"
  /** The last published item, sent when the watcher's resource comes online or gains access. */
  | "last-published"
  /** Items retrieval (XEP-0060 §6.5) by the watcher. */
  | "retrieve"
  /** A retraction notification (`<retract id=…/>`). */
  | "retract"
  /** A node deletion or purge notification (no item). */
  | "delete"
  | "purge"
  /** The node listed in the account's disco#items (no item). */
  | "discover";

/**
 * One "may watcher X see item Y of owner Z's node N" question. Every such decision PEP makes
 * goes through PepService.mayDeliver and thus through the PepEvents.mayDeliver fold.
 */
export interface PepDeliveryQuery {
  /** The account whose PEP service it is (bare JID). */
  owner: string;
  /** Who would see it (bare JID). Never the owner: the owner always sees their own data. */
  watcher: string;
  /** The watcher's resource when the question is about one (notifications, IQ requests). */
  watcherFull: string | undefined;
  node: string;
  config: Readonly<PepNodeConfig>;
  /** The item concerned; undefined for node-level events (delete, purge, discover). */
  item: { id: string; payload: Element | undefined } | undefined;
  action: PepAction;
}

export interface PepService {
  /**
   * The single decision point: the node's access model (open; presence = the owner's roster
   * item for the watcher has subscription from/both; roster = that and one of the allowed
   * groups; whitelist = only the owner), then the PepEvents.mayDeliver fold. The owner is
   * always allowed.
   */
  mayDeliver(q: Omit<PepDeliveryQuery, "config"> & { config?: Readonly<PepNodeConfig> }): Promise<boolean>;
  /** A node of an account (undefined when it does not exist). */
  node(owner: string, node: string): Promise<PepNode | undefined>;
  /** The newest item of a node, unfiltered (callers apply mayDeliver when showing it to others). */
  lastItem(owner: string, node: string): Promise<PepItem | undefined>;
  /**
   * Publishes on the owner's behalf (server-side publishing, e.g. an enterprise presence
   * module mirroring the location into XEP-0080): auto-creates the node with `options` (or
   * checks them as publish-options preconditions), stores, notifies. Returns the item id.
   */
  publish(owner: string, node: string, payload: Element, opts?: { id?: string; options?: Partial<PepNodeConfig>; publisher?: string }): Promise<string>;
  /** Retracts an item (with notifications per the node configuration); false if absent. */
  retract(owner: string, node: string, id: string, notify?: boolean): Promise<boolean>;
}

export const PepServiceToken = defineService<PepService>("PepService");

export const PepEvents = Object.freeze({
  /**
   * Privacy hook: called (value `true`) for every watcher/item pair the access model allowed
   * — notifications, last published items, item retrieval, retractions, node listing.
   * Return false (or DROP) to withhold it. Handlers must not assume the item is persisted.
   * The enterprise presence module hooks this to apply PRODUCT.md's privacy matrix (e.g.
   * XEP-0080 location only for Colleagues and above).
   */
  mayDeliver: defineFoldEvent<boolean, PepDeliveryQuery>("pep/may-deliver"),
  /**
   * Per-watcher payload (after mayDeliver allowed the item): a publish notification, the last
   * published item, items retrieval. Return the payload unchanged, a NEW element (never mutate
   * the one given: it is shared by every watcher and the cache), or DROP to withhold the item.
   * The enterprise presence module filters the vCard4 contact card field by field with it.
   */
  payloadFor: defineFoldEvent<Element, PepDeliveryQuery>("pep/payload-for"),
  /** An item was published (after it was stored and notifications were sent). */
  published: defineNotifyEvent<{ owner: string; node: string; item: PepItem; publisher: string }>("pep/published"),
  /** An item was retracted. */
  retracted: defineNotifyEvent<{ owner: string; node: string; id: string }>("pep/retracted"),
  /** A node was deleted (deleted: true) or purged of its items (deleted: false). */
  nodeCleared: defineNotifyEvent<{ owner: string; node: string; deleted: boolean }>("pep/node-cleared"),
});
