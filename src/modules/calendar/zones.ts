// Wall-clock time in an IANA time zone → UTC, with Intl (Node ships full ICU). Used for
// floating times (no zone in the feed) and for TZIDs that name an IANA zone the feed did not
// define with a VTIMEZONE.

const formatters = new Map<string, Intl.DateTimeFormat>();
const valid = new Map<string, boolean>();

/** Whether `name` is a time zone Intl knows (e.g. "Europe/Berlin", "UTC"). */
export function isTimeZone(name: string): boolean {
  if (name === "" || name.length > 64) return false;
  let ok = valid.get(name);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: name });
      ok = true;
    } catch {
      ok = false;
    }
    if (valid.size < 1000) valid.set(name, ok);
  }
  return ok;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    if (formatters.size < 1000) formatters.set(zone, f);
  }
  return f;
}

/** Offset of `zone` from UTC at the instant `ms`, in milliseconds (east positive). */
export function zoneOffset(ms: number, zone: string): number {
  const parts = formatter(zone).formatToParts(new Date(ms));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The UTC instant of a wall-clock time in `zone`. A time skipped by a DST change
 * (02:30 on a spring-forward day) maps to the instant one offset later (03:30), the way
 * calendar programs show it; an ambiguous time (autumn) maps to its first occurrence.
 */
export function wallTimeToUtc(year: number, month: number, day: number, hour: number, minute: number, second: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const before = zoneOffset(wall - 86_400_000, zone);
  const after = zoneOffset(wall + 86_400_000, zone);
  // Try both offsets around the wall time; prefer the earlier instant that maps back exactly.
  const candidates = [wall - Math.max(before, after), wall - Math.min(before, after)];
  for (const c of candidates) {
    if (c + zoneOffset(c, zone) === wall) return c;
  }
  // In a gap: no instant shows this wall time. Use the offset from before the change.
  return wall - before;
}
