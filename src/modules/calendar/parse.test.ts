import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CalendarParseError, cleanText, parseCalendar } from "./parse.ts";
import { currentMeeting, nextChange, type CalendarEvent } from "./meetings.ts";
import { wallTimeToUtc } from "./zones.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const D = (s: string) => new Date(s);
const iso = (e: CalendarEvent) => `${e.start.toISOString()} ${e.end.toISOString()}`;
const YEAR = { from: D("2025-01-01T00:00:00Z"), to: D("2026-01-01T00:00:00Z") };

function cal(...vevents: string[]): string {
  return ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...vevents, "END:VCALENDAR", ""].join("\r\n");
}
function vevent(lines: string[]): string {
  return ["BEGIN:VEVENT", "DTSTAMP:20250101T000000Z", ...lines, "END:VEVENT"].join("\r\n");
}

test("weekly meeting: EXDATE removes one, an override moves one, a cancelled override removes one", () => {
  const { events, truncated } = parseCalendar(fixture("weekly-with-exception.ics"), { from: D("2025-01-05T00:00:00Z"), to: D("2025-01-26T00:00:00Z") });
  assert.equal(truncated, false);
  assert.deepEqual(
    events.map((e) => `${iso(e)} ${e.subject} @ ${e.location}`),
    [
      "2025-01-06T09:00:00.000Z 2025-01-06T09:30:00.000Z Team stand-up @ Room 4.01",
      "2025-01-08T09:00:00.000Z 2025-01-08T09:30:00.000Z Team stand-up @ Room 4.01",
      // Mon 13th moved to 14:00–15:00 Berlin, with its own subject and room
      "2025-01-13T13:00:00.000Z 2025-01-13T14:00:00.000Z Team stand-up (moved) @ Room 2.12",
      // Wed 15th excluded (EXDATE); Mon 20th cancelled (STATUS:CANCELLED override)
      "2025-01-22T09:00:00.000Z 2025-01-22T09:30:00.000Z Team stand-up @ Room 4.01",
    ],
  );
  // At the original slot of the moved occurrence nobody is in a meeting; at the new one they are.
  assert.equal(currentMeeting(events, D("2025-01-13T09:15:00Z")), undefined);
  assert.equal(currentMeeting(events, D("2025-01-13T13:15:00Z"))?.location, "Room 2.12");
  assert.equal(currentMeeting(events, D("2025-01-20T09:15:00Z")), undefined, "cancelled");
  assert.deepEqual(nextChange(events, D("2025-01-13T14:00:00Z")), D("2025-01-22T09:00:00Z"));
});

test("the weekly series keeps 10:00 Berlin across the DST change (VTIMEZONE in the feed)", () => {
  const { events } = parseCalendar(fixture("weekly-with-exception.ics"), { from: D("2025-03-24T00:00:00Z"), to: D("2025-04-03T00:00:00Z") });
  assert.deepEqual(events.map((e) => e.start.toISOString()), [
    "2025-03-24T09:00:00.000Z", // CET, UTC+1
    "2025-03-26T09:00:00.000Z",
    "2025-03-31T08:00:00.000Z", // CEST, UTC+2 (DST began 30 March)
    "2025-04-02T08:00:00.000Z",
  ]);
});

