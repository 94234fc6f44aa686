/**
 * Calendar feed storage: at most one iCalendar feed URL per user (`owner`, the prepared bare
 * JID) and what the last fetch of it gave. The module keeps its working state in memory;
 * the store is what survives a restart.
 */

export type FeedStatus = "pending" | "ok" | "error";

/** Expanded meetings kept from the last successful fetch. */
export interface FeedSnapshot {
  /** Opaque to the store (the module's JSON). */
  readonly events: string;
  readonly from: Date;
  readonly to: Date;
}

export interface CalendarFeedRecord {
  readonly owner: string;
  readonly url: string;
  /** When the URL was set. */
  readonly updated: Date;
  /** pending: never fetched since the URL was set. */
  readonly status: FeedStatus;
  /** Why the last fetch failed (status "error"). */
  readonly error?: string;
  readonly lastFetch?: Date;
  readonly lastSuccess?: Date;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly snapshot?: FeedSnapshot;
}

export interface FetchOutcome {
  readonly at: Date;
  readonly status: "ok" | "error";
  /** Required for "error"; ignored for "ok". */
  readonly error?: string;
  /** Present → replaces both validators (a missing one is cleared); absent → kept. */
  readonly validators?: { readonly etag?: string; readonly lastModified?: string };
  /** Present → replaces the snapshot; absent → kept. */
  readonly snapshot?: FeedSnapshot;
}

export interface CalendarStore {
  get(owner: string): Promise<CalendarFeedRecord | undefined>;
  /**
   * Sets the owner's feed URL. A new or different URL starts afresh (status pending, no
   * fetch results, validators or snapshot); setting the same URL again changes nothing.
   * Returns whether anything changed.
   */
  set(owner: string, url: string, at: Date): Promise<boolean>;
  /** Whether there was a feed. */
  remove(owner: string): Promise<boolean>;
  /**
   * Records a fetch of `url`, only if it is still the owner's URL (a fetch that raced with a
   * change of URL is dropped). Returns whether it was recorded.
   */
  recordFetch(owner: string, url: string, outcome: FetchOutcome): Promise<boolean>;
  /** Feeds ordered by owner (code-point order), after `after`, at most `limit`. */
  list(opts?: { after?: string; limit?: number }): Promise<CalendarFeedRecord[]>;
  count(): Promise<number>;
}
