/**
 * Blocklists (XEP-0191): for each owner (a local account's prepared bare JID) the set of
 * blocked JIDs (prepared JID strings: full, bare, domain/resource or domain), kept in the
 * order they were blocked. The blocking module is the only writer.
 */
export interface BlockingStore {
  /** The owner's blocked JIDs, oldest block first. */
  list(owner: string): Promise<string[]>;
  /**
   * Blocks JIDs atomically; ones already blocked (or repeated) are ignored. Returns those newly
   * blocked, in input order.
   */
  add(owner: string, jids: readonly string[]): Promise<string[]>;
  /** Unblocks JIDs; returns those that were blocked, in input order. */
  remove(owner: string, jids: readonly string[]): Promise<string[]>;
  /** Unblocks everything; returns what was blocked, oldest block first. */
  clear(owner: string): Promise<string[]>;
  count(owner: string): Promise<number>;
  /** Drops the owner's data (account deleted). */
  removeOwner(owner: string): Promise<void>;
}