test("time zones: VTIMEZONE across DST, IANA TZID without VTIMEZONE, UTC, floating", () => {
  const { events } = parseCalendar(fixture("dst.ics"), { ...YEAR, floatingTimeZone: "Asia/Tokyo" });
  const by = (s: string) => events.filter((e) => e.subject === s).map(iso);
  // 09:00 New York: 14:00Z in EST, 13:00Z once DST starts on 9 March; DURATION PT1H.
  assert.deepEqual(by("New York sync"), [
    "2025-03-07T14:00:00.000Z 2025-03-07T15:00:00.000Z",
    "2025-03-08T14:00:00.000Z 2025-03-08T15:00:00.000Z",
    "2025-03-09T13:00:00.000Z 2025-03-09T14:00:00.000Z",
    "2025-03-10T13:00:00.000Z 2025-03-10T14:00:00.000Z",
    "2025-03-11T13:00:00.000Z 2025-03-11T14:00:00.000Z",
    "2025-03-12T13:00:00.000Z 2025-03-12T14:00:00.000Z",
  ]);
  // Europe/Berlin named but not defined in the feed: resolved with Intl, DST on 30 March.
  assert.deepEqual(by("Berlin weekly (IANA zone, no VTIMEZONE)"), [
    "2025-03-27T08:00:00.000Z 2025-03-27T08:30:00.000Z",
    "2025-04-03T07:00:00.000Z 2025-04-03T07:30:00.000Z",
    "2025-04-10T07:00:00.000Z 2025-04-10T07:30:00.000Z",
  ]);
  assert.deepEqual(by("UTC meeting"), ["2025-03-10T15:00:00.000Z 2025-03-10T16:00:00.000Z"]);
  // Floating 12:00 in the configured zone (Tokyo, UTC+9).
  assert.deepEqual(by("Floating lunch"), ["2025-03-11T03:00:00.000Z 2025-03-11T04:00:00.000Z"]);
});

test("floating times default to the server's local zone", () => {
  const { events } = parseCalendar(fixture("dst.ics"), YEAR);
  const lunch = events.find((e) => e.subject === "Floating lunch")!;
  assert.deepEqual(lunch.start, new Date(2025, 2, 11, 12, 0, 0));
});

test("all-day, tentative, transparent, cancelled, private, out-of-office and overlapping events", () => {
  const { events } = parseCalendar(fixture("mixed.ics"), { from: D("2025-06-01T00:00:00Z"), to: D("2025-06-05T00:00:00Z"), floatingTimeZone: "UTC" });
  const summary = events.map((e) => `${e.start.toISOString().slice(5, 16)} ${e.showAs}${e.allDay ? " all-day" : ""} ${JSON.stringify(e.subject)}`);
  assert.deepEqual(summary, [
    '06-02T00:00 busy all-day "Company holiday"',
    '06-02T09:00 busy "Budget review"',
    '06-02T11:00 tentative "Maybe: vendor pitch"',
    '06-02T11:30 tentative "Outlook tentative"',
    '06-02T14:00 free "Focus time (free)"',
    '06-02T15:00 busy ""', // CLASS:PRIVATE: times only
    '06-02T16:00 busy "Workshop"',
    '06-02T16:30 busy "Call with Legal"',
    '06-03T08:00 oof "Vacation"',
  ]);
  assert.equal(events.find((e) => e.start.toISOString().startsWith("2025-06-02T15"))?.location, "", "private location hidden");
  const at = (t: string) => currentMeeting(events, D(`2025-06-02T${t}:00Z`));
  assert.equal(at("08:00"), undefined, "the all-day holiday is not a meeting");
  assert.equal(at("09:30")?.subject, "Budget review");
  assert.equal(at("11:35"), undefined, "tentative: still available");
  assert.equal(at("13:30"), undefined, "cancelled");
  assert.equal(at("14:30"), undefined, "transparent");
  assert.deepEqual(at("15:30"), { subject: "", location: "", start: D("2025-06-02T15:00:00Z"), end: D("2025-06-02T16:00:00Z") });
  assert.equal(at("16:40")?.subject, "Call with Legal");
  assert.equal(at("17:10")?.subject, "Workshop");
  assert.equal(currentMeeting(events, D("2025-06-03T09:00:00Z")), undefined, "out of office is not a meeting");
  assert.deepEqual(nextChange(events, D("2025-06-02T10:00:00Z")), D("2025-06-02T15:00:00Z"), "skips tentative/free");
});

