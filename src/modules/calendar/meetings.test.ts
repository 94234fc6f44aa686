import { test } from "node:test";
import assert from "node:assert/strict";
import { currentMeeting, isMeeting, nextChange, sameMeeting, type CalendarEvent, type ShowAs } from "./meetings.ts";

const T = (hhmm: string) => new Date(`2025-06-02T${hhmm}:00Z`);

function ev(start: string, end: string, subject: string, extra: { showAs?: ShowAs; allDay?: boolean; location?: string } = {}): CalendarEvent {
  return { start: T(start), end: T(end), subject, location: extra.location ?? "", showAs: extra.showAs ?? "busy", allDay: extra.allDay ?? false };
}

test("a busy meeting covers [start, end)", () => {
  const events = [ev("09:00", "10:00", "Budget", { location: "Board room" })];
  assert.equal(currentMeeting(events, T("08:59")), undefined);
  assert.deepEqual(currentMeeting(events, T("09:00")), { subject: "Budget", location: "Board room", start: T("09:00"), end: T("10:00") });
  assert.equal(currentMeeting(events, new Date(T("10:00").getTime() - 1))?.subject, "Budget");
  assert.equal(currentMeeting(events, T("10:00")), undefined, "over at its end");
});

test("tentative, free, out-of-office, working-elsewhere, all-day and empty occurrences are not meetings", () => {
  const events = [
    ev("09:00", "10:00", "maybe", { showAs: "tentative" }),
    ev("09:00", "10:00", "focus", { showAs: "free" }),
    ev("09:00", "10:00", "vacation", { showAs: "oof" }),
    ev("09:00", "10:00", "home office", { showAs: "working-elsewhere" }),
    { ...ev("00:00", "00:00", "holiday", { allDay: true }), end: new Date("2025-06-03T00:00:00Z") },
    ev("09:30", "09:30", "zero length"),
  ];
  for (const e of events) assert.equal(isMeeting(e), false, e.subject);
  assert.equal(currentMeeting(events, T("09:30")), undefined);
  assert.equal(nextChange(events, T("08:00")), undefined);
});

test("overlapping meetings: the one that started last wins, then the one ending first", () => {
  const events = [ev("16:00", "18:00", "Workshop"), ev("16:30", "17:00", "Call with Legal"), ev("16:30", "17:30", "Longer call")];
  assert.equal(currentMeeting(events, T("16:15"))?.subject, "Workshop");
  assert.equal(currentMeeting(events, T("16:45"))?.subject, "Call with Legal");
  assert.equal(currentMeeting(events, T("17:15"))?.subject, "Longer call");
  assert.equal(currentMeeting(events, T("17:45"))?.subject, "Workshop");
  // Same start and end: deterministic by subject.
  assert.equal(currentMeeting([ev("09:00", "10:00", "b"), ev("09:00", "10:00", "a")], T("09:30"))?.subject, "a");
});

test("nextChange is the nearest meeting start or end strictly after now", () => {
  const events = [ev("09:00", "10:00", "A"), ev("09:30", "11:00", "B"), ev("12:00", "12:30", "C", { showAs: "tentative" }), ev("13:00", "14:00", "D")];
  assert.deepEqual(nextChange(events, T("08:00")), T("09:00"));
  assert.deepEqual(nextChange(events, T("09:00")), T("09:30"), "not the boundary at now itself");
  assert.deepEqual(nextChange(events, T("09:45")), T("10:00"));
  assert.deepEqual(nextChange(events, T("10:00")), T("11:00"));
  assert.deepEqual(nextChange(events, T("11:00")), T("13:00"), "tentative C is skipped");
  assert.deepEqual(nextChange(events, T("13:30")), T("14:00"));
  assert.equal(nextChange(events, T("14:00")), undefined);
  assert.equal(nextChange([], T("14:00")), undefined);
});

test("walking the boundaries visits every change of the current meeting", () => {
  const events = [ev("09:00", "10:00", "A"), ev("09:30", "11:00", "B"), ev("13:00", "14:00", "D")];
  const seen: string[] = [];
  let now: Date | undefined = T("08:00");
  while (now) {
    seen.push(`${now.toISOString().slice(11, 16)} ${currentMeeting(events, now)?.subject ?? "-"}`);
    now = nextChange(events, now);
  }
  assert.deepEqual(seen, ["08:00 -", "09:00 A", "09:30 B", "10:00 B", "11:00 -", "13:00 D", "14:00 -"]);
});

test("sameMeeting compares what watchers see", () => {
  const a = { subject: "A", location: "R", start: T("09:00"), end: T("10:00") };
  assert.ok(sameMeeting(a, { ...a, start: new Date(a.start) }));
  assert.ok(!sameMeeting(a, { ...a, end: T("10:30") }));
  assert.ok(!sameMeeting(a, { ...a, location: "" }));
  assert.ok(!sameMeeting(a, undefined));
  assert.ok(sameMeeting(undefined, undefined));
});
