// RosterService: contact lists (RFC 6121 §2) for other modules, the CLI and the admin API.
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { ContactLevel, RosterItem, Subscription } from "./store/types.ts";

export type { ContactLevel, RosterItem, Subscription };

export interface RosterService {
  /** The whole roster (cached while the owner is online). */
  items(owner: string): Promise<ReadonlyMap<string, RosterItem>>;
  item(owner: string, contact: string): Promise<RosterItem | undefined>;
  /** Contacts that receive the owner's presence (subscription from/both). */
  subscribers(owner: string): Promise<string[]>;
  /** Contacts whose presence the owner receives (subscription to/both). */
  subscriptions(owner: string): Promise<string[]>;
  /** Administrative: a mutual "both" subscription between two local accounts, with pushes. */
  addMutual(owner: string, contact: string, opts?: { name?: string; group?: string; contactName?: string; contactGroup?: string }): Promise<void>;
  /** Bulk mutual subscriptions (provisioning). Returns the number of items written. */
  importMutual(rows: Array<{ owner: string; contact: string; name?: string; group?: string }>): Promise<number>;
  /** Administrative removal of one item (with the unsubscribe handshake effects). */
  removeItem(owner: string, contact: string): Promise<boolean>;
}

export const RosterServiceToken = defineService<RosterService>("RosterService");

export const RosterEvents = Object.freeze({
  /**
   * The owner's presence must now be sent to the contact (grant) or withdrawn with
   * unavailable presence (revoke). The presence module acts on it.
   */
  presenceAccess: defineNotifyEvent<{ owner: string; contact: string; grant: boolean }>("roster/presence-access"),
  /** An item changed (after the store write and the pushes). */
  itemChanged: defineNotifyEvent<{ owner: string; contact: string; item: RosterItem | undefined }>("roster/item-changed"),
  /**
   * The owner gave the contact another privacy level in a roster set (undefined = the
   * domain's default). Not fired for blocked/unblocked: those are BlockingEvents.changed.
   * The presence module sends the owner's presence again, rendered for the new level.
   */
  levelChanged: defineNotifyEvent<{ owner: string; contact: string; level: ContactLevel | undefined }>("roster/level-changed"),
});
