// iCalendar (RFC 5545) → expanded occurrences in a time window, with ical.js.
//
// - VEVENTs only; RRULE/RDATE/EXDATE expanded by ical.js; RECURRENCE-ID overrides replace
//   the occurrence they name (also when they move it into or out of the window);
//   RANGE=THISANDFUTURE overrides shift later occurrences (ical.js).
// - Time zones: VTIMEZONE definitions in the feed win; a TZID without one that names an IANA
//   zone ("Europe/Berlin") is resolved with Intl; floating times (no zone) and unknown TZIDs
//   use `floatingTimeZone` (IANA name) or, when empty, the server's local zone.
// - STATUS:CANCELLED occurrences are dropped; TRANSP:TRANSPARENT ones show as free;
//   STATUS:TENTATIVE as tentative; Outlook's X-MICROSOFT-CDO-BUSYSTATUS wins when present.
// - CLASS:PRIVATE / CONFIDENTIAL events keep their times but lose subject and location.
// - Work is bounded: at most `maxOccurrences` occurrences are returned and at most
//   `maxIterations` recurrence steps are taken over the whole feed (a FREQ=SECONDLY rule
//   from 1970 cannot hold the event loop).
import ICAL from "ical.js";
import type { CalendarEvent, ShowAs } from "./meetings.ts";
import { isTimeZone, wallTimeToUtc } from "./zones.ts";

type Time = InstanceType<typeof ICAL.Time>;
type Component = InstanceType<typeof ICAL.Component>;
type Event = InstanceType<typeof ICAL.Event>;

export interface ParseOptions {
  /** Window start (inclusive): occurrences ending at or before it are dropped. */
  from: Date;
  /** Window end (exclusive): occurrences starting at or after it are dropped. */
  to: Date;
  /** IANA zone for floating times; "" or undefined = the server's local zone. */
  floatingTimeZone?: string;
  maxOccurrences?: number;
  maxIterations?: number;
}

export interface ParseResult {
  /** Occurrences intersecting the window, sorted by start. */
  events: CalendarEvent[];
  /** Set when a limit cut the expansion short (the result is still usable). */
  truncated: boolean;
}

export class CalendarParseError extends Error {
  override readonly name = "CalendarParseError";
}

export const DEFAULT_MAX_OCCURRENCES = 2000;
export const DEFAULT_MAX_ITERATIONS = 20_000;
/** Per recurring event: steps taken and occurrences kept (a runaway rule cannot starve the rest). */
export const MAX_STEPS_PER_EVENT = 4000;
export const MAX_OCCURRENCES_PER_EVENT = 1000;
const MAX_TEXT = 256;

/** Single-line, control-free, at most MAX_TEXT characters. */
export function cleanText(v: unknown): string {
  if (typeof v !== "string") return "";
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").replace(/\s+/g, " ").trim();
  if (s.length <= MAX_TEXT) return s;
  const cut = s.slice(0, MAX_TEXT - 1);
  // Do not leave half a surrogate pair.
  return (/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut) + "…";
}

function upper(v: unknown): string {
  return typeof v === "string" ? v.trim().toUpperCase() : "";
}

function showAsOf(item: Event): ShowAs | "cancelled" {
  const c = item.component;
  if (upper(c.getFirstPropertyValue("status")) === "CANCELLED") return "cancelled";
  const ms = upper(c.getFirstPropertyValue("x-microsoft-cdo-busystatus"));
  switch (ms) {
    case "FREE":
      return "free";
    case "TENTATIVE":
      return "tentative";
    case "BUSY":
      return "busy";
    case "OOF":
      return "oof";
    case "WORKINGELSEWHERE":
      return "working-elsewhere";
  }
  if (upper(c.getFirstPropertyValue("transp")) === "TRANSPARENT") return "free";
  if (upper(c.getFirstPropertyValue("status")) === "TENTATIVE") return "tentative";
  return "busy";
}

function isPrivate(item: Event): boolean {
  const cls = upper(item.component.getFirstPropertyValue("class"));
  return cls === "PRIVATE" || cls === "CONFIDENTIAL";
}

function tzidOf(item: Event, prop: "dtstart" | "dtend"): string | undefined {
  const p = item.component.getFirstProperty(prop) ?? (prop === "dtend" ? item.component.getFirstProperty("dtstart") : null);
  const v = p?.getParameter("tzid");
  return typeof v === "string" ? v : undefined;
}

export class Expander {
  readonly #floating: string | undefined;

  constructor(floatingTimeZone?: string) {
    this.#floating = floatingTimeZone && isTimeZone(floatingTimeZone) ? floatingTimeZone : undefined;
  }

  /** Epoch milliseconds of an ical.js time. */
  toEpoch(t: Time, tzidHint?: string): number {
    const zone = t.zone;
    if (zone && zone.tzid !== "floating") return t.toUnixTime() * 1000;
    const hour = t.isDate ? 0 : t.hour;
    const minute = t.isDate ? 0 : t.minute;
    const second = t.isDate ? 0 : t.second;
    const iana = tzidHint && !t.isDate && isTimeZone(tzidHint) ? tzidHint : this.#floating;
    if (iana) return wallTimeToUtc(t.year, t.month, t.day, hour, minute, second, iana);
    return new Date(t.year, t.month - 1, t.day, hour, minute, second).getTime();
  }
}

