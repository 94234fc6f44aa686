import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AVAILABILITY, CANONICAL, CLASS_RANGES, AVAILABILITY_CLASSES, classOf, isDnd, activityApplies, activityLabel, classLabel,
  effectiveManual, manualExpiresAt, applyManualRequest, applyNoteRequest, expiresByDefault, MANUAL_MODES, MANUAL_AVAILABILITY,
  DEFAULT_MANUAL_EXPIRY_MS, ACTIVITY_TOKENS, isActivityToken,
} from "./model.ts";
import { DAY, HOUR } from "./clock.ts";

test("canonical values (lync-spec §1.1)", () => {
  assert.deepEqual({ ...AVAILABILITY }, { available: 3500, inactive: 5000, busy: 6500, urgentOnly: 6900, busyIdle: 7500, dnd: 9500, brb: 12500, away: 15500, offline: 18500 });
  for (const cls of AVAILABILITY_CLASSES) if (cls !== "unknown") assert.equal(classOf(CANONICAL[cls]), cls);
  assert.equal(classOf(6900), "busy", "urgent interruptions only is a Busy-range state");
});

test("range boundaries (lync-spec R2)", () => {
  const cases: Array<[number, string]> = [
    [0, "unknown"], [2999, "unknown"], [3000, "available"], [4499, "available"], [4500, "available-idle"], [5999, "available-idle"],
    [6000, "busy"], [7499, "busy"], [7500, "busy-idle"], [8999, "busy-idle"], [9000, "dnd"], [11999, "dnd"],
    [12000, "brb"], [14999, "brb"], [15000, "away"], [17999, "away"], [18000, "offline"], [99999, "offline"],
    [-1, "unknown"], [3500.5, "unknown"], [Number.NaN, "unknown"],
  ];
  for (const [n, cls] of cases) assert.equal(classOf(n), cls, String(n));
  for (const cls of AVAILABILITY_CLASSES) {
    const [lo, hi] = CLASS_RANGES[cls];
    assert.equal(classOf(lo), cls);
    assert.equal(classOf(Math.min(hi, 10 ** 9)), cls);
  }
  assert.equal(isDnd(9500), true);
  assert.equal(isDnd(6900), false);
});

test("activities: tokens, ranges, labels", () => {
  assert.deepEqual([...ACTIVITY_TOKENS].sort(), ["in-a-conference", "in-a-meeting", "in-presentation", "off-work", "on-the-phone", "out-of-office", "urgent-interruptions-only"]);
  assert.equal(isActivityToken("on-the-phone"), true);
  assert.equal(isActivityToken("On-The-Phone"), false, "tokens are case-sensitive");
  assert.equal(isActivityToken("toString"), false);
  assert.equal(activityApplies("on-the-phone", 6500), true);
  assert.equal(activityApplies("on-the-phone", 7500), true);
  assert.equal(activityApplies("on-the-phone", 9500), false);
  assert.equal(activityApplies("on-the-phone", 3500), false);
  assert.equal(activityApplies("in-presentation", 9500), true);
  assert.equal(activityApplies("off-work", 15500), true);
  assert.equal(activityApplies("out-of-office", 18500), true);
  assert.equal(activityLabel("on-the-phone"), "In a call");
  assert.equal(activityLabel("in-a-meeting", "zh-TW"), "會議中");
  assert.equal(activityLabel("in-a-meeting", "ja"), "In a meeting");
  assert.equal(classLabel("available-idle", "fr-CA"), "Inactif");
  assert.equal(classLabel("busy-idle"), "Busy");
});

test("manual modes and their availability", () => {
  assert.deepEqual([...MANUAL_MODES], ["available", "busy", "dnd", "brb", "away", "off-work", "appear-offline"]);
  assert.equal(MANUAL_AVAILABILITY["off-work"], 15500);
  assert.equal(MANUAL_AVAILABILITY["appear-offline"], 18500);
  assert.deepEqual(MANUAL_MODES.filter(expiresByDefault), ["busy", "dnd"]);
});

test("manual expiry: Busy/DND after 24 h by default; an end time replaces it; others never", () => {
  const cfg = { busyDndExpiryMs: DEFAULT_MANUAL_EXPIRY_MS };
  const t = 1_000_000;
  assert.equal(DEFAULT_MANUAL_EXPIRY_MS, DAY);
  assert.equal(manualExpiresAt({ mode: "busy", setAt: t }, cfg), t + DAY);
  assert.equal(manualExpiresAt({ mode: "dnd", setAt: t }, cfg), t + DAY);
  assert.equal(manualExpiresAt({ mode: "busy", setAt: t, until: t + 3 * DAY }, cfg), t + 3 * DAY);
  assert.equal(manualExpiresAt({ mode: "away", setAt: t }, cfg), undefined);
  assert.equal(manualExpiresAt({ mode: "away", setAt: t, until: t + HOUR }, cfg), t + HOUR);
  assert.equal(manualExpiresAt({ mode: "busy", setAt: t }, { busyDndExpiryMs: 0 }), undefined);
  const m = { mode: "busy" as const, setAt: t };
  assert.equal(effectiveManual(m, t + DAY - 1, cfg), m);
  assert.equal(effectiveManual(m, t + DAY, cfg), undefined);
  assert.equal(effectiveManual(undefined, t, cfg), undefined);
});

test("applyManualRequest: set, reset (reset status), reset-own", () => {
  const t = 5000;
  const m = applyManualRequest(undefined, { kind: "set", mode: "dnd", until: t + HOUR }, t, "laptop");
  assert.deepEqual(m, { mode: "dnd", setAt: t, until: t + HOUR, setBy: "laptop" });
  assert.equal(applyManualRequest(m, { kind: "reset" }, t + 1, "phone"), undefined);
  assert.equal(applyManualRequest(m, { kind: "reset-own" }, t + 1, "phone"), m, "another endpoint's choice stays");
  assert.equal(applyManualRequest(m, { kind: "reset-own" }, t + 1, "laptop"), undefined);
  assert.equal(applyManualRequest(undefined, { kind: "reset-own" }, t, "laptop"), undefined);
  const c = applyManualRequest(m, { kind: "set", mode: "available", customStateId: "wfh" }, t + 2);
  assert.deepEqual(c, { mode: "available", customStateId: "wfh", setAt: t + 2 });
  assert.equal(applyManualRequest(c, { kind: "reset-own" }, t + 3, "laptop"), c, "no setBy: only an explicit reset removes it");
});

test("applyNoteRequest", () => {
  const n = applyNoteRequest(undefined, { kind: "set", text: "Back at 3" }, "gajim");
  assert.deepEqual(n, { text: "Back at 3", setBy: "gajim" });
  assert.equal(applyNoteRequest(n, { kind: "clear-own" }, "web"), n);
  assert.equal(applyNoteRequest(n, { kind: "clear-own" }, "gajim"), undefined);
  assert.equal(applyNoteRequest(n, { kind: "clear" }, "web"), undefined);
  assert.equal(applyNoteRequest(n, { kind: "set", text: "" }, "web"), undefined);
  assert.deepEqual(applyNoteRequest(n, { kind: "set", text: "x" }), { text: "x" });
});
