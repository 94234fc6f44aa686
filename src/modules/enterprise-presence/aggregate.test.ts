// Golden tests for the aggregation rules (docs/presence.md, "Aggregation"), with a fake clock.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, MINUTE, HOUR, SECOND, DAY } from "./clock.ts";
import {
  aggregate, aggregationConfig, endpointMachine, statesEqual, workgroupView, DEFAULT_AGGREGATION_CONFIG,
  type EndpointInput, type PresenceInputs, type PresenceState,
} from "./aggregate.ts";
import { applyManualRequest, type ManualState } from "./model.ts";
import { project } from "./privacy.ts";
import type { CustomStateDef } from "./custom-states.ts";

const T0 = Date.parse("2025-03-03T09:00:00Z");
const desktop = (over: Partial<EndpointInput> = {}): EndpointInput => ({ id: "desk", kind: "desktop", ...over });
const phone = (over: Partial<EndpointInput> = {}): EndpointInput => ({ id: "phone", kind: "mobile", ...over });
const manual = (mode: ManualState["mode"], setAt: number, extra: Partial<ManualState> = {}): ManualState => ({ mode, setAt, ...extra });

/** The fields a golden test pins down. */
function summary(s: PresenceState) {
  return { availability: s.availability, class: s.class, activity: s.activity, source: s.source };
}

