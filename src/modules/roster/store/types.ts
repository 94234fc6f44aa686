/**
 * Roster storage (RFC 6121 §2, §3): per-owner contact items, a per-owner roster version
 * (XEP-0237) and the stored inbound subscription requests (RFC 6121 §3.1.3).
 *
 * `owner` and `contact` are bare JIDs after preparation; the store compares them exactly.
 */

export type Subscription = "none" | "to" | "from" | "both";

/** Privacy level the owner gave a contact (docs/presence.md); "blocked" is the XEP-0191 blocklist, never stored here. */
export type ContactLevel = "friends-family" | "workgroup" | "colleagues" | "external";
export const CONTACT_LEVELS: readonly ContactLevel[] = ["friends-family", "workgroup", "colleagues", "external"];

export interface RosterItem {
  /** Contact's bare JID, prepared. */
  jid: string;
  /** Absent when the item has no name (never an empty string from the store). */
  name?: string;
  subscription: Subscription;
  /** Pending out: we sent subscribe and have no answer yet. */
  askOut: boolean;
  /** Pre-approved subscription (RFC 6121 §3.4). */
  approved: boolean;
  groups: string[];
  /** Privacy level given to this contact; absent = the default for the contact's domain. */
  level?: ContactLevel;
}

export interface PendingIn {
  contact: string;
  /** The status text of the subscribe presence, if it had one. */
  status?: string;
}

export interface RosterStore {
  /** All items in contact order, with the version they correspond to (0 if never changed). */
  list(owner: string): Promise<{ version: number; items: RosterItem[] }>;
  get(owner: string, contact: string): Promise<RosterItem | undefined>;
  /** Insert or replace the item; bumps and returns the owner's roster version. */
  put(owner: string, item: RosterItem): Promise<number>;
  /** Deletes the item; the new version, or undefined (version unchanged) if it was absent. */
  remove(owner: string, contact: string): Promise<number | undefined>;
  /** Current roster version; 0 for an owner whose roster never changed. */
  version(owner: string): Promise<number>;
  /** Records (or refreshes the status of) an inbound subscription request. */
  addPendingIn(owner: string, contact: string, status?: string): Promise<void>;
  removePendingIn(owner: string, contact: string): Promise<boolean>;
  /** Oldest first. */
  listPendingIn(owner: string): Promise<PendingIn[]>;
  /** The user was deleted: drop items, pending requests and version. */
  removeOwner(owner: string): Promise<void>;
  /**
   * Bulk upsert (migration, provisioning). Later rows for the same (owner, contact) win; each
   * owner touched gets one version bump per batch. Returns the number of distinct items written.
   * An existing item's privacy level is kept when the row carries none.
   */
  importMany(rows: Array<{ owner: string; item: RosterItem }>): Promise<number>;
}