test("an override can move an occurrence into the window from months away", () => {
  const { events } = parseCalendar(fixture("moved-and-stress.ics"), { from: D("2025-06-01T00:00:00Z"), to: D("2025-06-09T00:00:00Z") });
  const review = events.filter((e) => e.subject.startsWith("Monthly review"));
  assert.deepEqual(review.map((e) => `${iso(e)} ${e.subject}`), ["2025-06-02T10:00:00.000Z 2025-06-02T11:00:00.000Z Monthly review (pulled forward)"]);
  // ... and out of it: 10 July's slot is empty.
  const july = parseCalendar(fixture("moved-and-stress.ics"), { from: D("2025-07-09T00:00:00Z"), to: D("2025-07-12T00:00:00Z") });
  assert.deepEqual(july.events.filter((e) => e.subject.startsWith("Monthly")), []);
});

test("a runaway rule (every minute since 1970) is cut short quickly and reported", () => {
  const t0 = performance.now();
  const { events, truncated } = parseCalendar(fixture("moved-and-stress.ics"), { from: D("2025-06-01T00:00:00Z"), to: D("2025-06-09T00:00:00Z") });
  const ms = performance.now() - t0;
  assert.equal(truncated, true);
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.ok(events.length <= 1001);
  assert.ok(events.some((e) => e.subject === "Monthly review (pulled forward)"), "other events survive");
  const budgeted = parseCalendar(cal(vevent(["UID:c", "DTSTART:19700101T000000Z", "DURATION:PT1M", "RRULE:FREQ=MINUTELY;COUNT=100000000", "SUMMARY:x"])), {
    from: D("2025-06-01T00:00:00Z"),
    to: D("2025-06-09T00:00:00Z"),
  });
  assert.equal(budgeted.truncated, true, "COUNT rules cannot be fast-forwarded: the step budget stops them");
});