describe("golden: the cases of lync-spec R4 and PRODUCT.md", () => {
  test("desktop active + phone in a call → 6500 Busy, In a call", () => {
    const s = aggregate({ endpoints: [desktop(), phone({ activity: "on-the-phone" })] }, T0);
    assert.deepEqual(summary(s), { availability: 6500, class: "busy", activity: "on-the-phone", source: "device" });
    assert.equal(s.mobile, false);
    assert.equal(s.lastActive, undefined);
  });

  test("desktop idle 30 min + phone in a call → still 6500 (a device in a call is in use)", () => {
    const s = aggregate({ endpoints: [desktop({ idleSince: T0 - 30 * MINUTE }), phone({ activity: "on-the-phone" })] }, T0);
    assert.deepEqual(summary(s), { availability: 6500, class: "busy", activity: "on-the-phone", source: "device" });
  });

  test("calendar only: a busy meeting now → 6500 Busy, In a meeting, with subject and place", () => {
    const meeting = { subject: "Budget review", location: "Room 5", start: T0 - 10 * MINUTE, end: T0 + 50 * MINUTE, freeBusy: "busy" as const };
    const s = aggregate({ endpoints: [desktop()], calendar: { meetings: [meeting] } }, T0);
    assert.deepEqual(summary(s), { availability: 6500, class: "busy", activity: "in-a-meeting", source: "calendar" });
    assert.deepEqual(s.meeting, { subject: "Budget review", location: "Room 5", start: meeting.start, end: meeting.end });
    assert.equal(s.nextChangeAt, meeting.end);
  });

  test("calendar: tentative and free items change nothing; the meeting ends at its end", () => {
    const tentative = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "tentative" as const };
    const free = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "free" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [tentative, free] } }, T0).availability, 3500);
    const busy = { start: T0, end: T0 + HOUR, freeBusy: "busy" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [busy] } }, T0).availability, 6500, "start is inclusive");
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [busy] } }, T0 + HOUR).availability, 3500, "end is exclusive");
  });

  test("all endpoints idle 6 min → 5000 Inactive, last active = most recent input", () => {
    const s = aggregate({ endpoints: [desktop({ idleSince: T0 - 6 * MINUTE }), phone({ idleSince: T0 - 7 * MINUTE })] }, T0);
    assert.deepEqual(summary(s), { availability: 5000, class: "available-idle", activity: undefined, source: "machine" });
    assert.equal(s.lastActive, T0 - 6 * MINUTE);
    assert.equal(s.machine, "inactive");
  });

  test("all endpoints idle 12 min → 15500 Away", () => {
    const s = aggregate({ endpoints: [desktop({ idleSince: T0 - 12 * MINUTE }), phone({ idleSince: T0 - 20 * MINUTE })] }, T0);
    assert.deepEqual(summary(s), { availability: 15500, class: "away", activity: undefined, source: "machine" });
    assert.equal(s.lastActive, T0 - 12 * MINUTE);
  });

  test("manual DND → 9500 for Colleagues, 6900 Urgent interruptions only for Workgroup", () => {
    const s = aggregate({ endpoints: [desktop()], manual: manual("dnd", T0) }, T0);
    assert.deepEqual(summary(s), { availability: 9500, class: "dnd", activity: undefined, source: "manual" });
    const wg = workgroupView(s);
    assert.equal(wg.availability, 6900);
    assert.equal(wg.class, "busy");
    assert.equal(wg.activity, "urgent-interruptions-only");
    assert.equal(project(s, undefined, "colleagues").availability, 9500);
    assert.equal(project(s, undefined, "workgroup").availability, 6900);
    assert.equal(project(s, undefined, "workgroup").activity, "urgent-interruptions-only");
  });

  test("no endpoints → 18500 Offline, last active = sign-out time; a manual state does not show", () => {
    const s = aggregate({ endpoints: [], lastSignOutAt: T0 - HOUR, manual: manual("busy", T0 - 2 * HOUR), note: "Back Monday" }, T0);
    assert.deepEqual(summary(s), { availability: 18500, class: "offline", activity: undefined, source: "offline" });
    assert.equal(s.lastActive, T0 - HOUR);
    assert.equal(s.note, "Back Monday");
    assert.equal(s.machine, "offline");
  });

  test("appear offline → 18500 and nothing that a real sign-out would not show", () => {
    const inputs: PresenceInputs = {
      endpoints: [desktop({ location: "Office" }), phone({ activity: "on-the-phone" })],
      manual: manual("appear-offline", T0 - 30 * MINUTE, { until: T0 + HOUR }),
      calendar: { meetings: [{ subject: "1:1", start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" }] },
    };
    const s = aggregate(inputs, T0);
    assert.deepEqual(summary(s), { availability: 18500, class: "offline", activity: undefined, source: "appear-offline" });
    assert.equal(s.appearOffline, true);
    assert.equal(s.lastActive, T0 - 30 * MINUTE, "as if they signed out when they chose it");
    assert.equal(s.location, undefined);
    assert.equal(s.meeting, undefined);
    assert.equal(s.endTime, undefined, "an end time would give it away");
    // What a watcher sees equals a real sign-out at the same moment.
    const real = aggregate({ endpoints: [], lastSignOutAt: T0 - 30 * MINUTE }, T0);
    for (const level of ["external", "colleagues", "workgroup", "friends-family"] as const) {
      assert.deepEqual(project(s, undefined, level), project(real, undefined, level), level);
    }
    assert.equal(project(s, undefined, "self").appearOffline, true);
    assert.equal(project(s, undefined, "self").manualMode, "appear-offline");
  });

  test("manual Busy expires after 24 h (fake clock), then the automatic state returns", () => {
    const clock = new FakeClock(T0);
    const m = applyManualRequest(undefined, { kind: "set", mode: "busy" }, clock.now(), "desk");
    const inputs = (): PresenceInputs => ({ endpoints: [desktop()], manual: m, calendar: { meetings: [{ start: T0, end: T0 + 2 * DAY, freeBusy: "busy" }] } });
    let s = aggregate(inputs(), clock.now());
    assert.deepEqual(summary(s), { availability: 6500, class: "busy", activity: "in-a-meeting", source: "manual" });
    assert.equal(s.nextChangeAt, T0 + DAY);
    clock.advance(DAY - 1);
    assert.equal(aggregate(inputs(), clock.now()).source, "manual");
    clock.advance(1);
    s = aggregate(inputs(), clock.now());
    assert.deepEqual(summary(s), { availability: 6500, class: "busy", activity: "in-a-meeting", source: "calendar" }, "reverts to the calendar");
    assert.equal(s.manualMode, undefined);
  });

  test("manual DND expires after the configured period; Available, BRB, Away do not", () => {
    const cfg = aggregationConfig({ busyDndExpiryMs: 2 * HOUR });
    const clock = new FakeClock(T0);
    const at = (mode: ManualState["mode"]) => aggregate({ endpoints: [desktop()], manual: manual(mode, T0) }, clock.now(), cfg);
    clock.advance(2 * HOUR);
    assert.equal(at("dnd").source, "machine");
    clock.advance(30 * DAY);
    assert.equal(at("brb").availability, 12500);
    assert.equal(at("away").availability, 15500);
    assert.equal(at("available").source, "manual");
    assert.equal(at("appear-offline").availability, 18500);
    const never = aggregationConfig({ busyDndExpiryMs: 0 });
    assert.equal(aggregate({ endpoints: [desktop()], manual: manual("busy", T0) }, T0 + 400 * DAY, never).source, "manual");
  });

  test("manual state with an end time: shown as end time, gone at that time", () => {
    const until = T0 + 3 * HOUR;
    const m = manual("brb", T0, { until });
    const s = aggregate({ endpoints: [desktop()], manual: m }, T0);
    assert.equal(s.availability, 12500);
    assert.equal(s.endTime, until);
    assert.equal(s.nextChangeAt, until);
    assert.equal(aggregate({ endpoints: [desktop()], manual: m }, until - 1).availability, 12500);
    const after = aggregate({ endpoints: [desktop()], manual: m }, until);
    assert.equal(after.availability, 3500);
    assert.equal(after.endTime, undefined);
  });

  test("an explicit end time replaces the 24 h default for Busy (both ways)", () => {
    const long = manual("busy", T0, { until: T0 + 3 * DAY });
    assert.equal(aggregate({ endpoints: [desktop()], manual: long }, T0 + 2 * DAY).source, "manual");
    const short = manual("dnd", T0, { until: T0 + HOUR });
    assert.equal(aggregate({ endpoints: [desktop()], manual: short }, T0 + HOUR).source, "machine");
  });

  test("idle thresholds exactly at 5 min (Inactive) and 10 min (Away)", () => {
    const idle = T0;
    const at = (t: number) => aggregate({ endpoints: [desktop({ idleSince: idle })] }, t);
    assert.equal(at(idle + 5 * MINUTE - 1).availability, 3500);
    assert.equal(at(idle + 5 * MINUTE - 1).nextChangeAt, idle + 5 * MINUTE);
    assert.equal(at(idle + 5 * MINUTE).availability, 5000);
    assert.equal(at(idle + 5 * MINUTE).nextChangeAt, idle + 10 * MINUTE);
    assert.equal(at(idle + 10 * MINUTE - 1).availability, 5000);
    assert.equal(at(idle + 10 * MINUTE).availability, 15500);
    assert.equal(at(idle + 10 * MINUTE).nextChangeAt, undefined);
  });

  test("idle thresholds are configurable", () => {
    const cfg = aggregationConfig({ inactiveAfterMs: 15 * MINUTE, awayAfterMs: 30 * MINUTE });
    const at = (t: number) => aggregate({ endpoints: [desktop({ idleSince: T0 })] }, t, cfg).availability;
    assert.equal(at(T0 + 15 * MINUTE - 1), 3500);
    assert.equal(at(T0 + 15 * MINUTE), 5000);
    assert.equal(at(T0 + 45 * MINUTE - 1), 5000);
    assert.equal(at(T0 + 45 * MINUTE), 15500);
    assert.throws(() => aggregationConfig({ inactiveAfterMs: 0 }), /inactiveAfterMs/);
    assert.throws(() => aggregationConfig({ awayAfterMs: 361 * MINUTE }), /awayAfterMs/);
    assert.throws(() => aggregationConfig({ busyDndExpiryMs: 5 * SECOND }), /busyDndExpiryMs/);
  });
});

describe("rules", () => {
  test("the most active endpoint wins the machine state", () => {
    const s = aggregate({ endpoints: [desktop({ idleSince: T0 - HOUR }), phone()] }, T0);
    assert.equal(s.availability, 3500);
    assert.equal(s.machine, "active");
    assert.equal(s.lastActive, undefined, "not shown while someone is active");
  });

  test("only mobile endpoints → the mobile hint", () => {
    assert.equal(aggregate({ endpoints: [phone()] }, T0).mobile, true);
    assert.equal(aggregate({ endpoints: [phone(), desktop()] }, T0).mobile, false);
  });

  test("a mobile app in the background ages like idle time; a desktop window in the background does not", () => {
    assert.equal(aggregate({ endpoints: [phone({ backgroundSince: T0 - 6 * MINUTE })] }, T0).availability, 5000);
    assert.equal(aggregate({ endpoints: [desktop({ backgroundSince: T0 - 60 * MINUTE })] }, T0).availability, 3500);
  });

  test("a reported state (screen locked → away) makes an endpoint less active, never more", () => {
    assert.equal(aggregate({ endpoints: [desktop({ reported: { state: "away", at: T0 } })] }, T0).availability, 15500);
    assert.equal(aggregate({ endpoints: [desktop({ reported: { state: "inactive", at: T0 } })] }, T0).availability, 5000);
    // inactive reported at T0 ages to away at T0 + 10 min like any idle time
    assert.equal(aggregate({ endpoints: [desktop({ reported: { state: "inactive", at: T0 } })] }, T0 + 10 * MINUTE).availability, 15500);
    assert.equal(aggregate({ endpoints: [desktop({ reported: { state: "active", at: T0 }, idleSince: T0 - 7 * MINUTE })] }, T0).availability, 5000);
  });

  test("idle-since in the future (client clock ahead) counts as now", () => {
    const m = endpointMachine(desktop({ idleSince: T0 + HOUR }), T0, DEFAULT_AGGREGATION_CONFIG);
    assert.equal(m.state, "active");
    assert.equal(m.lastInput, T0);
  });

  test("Busy-idle: a Busy source while every device is idle or away → 7500, never Away", () => {
    const meeting = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    const idle6 = aggregate({ endpoints: [desktop({ idleSince: T0 - 6 * MINUTE })], calendar: { meetings: [meeting] } }, T0);
    assert.deepEqual(summary(idle6), { availability: 7500, class: "busy-idle", activity: "in-a-meeting", source: "calendar" });
    const idle60 = aggregate({ endpoints: [desktop({ idleSince: T0 - 60 * MINUTE })], calendar: { meetings: [meeting] } }, T0);
    assert.equal(idle60.availability, 7500);
    assert.equal(idle60.lastActive, T0 - 60 * MINUTE);
    const busy = aggregate({ endpoints: [desktop({ idleSince: T0 - 60 * MINUTE })], manual: manual("busy", T0 - HOUR) }, T0);
    assert.deepEqual(summary(busy), { availability: 7500, class: "busy-idle", activity: undefined, source: "manual" });
  });

  test("manual Available decays to Inactive and Away; DND, BRB, Away, Off work do not decay", () => {
    const ep = [desktop({ idleSince: T0 - 6 * MINUTE })];
    assert.equal(aggregate({ endpoints: ep, manual: manual("available", T0) }, T0).availability, 5000);
    assert.equal(aggregate({ endpoints: [desktop({ idleSince: T0 - 11 * MINUTE })], manual: manual("available", T0) }, T0).availability, 15500);
    const away = [desktop({ idleSince: T0 - 11 * MINUTE })];
    assert.equal(aggregate({ endpoints: away, manual: manual("dnd", T0) }, T0).availability, 9500);
    assert.equal(aggregate({ endpoints: away, manual: manual("brb", T0) }, T0).availability, 12500);
    const off = aggregate({ endpoints: away, manual: manual("off-work", T0) }, T0);
    assert.deepEqual(summary(off), { availability: 15500, class: "away", activity: "off-work", source: "manual" });
  });

  test("manual beats devices and calendar; the automatic activity still shows when it fits", () => {
    const meeting = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    const inCall = [desktop(), phone({ activity: "on-the-phone" })];
    // Busy — In a call
    assert.deepEqual(summary(aggregate({ endpoints: inCall, manual: manual("busy", T0) }, T0)), { availability: 6500, class: "busy", activity: "on-the-phone", source: "manual" });
    // manual Available overrides the call
    assert.deepEqual(summary(aggregate({ endpoints: inCall, manual: manual("available", T0) }, T0)), { availability: 3500, class: "available", activity: undefined, source: "manual" });
    // manual DND: a meeting does not fit 9500
    assert.deepEqual(summary(aggregate({ endpoints: [desktop()], manual: manual("dnd", T0), calendar: { meetings: [meeting] } }, T0)), { availability: 9500, class: "dnd", activity: undefined, source: "manual" });
    // manual BRB
    assert.equal(aggregate({ endpoints: inCall, manual: manual("brb", T0) }, T0).activity, undefined);
    // DND + presenting → "Do not disturb — Presenting"
    assert.equal(aggregate({ endpoints: [desktop({ activity: "in-presentation" })], manual: manual("dnd", T0) }, T0).activity, "in-presentation");
  });

  test("presenting → DND (9500), beats a call, a conference and the calendar", () => {
    const meeting = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    const s = aggregate({ endpoints: [desktop({ activity: "in-presentation" }), phone({ activity: "on-the-phone" })], calendar: { meetings: [meeting] } }, T0);
    assert.deepEqual(summary(s), { availability: 9500, class: "dnd", activity: "in-presentation", source: "device" });
    assert.equal(workgroupView(s).availability, 6900);
    assert.equal(workgroupView(s).activity, "in-presentation");
    const conf = aggregate({ endpoints: [desktop({ activity: "in-a-conference" }), phone({ activity: "on-the-phone" })] }, T0);
    assert.equal(conf.activity, "in-a-conference");
  });

  test("device presence and calendar presence can be switched off", () => {
    const meeting = { subject: "x", start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    const cfg = aggregationConfig({ devicePresence: false, calendarPresence: false });
    const s = aggregate({ endpoints: [phone({ activity: "on-the-phone" })], calendar: { meetings: [meeting], outOfOffice: {} } }, T0, cfg);
    assert.deepEqual(summary(s), { availability: 3500, class: "available", activity: undefined, source: "machine" });
    assert.equal(s.meeting, undefined);
    const noDetails = aggregate({ endpoints: [desktop()], calendar: { meetings: [meeting] } }, T0, aggregationConfig({ meetingDetails: false }));
    assert.equal(noDetails.activity, "in-a-meeting");
    assert.equal(noDetails.meeting, undefined);
  });

  test("out of office: the fallback activity with its note, in every class, scheduled", () => {
    const cal = { outOfOffice: { note: "On leave until Monday", start: T0 - DAY, end: T0 + DAY } };
    const on = aggregate({ endpoints: [desktop()], calendar: cal }, T0);
    assert.deepEqual(summary(on), { availability: 3500, class: "available", activity: "out-of-office", source: "machine" });
    assert.equal(on.oooNote, "On leave until Monday");
    assert.equal(on.nextChangeAt, T0 + DAY);
    assert.equal(aggregate({ endpoints: [], calendar: cal }, T0).activity, "out-of-office");
    assert.equal(aggregate({ endpoints: [desktop()], calendar: cal }, T0 + DAY).activity, undefined);
    const meeting = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { ...cal, meetings: [meeting] } }, T0).activity, "in-a-meeting", "a real activity wins");
    const oofItem = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "oof" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [oofItem] } }, T0).activity, "out-of-office");
  });

  test("custom states: bound class, labels attached; a removed custom state falls back to its class", () => {
    const wfh: CustomStateDef = { id: "wfh", availability: "available", labels: { en: "Working from home" } };
    const interview: CustomStateDef = { id: "interview", availability: "dnd", labels: { en: "Interviewing" } };
    const cfg = aggregationConfig({ customStates: [wfh, interview] });
    const s = aggregate({ endpoints: [desktop()], manual: manual("available", T0, { customStateId: "wfh" }) }, T0, cfg);
    assert.equal(s.availability, 3500);
    assert.equal(s.custom, wfh);
    const dnd = aggregate({ endpoints: [desktop()], manual: manual("dnd", T0, { customStateId: "interview" }) }, T0, cfg);
    assert.equal(dnd.availability, 9500);
    assert.equal(dnd.custom?.id, "interview");
    assert.equal(aggregate({ endpoints: [desktop()], manual: manual("dnd", T0, { customStateId: "interview" }) }, T0 + DAY, cfg).source, "machine", "custom DND expires like DND");
    const gone = aggregate({ endpoints: [desktop()], manual: manual("available", T0, { customStateId: "gone" }) }, T0, cfg);
    assert.equal(gone.custom, undefined);
    assert.equal(gone.availability, 3500);
  });

  test("location: from the most active endpoint that has one, only below 12000", () => {
    const eps = [desktop({ idleSince: T0 - 6 * MINUTE, location: "Office" }), phone({ location: "Train" })];
    assert.equal(aggregate({ endpoints: eps }, T0).location, "Train");
    assert.equal(aggregate({ endpoints: eps, manual: manual("brb", T0) }, T0).location, undefined);
    assert.equal(aggregate({ endpoints: [desktop({ location: "Office" })], manual: manual("dnd", T0) }, T0).location, "Office");
  });

  test("all-day items are never meetings; an all-day out-of-office item is out of office", () => {
    const day = Date.parse("2025-03-03T00:00:00Z");
    const allDayBusy = { subject: "Conference trip", start: day, end: day + DAY, freeBusy: "busy" as const, allDay: true };
    const s = aggregate({ endpoints: [desktop()], calendar: { meetings: [allDayBusy] } }, T0);
    assert.deepEqual(summary(s), { availability: 3500, class: "available", activity: undefined, source: "machine" });
    assert.equal(s.meeting, undefined);
    assert.equal(s.nextChangeAt, undefined, "no timer for an item that cannot change anything");
    const holiday = { start: day, end: day + DAY, freeBusy: "oof" as const, allDay: true };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [holiday] } }, T0).activity, "out-of-office");
    const empty = { start: T0, end: T0, freeBusy: "busy" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [empty] } }, T0).availability, 3500, "zero-length item");
  });

  test("overlapping meetings: the one that started last", () => {
    const a = { subject: "A", start: T0 - HOUR, end: T0 + HOUR, freeBusy: "busy" as const };
    const b = { subject: "B", start: T0 - 10 * MINUTE, end: T0 + 20 * MINUTE, freeBusy: "busy" as const };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [a, b] } }, T0).meeting?.subject, "B");
    const b2 = { ...b, subject: "A2", end: T0 + 10 * MINUTE };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [b, b2] } }, T0).meeting?.subject, "A2", "same start: ends first");
    const b3 = { ...b, subject: "Aa" };
    assert.equal(aggregate({ endpoints: [desktop()], calendar: { meetings: [b, b3] } }, T0).meeting?.subject, "Aa", "then by subject");
    const upcoming = { subject: "C", start: T0 + 5 * MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };
    const s = aggregate({ endpoints: [desktop()], calendar: { meetings: [upcoming] } }, T0);
    assert.equal(s.meeting, undefined);
    assert.equal(s.nextChangeAt, T0 + 5 * MINUTE);
  });

  test("nextChangeAt is the earliest of idle thresholds, expiries and calendar edges", () => {
    const s = aggregate({
      endpoints: [desktop({ idleSince: T0 - 2 * MINUTE })],
      manual: manual("busy", T0 - 23 * HOUR),
      calendar: { meetings: [{ start: T0 + 30 * MINUTE, end: T0 + HOUR, freeBusy: "busy" }] },
    }, T0);
    assert.equal(s.nextChangeAt, T0 + 3 * MINUTE);
    // Re-evaluating at nextChangeAt gives the next state; advancing through the day converges.
    const clock = new FakeClock(T0);
    const inputs: PresenceInputs = { endpoints: [desktop({ idleSince: T0 })], manual: manual("busy", T0) };
    const seen: number[] = [];
    for (let st = aggregate(inputs, clock.now()); st.nextChangeAt !== undefined; st = aggregate(inputs, clock.now())) {
      clock.set(st.nextChangeAt);
      seen.push(aggregate(inputs, clock.now()).availability);
    }
    assert.deepEqual(seen, [7500, 7500, 15500], "Busy → Busy-idle (5 min) → (10 min, still Busy-idle) → expiry at 24 h → Away");
  });

  test("statesEqual ignores nextChangeAt and source only", () => {
    const a = aggregate({ endpoints: [desktop({ idleSince: T0 })] }, T0);
    const b = aggregate({ endpoints: [desktop()] }, T0 + MINUTE);
    assert.equal(statesEqual(a, b), true);
    assert.equal(statesEqual(a, aggregate({ endpoints: [desktop()], note: "x" }, T0)), false);
    assert.equal(statesEqual(a, aggregate({ endpoints: [desktop()], manual: manual("available", T0) }, T0)), false);
  });

  test("aggregate is pure: same inputs, same output; inputs untouched", () => {
    const inputs: PresenceInputs = Object.freeze({ endpoints: Object.freeze([desktop({ location: "A" }), phone({ location: "B", idleSince: T0 - HOUR })]) });
    assert.deepEqual(aggregate(inputs, T0), aggregate(inputs, T0));
    assert.ok(Object.isFrozen(aggregate(inputs, T0)));
  });
});
