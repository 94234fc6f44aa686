// CalendarService: calendar-driven presence input. Each user may have one iCalendar feed; the
// module polls it and tells the presence engine which meeting (if any) the user is in now.
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { CalendarEvent, Meeting } from "./meetings.ts";

export type { CalendarEvent, Meeting, ShowAs } from "./meetings.ts";
export { currentMeeting, nextChange, isMeeting, sameMeeting } from "./meetings.ts";

export interface CalendarFeedInfo {
  readonly url: string;
  /** pending: not fetched yet since the URL was set. */
  readonly status: "pending" | "ok" | "error";
  /** Why the last fetch failed, in words the user can act on. */
  readonly error?: string;
  readonly lastFetch?: Date;
  readonly lastSuccess?: Date;
}

export interface CalendarService {
  /** calendar.enabled: when false every method but current()/items() rejects with service-unavailable. */
  readonly enabled: boolean;
  /** The meeting `user` (a local bare JID) is in now, from the last fetched window. */
  current(user: string): Meeting | undefined;
  /**
   * The user's busy and out-of-office occurrences still to come or running, from the window
   * expanded at the last fetch (now − 1 day … now + 7 days then), sorted by start.
   */
  items(user: string): readonly CalendarEvent[];
  getFeed(user: string): Promise<CalendarFeedInfo | undefined>;
  /**
   * Sets the user's feed (administrators, and the urn:parley:calendar:0 IQ). Rejects with a
   * StanzaError: bad-request (malformed URL), not-allowed (outside calendar.allowedUrlPrefixes),
   * item-not-found (no such local account), service-unavailable (calendar.enabled false).
   * A new URL is fetched ahead of every other feed (the promise does not wait for that).
   */
  setFeed(user: string, url: string): Promise<CalendarFeedInfo>;
  /** Removes the user's feed (their meeting, if any, ends at once). Whether there was one. */
  removeFeed(user: string): Promise<boolean>;
  /** Fetches the feed now (ahead of its turn) and resolves with the outcome. */
  refresh(user: string): Promise<CalendarFeedInfo | undefined>;
}

export const CalendarServiceToken = defineService<CalendarService>("CalendarService");

export const CalendarEvents = Object.freeze({
  /**
   * The meeting a user is in changed: one started or ended (fired at the exact boundary by a
   * timer), or a fetch / feed change altered it. Not fired at server start: ask current().
   */
  changed: defineNotifyEvent<{ user: string; meeting: Meeting | undefined; previous: Meeting | undefined }>("calendar/changed"),
  /** A fetch (or a feed change) changed the user's items(); e.g. an out-of-office block appeared. */
  updated: defineNotifyEvent<{ user: string }>("calendar/updated"),
});
