// Pure calendar rules: which expanded occurrence (if any) makes a person "In a meeting" now,
// and when that answer can next change. No I/O, no clock: `now` is always a parameter.
//
// Rules (docs/presence.md, "Calendar"):
//  - only occurrences shown as busy count ("showAs" busy; Outlook's BUSY). Tentative, free,
//    out-of-office and working-elsewhere blocks do not make a person "In a meeting" — Lync
//    published calendarState 6500 "in-a-meeting" only for Busy meetings;
//  - all-day events never count (a holiday or a trip is not a meeting);
//  - cancelled and transparent occurrences are already marked free / dropped by the parser;
//  - an occurrence covers [start, end): at `end` exactly the meeting is over;
//  - when several meetings overlap now, the one that started last wins (the one the person
//    most likely moved into), then the one ending first, then by subject.

/** How an occurrence shows in free/busy. */
export type ShowAs = "busy" | "tentative" | "free" | "oof" | "working-elsewhere";

/** One expanded occurrence of a calendar event. */
export interface CalendarEvent {
  /** Inclusive start, exclusive end. */
  readonly start: Date;
  readonly end: Date;
  /** Empty when the event is private (CLASS:PRIVATE / CONFIDENTIAL) or has none. */
  readonly subject: string;
  readonly location: string;
  readonly showAs: ShowAs;
  /** DTSTART was a DATE (no time of day). */
  readonly allDay: boolean;
}

/** What watchers may be told about the meeting a person is in. */
export interface Meeting {
  readonly subject: string;
  readonly location: string;
  readonly start: Date;
  readonly end: Date;
}

/** Whether an occurrence can make a person "In a meeting" at all. */
export function isMeeting(e: CalendarEvent): boolean {
  return e.showAs === "busy" && !e.allDay && e.end.getTime() > e.start.getTime();
}

function better(a: CalendarEvent, b: CalendarEvent): boolean {
  const as = a.start.getTime();
  const bs = b.start.getTime();
  if (as !== bs) return as > bs;
  const ae = a.end.getTime();
  const be = b.end.getTime();
  if (ae !== be) return ae < be;
  return a.subject < b.subject;
}

/** The meeting the person is in at `now`, or undefined. */
export function currentMeeting(events: readonly CalendarEvent[], now: Date): Meeting | undefined {
  const t = now.getTime();
  let best: CalendarEvent | undefined;
  for (const e of events) {
    if (!isMeeting(e)) continue;
    if (e.start.getTime() > t || e.end.getTime() <= t) continue;
    if (!best || better(e, best)) best = e;
  }
  if (!best) return undefined;
  return { subject: best.subject, location: best.location, start: best.start, end: best.end };
}

/**
 * The first instant after `now` at which currentMeeting() may answer differently: the
 * nearest start or end of a meeting strictly after `now`. Undefined when nothing is ahead
 * in these events.
 */
export function nextChange(events: readonly CalendarEvent[], now: Date): Date | undefined {
  const t = now.getTime();
  let next = Number.POSITIVE_INFINITY;
  for (const e of events) {
    if (!isMeeting(e)) continue;
    const s = e.start.getTime();
    const en = e.end.getTime();
    if (s > t && s < next) next = s;
    if (en > t && en < next) next = en;
  }
  return next === Number.POSITIVE_INFINITY ? undefined : new Date(next);
}

/** Same meeting as far as watchers can tell. */
export function sameMeeting(a: Meeting | undefined, b: Meeting | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.subject === b.subject && a.location === b.location && a.start.getTime() === b.start.getTime() && a.end.getTime() === b.end.getTime();
}