/**
 * Parses an iCalendar text and expands its events within [from, to).
 * Throws CalendarParseError when the text is not an iCalendar object at all.
 */
export function parseCalendar(text: string, opts: ParseOptions): ParseResult {
  const from = opts.from.getTime();
  const to = opts.to.getTime();
  const maxOcc = opts.maxOccurrences ?? DEFAULT_MAX_OCCURRENCES;
  let budget = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const ex = new Expander(opts.floatingTimeZone);

  let roots: Component[];
  try {
    roots = parseRoots(text);
  } catch (err) {
    // One malformed property (an unknown RRULE frequency, a bad date) makes ical.js refuse the
    // whole text. Salvage what can be read: each VEVENT on its own, with the time zones.
    roots = salvage(text);
    if (roots.length === 0) throw new CalendarParseError(`not a valid iCalendar file: ${(err as Error).message}`);
  }
  if (roots.length === 0) throw new CalendarParseError("not an iCalendar file: it is empty");
  for (const root of roots) {
    if (root.name !== "vcalendar") throw new CalendarParseError(`not an iCalendar file: the top component is ${root.name.toUpperCase()}, expected VCALENDAR`);
  }

  // Group VEVENTs by UID: masters (no RECURRENCE-ID) and their overrides.
  const masters = new Map<string, Component[]>();
  const overrides = new Map<string, Component[]>();
  let anonymous = 0;
  for (const comp of roots.flatMap((r) => r.getAllSubcomponents("vevent"))) {
    const uidValue = comp.getFirstPropertyValue("uid");
    const uid = typeof uidValue === "string" && uidValue !== "" ? uidValue : `\0anonymous-${anonymous++}`;
    const bucket = comp.hasProperty("recurrence-id") ? overrides : masters;
    let list = bucket.get(uid);
    if (!list) bucket.set(uid, (list = []));
    list.push(comp);
  }

  const out: CalendarEvent[] = [];
  let truncated = false;

  const add = (item: Event, start: Time, end: Time): void => {
    const showAs = showAsOf(item);
    if (showAs === "cancelled") return;
    const s = ex.toEpoch(start, tzidOf(item, "dtstart"));
    let e = ex.toEpoch(end, tzidOf(item, "dtend"));
    if (!Number.isFinite(s) || !Number.isFinite(e)) return;
    if (e < s) e = s;
    // Intersects [from, to)? A zero-length occurrence counts when its instant is inside.
    if (s >= to || e < from || (e === from && e !== s)) return;
    if (out.length >= maxOcc) {
      truncated = true;
      return;
    }
    const priv = isPrivate(item);
    out.push({
      start: new Date(s),
      end: new Date(e),
      subject: priv ? "" : cleanText(item.summary),
      location: priv ? "" : cleanText(item.location),
      showAs,
      allDay: start.isDate,
    });
  };

  const safe = (fn: () => void): void => {
    // One malformed event (a bad RRULE, an unparsable date) must not lose the whole feed.
    try {
      fn();
    } catch {
      /* skipped */
    }
  };

  for (const [uid, comps] of masters) {
    const exceptions = overrides.get(uid) ?? [];
    overrides.delete(uid);
    comps.forEach((comp, i) =>
      safe(() => {
        const master = new ICAL.Event(comp, { strictExceptions: true, exceptions: i === 0 ? exceptions : [] });
        // Overrides are added on their own below (they may have moved into the window from
        // anywhere); here their original slots are skipped.
        if (i === 0) for (const o of exceptions) safe(() => addOverride(new ICAL.Event(o)));
        if (!master.isRecurring()) {
          add(master, master.startDate, master.endDate);
          return;
        }
        const durationMs = Math.max(0, ex.toEpoch(master.endDate, tzidOf(master, "dtend")) - ex.toEpoch(master.startDate, tzidOf(master, "dtstart")));
        const it = master.iterator(fastForward(master, from - durationMs - 2 * DAY_MS, ex));
        let steps = 0;
        const before = out.length;
        for (;;) {
          if (budget-- <= 0 || steps++ >= MAX_STEPS_PER_EVENT || out.length - before >= MAX_OCCURRENCES_PER_EVENT) {
            truncated = true;
            return;
          }
          const next = it.next();
          if (!next) return;
          const startMs = ex.toEpoch(next, tzidOf(master, "dtstart"));
          // Occurrences are in start order: past the window's end, nothing more can come
          // (overrides that move a later occurrence earlier are added separately).
          if (startMs >= to) return;
          // Far before the window: skip cheaply (the longest meeting we consider is the
          // master's duration; range overrides may shift it, which is rare and bounded by
          // the check in add()).
          if (startMs + durationMs < from - 86_400_000 && master.rangeExceptions.length === 0) continue;
          if (isOverridden(master, next)) continue;
          const d = master.getOccurrenceDetails(next);
          add(d.item, d.startDate, d.endDate);
          if (out.length >= maxOcc) {
            truncated = true;
            return;
          }
        }
      }),
    );
  }
  // Overrides whose master is not in the feed (an invitation to one occurrence only).
  for (const comps of overrides.values()) for (const o of comps) safe(() => addOverride(new ICAL.Event(o)));

  function addOverride(o: Event): void {
    add(o, o.startDate, o.endDate);
  }

  out.sort((a, b) => a.start.getTime() - b.start.getTime() || a.end.getTime() - b.end.getTime());
  return { events: out, truncated };
}

