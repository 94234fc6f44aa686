/**
 * Storage for XEP-0163 Personal Eventing (PEP): each account's virtual pubsub service. `owner`
 * is the account's bare JID (prepared); `node` the node name (usually a payload namespace).
 * The store keeps node configurations as given (an opaque JSON object to it: the module
 * validates and defaults them) and items in publication order. It never decides who may see
 * what: that is the module's job (PepEvents.mayDeliver).
 */

/** A node configuration (XEP-0060 §16.4.3 pubsub#node_config fields PEP uses). */
export interface PepNodeConfig {
  /** open | presence | roster | whitelist. */
  accessModel: string;
  /** pubsub#roster_groups_allowed, for the roster access model. */
  rosterGroupsAllowed: string[];
  persistItems: boolean;
  /** Items kept (the module maps "max" to its own limit). */
  maxItems: number;
  /** never | on_sub | on_sub_and_presence. */
  sendLastPublishedItem: string;
  deliverNotifications: boolean;
  deliverPayloads: boolean;
  notifyRetract: boolean;
  notifyDelete: boolean;
  /** headline | normal: the type of notification messages. */
  notificationType: string;
  title?: string;
  description?: string;
  /** pubsub#type: the payload namespace, informational. */
  payloadType?: string;
}

export interface PepNode {
  owner: string;
  node: string;
  config: PepNodeConfig;
  created: Date;
}

export interface PepItem {
  /** The item id (assigned by the module when the publisher gave none). */
  id: string;
  /** The payload element, serialized exactly as the module handed it over. */
  payload: string;
  /** The full JID that published it. */
  publisher: string;
  /** When it was published. Millisecond precision. */
  published: Date;
}

export interface PepStore {
  getNode(owner: string, node: string): Promise<PepNode | undefined>;
  /** The owner's nodes, by name. */
  listNodes(owner: string): Promise<PepNode[]>;
  /** Creates a node; false (nothing changed) when it exists already. */
  createNode(owner: string, node: string, config: PepNodeConfig, created?: Date): Promise<boolean>;
  /** Replaces a node's configuration; false when there is no such node. */
  setConfig(owner: string, node: string, config: PepNodeConfig): Promise<boolean>;
  /** Deletes a node and its items; false when there was no such node. */
  deleteNode(owner: string, node: string): Promise<boolean>;
  /**
   * Stores an item as the node's newest (an item with the same id is replaced and becomes the
   * newest), then keeps only the newest `maxItems`. Atomic. The node must exist.
   */
  publish(owner: string, node: string, item: PepItem, maxItems: number): Promise<void>;
  /** Deletes one item; false when it was not there. */
  retract(owner: string, node: string, id: string): Promise<boolean>;
  /** Deletes all items of a node; the number deleted. */
  purge(owner: string, node: string): Promise<number>;
  /** Keeps only the newest `maxItems` items; the number deleted. */
  trim(owner: string, node: string, maxItems: number): Promise<number>;
  /**
   * Items oldest first. With `ids`: those items (in the order asked, unknown ids skipped).
   * With `max`: the newest `max` items (still oldest first).
   */
  items(owner: string, node: string, opts?: { max?: number; ids?: readonly string[] }): Promise<PepItem[]>;
  /** The newest item of a node, if any. */
  lastItem(owner: string, node: string): Promise<PepItem | undefined>;
  /**
   * Every node of these owners with its newest item (a batch for "last published item" on
   * presence: one query for a whole roster). Optionally only nodes named in `nodes`.
   */
  nodesWithLast(owners: readonly string[], nodes?: readonly string[]): Promise<Array<{ node: PepNode; last: PepItem | undefined }>>;
  removeOwner(owner: string): Promise<void>;
}