test("old recurring series are fast-forwarded exactly (weekly every other Mon/Wed since 2015; daily 09:00 Berlin since 2010)", () => {
  const text = cal(
    vevent(["UID:biweekly", "DTSTART:20150105T100000Z", "DTEND:20150105T103000Z", "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", "EXDATE:20150105T100000Z,20150107T100000Z,20160104T100000Z,20240101T100000Z", "EXDATE:20250528T100000Z", "SUMMARY:Bi-weekly"]),
    vevent(["UID:daily", "DTSTART;TZID=Europe/Berlin:20100104T090000", "DTEND;TZID=Europe/Berlin:20100104T091500", "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "SUMMARY:Daily"]),
  );
  const from = D("2025-03-28T00:00:00Z");
  const to = D("2025-06-10T00:00:00Z");
  const { events, truncated } = parseCalendar(text, { from, to });
  assert.equal(truncated, false);
  // Expected bi-weekly dates by arithmetic: weeks since Monday 5 Jan 2015, even weeks only.
  const expected: string[] = [];
  const base = Date.UTC(2015, 0, 5, 10);
  for (let t = Date.UTC(2025, 2, 28, 10); t < to.getTime(); t += 86_400_000) {
    const days = Math.round((t - base) / 86_400_000);
    const dow = new Date(t).getUTCDay();
    if ((dow === 1 || dow === 3) && Math.floor(days / 7) % 2 === 0 && new Date(t).toISOString() !== "2025-05-28T10:00:00.000Z") expected.push(new Date(t).toISOString());
  }
  assert.ok(expected.length >= 8);
  assert.deepEqual(events.filter((e) => e.subject === "Bi-weekly").map((e) => e.start.toISOString()), expected);
  const daily = events.filter((e) => e.subject === "Daily");
  for (const e of daily) {
    const local = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", weekday: "short" }).format(e.start);
    assert.match(local, /^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
  }
  assert.equal(daily.length, 52, "weekdays from 28 March to 9 June 2025");
});

test("a time in the DST gap or overlap maps like calendar programs do", () => {
  // 02:30 on 30 March 2025 does not exist in Berlin → 03:30 CEST (01:30Z).
  assert.equal(new Date(wallTimeToUtc(2025, 3, 30, 2, 30, 0, "Europe/Berlin")).toISOString(), "2025-03-30T01:30:00.000Z");
  // 02:30 on 26 October 2025 happens twice → the first (CEST, 00:30Z).
  assert.equal(new Date(wallTimeToUtc(2025, 10, 26, 2, 30, 0, "Europe/Berlin")).toISOString(), "2025-10-26T00:30:00.000Z");
  assert.equal(new Date(wallTimeToUtc(2025, 7, 1, 12, 0, 0, "America/New_York")).toISOString(), "2025-07-01T16:00:00.000Z");
});

test("events without an end, with DURATION, zero length and with a broken rule", () => {
  const text = cal(
    vevent(["UID:a", "DTSTART:20250602T090000Z", "SUMMARY:No end"]),
    vevent(["UID:b", "DTSTART:20250602T100000Z", "DURATION:PT45M", "SUMMARY:Duration"]),
    vevent(["UID:c", "DTSTART:20250602T110000Z", "RRULE:FREQ=BOGUS", "DTEND:20250602T113000Z", "SUMMARY:Bad rule"]),
    vevent(["UID:d", "DTSTART:20250602T120000Z", "DTEND:20250602T130000Z", "SUMMARY:Fine"]),
  );
  const { events } = parseCalendar(text, { from: D("2025-06-02T00:00:00Z"), to: D("2025-06-03T00:00:00Z") });
  const by = Object.fromEntries(events.map((e) => [e.subject, iso(e)]));
  assert.equal(by["No end"], "2025-06-02T09:00:00.000Z 2025-06-02T09:00:00.000Z");
  assert.equal(by["Duration"], "2025-06-02T10:00:00.000Z 2025-06-02T10:45:00.000Z");
  assert.equal(by["Fine"], "2025-06-02T12:00:00.000Z 2025-06-02T13:00:00.000Z", "a broken event does not lose the others");
  assert.equal(currentMeeting(events, D("2025-06-02T09:00:00Z")), undefined, "zero-length is never current");
});

test("Outlook free/busy status, text cleaning and folded lines", () => {
  const text = cal(
    vevent(["UID:a", "DTSTART:20250602T090000Z", "DTEND:20250602T100000Z", "X-MICROSOFT-CDO-BUSYSTATUS:FREE", "SUMMARY:Lunch"]),
    vevent(["UID:b", "DTSTART:20250602T100000Z", "DTEND:20250602T110000Z", "TRANSP:TRANSPARENT", "X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "SUMMARY:Busy wins"]),
    vevent(["UID:c", "DTSTART:20250602T110000Z", "DTEND:20250602T120000Z", "X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE", "SUMMARY:Home"]),
    vevent(["UID:d", "DTSTART:20250602T120000Z", "DTEND:20250602T130000Z", "SUMMARY:Line one\\nline two\\, with a very long", "  continuation", "LOCATION:Room\\;7"]),
  );
  const { events } = parseCalendar(text, { from: D("2025-06-02T00:00:00Z"), to: D("2025-06-03T00:00:00Z") });
  assert.deepEqual(events.map((e) => e.showAs), ["free", "busy", "working-elsewhere", "busy"]);
  assert.equal(events[3].subject, "Line one line two, with a very long continuation");
  assert.equal(events[3].location, "Room;7");
  assert.equal(cleanText("x".repeat(300)).length, 256);
  assert.equal(cleanText("a\u0000b\u202Ec"), "a b\u202Ec".replace("\u202E", "\u202E"));
});

test("several VCALENDAR objects in one feed are all read", () => {
  const one = cal(vevent(["UID:a", "DTSTART:20250602T090000Z", "DTEND:20250602T100000Z", "SUMMARY:A"]));
  const two = cal(vevent(["UID:b", "DTSTART:20250602T100000Z", "DTEND:20250602T110000Z", "SUMMARY:B"]));
  const { events } = parseCalendar(one + two, { from: D("2025-06-02T00:00:00Z"), to: D("2025-06-03T00:00:00Z") });
  assert.deepEqual(events.map((e) => e.subject), ["A", "B"]);
});

test("what is not an iCalendar object is refused with a clear error", () => {
  for (const bad of ["", "<html><body>Please sign in</body></html>", "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"]) {
    assert.throws(() => parseCalendar(bad, YEAR), (err: unknown) => err instanceof CalendarParseError && /iCalendar/.test((err as Error).message), JSON.stringify(bad));
  }
});
