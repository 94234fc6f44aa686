/**
 * Offline message storage (XEP-0160): stanzas for a user who has no available resource,
 * kept until delivered. `owner` is the recipient's bare JID, prepared. `id` is assigned by the
 * store, increases with insertion order and is never reused (it may be shown to clients, e.g.
 * as a XEP-0013 node). Quotas are the module's business (count()).
 */

export interface OfflineMessage {
  id: number;
  owner: string;
  /** Serialized XML of the stanza, exactly as pushed. */
  stanza: string;
  /** When the server received it (for the XEP-0203 delay stamp). Millisecond precision. */
  stamp: Date;
}

export interface OfflineStore {
  /** Stores one message; committed (durable per the database's settings) when it resolves. */
  push(owner: string, stanza: string, stamp: Date): Promise<number>;
  /** Stores several messages atomically, in order. */
  pushMany(items: Array<{ owner: string; stanza: string; stamp: Date }>): Promise<void>;
  /** Oldest first (insertion order), at most `limit`. */
  list(owner: string, limit?: number): Promise<OfflineMessage[]>;
  /** Deletes the owner's messages with these ids (others' ids are ignored); the number deleted. */
  delete(owner: string, ids: number[]): Promise<number>;
  count(owner: string): Promise<number>;
  removeOwner(owner: string): Promise<void>;
}