function parseRoots(text: string): Component[] {
  const jcal = ICAL.parse(text) as unknown[];
  const list = Array.isArray(jcal) && typeof jcal[0] === "string" ? [jcal] : (jcal as unknown[][]);
  return list.map((j) => new ICAL.Component(j as never));
}

/** Block-by-block reading of a text ical.js refused as a whole; [] when it has no VCALENDAR. */
function salvage(text: string): Component[] {
  const lines = text.split(/\r?\n/);
  if (!lines.some((l) => /^BEGIN:VCALENDAR\s*$/i.test(l))) return [];
  const zones: string[] = [];
  const events: string[] = [];
  let block: string[] | undefined;
  let kind = "";
  for (const line of lines) {
    const begin = /^BEGIN:(VEVENT|VTIMEZONE)\s*$/i.exec(line);
    if (!block && begin) {
      block = [line];
      kind = begin[1].toUpperCase();
      continue;
    }
    if (!block) continue;
    block.push(line);
    if (new RegExp(`^END:${kind}\\s*$`, "i").test(line)) {
      (kind === "VTIMEZONE" ? zones : events).push(block.join("\r\n"));
      block = undefined;
    }
  }
  const head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley//salvage//EN\r\n";
  // Time zones that do not parse on their own are left out.
  const goodZones = zones.filter((z) => {
    try {
      parseRoots(`${head}${z}\r\nEND:VCALENDAR\r\n`);
      return true;
    } catch {
      return false;
    }
  });
  const out: Component[] = [];
  const zoneText = goodZones.map((z) => z + "\r\n").join("");
  // One root holding every readable event, so that overrides still meet their masters.
  const readable = events.filter((e) => {
    try {
      parseRoots(`${head}${e}\r\nEND:VCALENDAR\r\n`);
      return true;
    } catch {
      return false;
    }
  });
  if (readable.length === 0 && goodZones.length === 0) return [];
  out.push(...parseRoots(`${head}${zoneText}${readable.map((e) => e + "\r\n").join("")}END:VCALENDAR\r\n`));
  return out;
}

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { SECONDLY: 1000, MINUTELY: 60_000, HOURLY: 3_600_000, DAILY: DAY_MS, WEEKLY: 7 * DAY_MS };

/**
 * Where to start iterating a recurring event so that a rule begun years ago does not walk
 * every occurrence since: DTSTART moved forward by a whole number of rule periods
 * (INTERVAL × day, week, hour …) to just before `target`. Only for a single RRULE with a
 * fixed-length period and no COUNT (COUNT counts from the real DTSTART; MONTHLY and YEARLY
 * rules take few steps anyway). A shifted start is itself an occurrence-aligned instant, so the
 * rule's BYxxx parts, EXDATEs and UNTIL keep their meaning.
 */
function fastForward(master: Event, target: number, ex: Expander): Time | undefined {
  const rules = master.component.getAllProperties("rrule");
  if (rules.length !== 1 || master.component.hasProperty("rdate")) return undefined;
  const rule = rules[0].getFirstValue() as InstanceType<typeof ICAL.Recur> | null;
  if (!rule || rule.count || !rule.freq) return undefined;
  const unit = UNIT_MS[rule.freq];
  const interval = rule.interval > 0 ? rule.interval : 1;
  if (unit === undefined) return undefined;
  const start = master.startDate;
  const startMs = ex.toEpoch(start, tzidOf(master, "dtstart"));
  const steps = Math.floor((target - startMs) / (unit * interval));
  if (!(steps > 0)) return undefined;
  const n = steps * interval;
  const shifted = start.clone();
  switch (rule.freq) {
    case "WEEKLY":
      shifted.adjust(7 * n, 0, 0, 0);
      break;
    case "DAILY":
      shifted.adjust(n, 0, 0, 0);
      break;
    case "HOURLY":
      shifted.adjust(0, n, 0, 0);
      break;
    case "MINUTELY":
      shifted.adjust(0, 0, n, 0);
      break;
    default:
      shifted.adjust(0, 0, 0, n);
  }
  return shifted;
}

function isOverridden(master: Event, occurrence: Time): boolean {
  const ex = master.exceptions as unknown as Record<string, Event>;
  if (occurrence.toString() in ex) return true;
  return occurrence.convertToZone(ICAL.Timezone.utcTimezone).toString() in ex;
}
