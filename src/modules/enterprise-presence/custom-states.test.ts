import { test } from "node:test";
import assert from "node:assert/strict";
import { validateCustomStates, customStateLabel, findCustomState, formatCustomStateProblems, type CustomStateProblem } from "./custom-states.ts";

const good = (id: string, availability = "available", labels: Record<string, unknown> = { en: "Working from home" }) => ({ id, availability, labels });
const errorsOf = (input: unknown, max?: number): CustomStateProblem[] => {
  const r = validateCustomStates(input, max);
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : [...r.errors];
};

test("a valid list is normalised and frozen", () => {
  const r = validateCustomStates([
    good("wfh", "available", { en: "  Working from home ", de: "Homeoffice" }),
    { id: 2, availability: "busy", labels: { en: "Focusing" } },
    good("interview", "dnd", { "zh-Hant": "面試中" }),
  ]);
  assert.ok(r.ok);
  assert.deepEqual(r.states, [
    { id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice" } },
    { id: "2", availability: "busy", labels: { en: "Focusing" } },
    { id: "interview", availability: "dnd", labels: { "zh-Hant": "面試中" } },
  ]);
  assert.ok(Object.isFrozen(r.states) && Object.isFrozen(r.states[0]) && Object.isFrozen(r.states[0].labels));
  assert.deepEqual(validateCustomStates(undefined), { ok: true, states: [] });
  assert.deepEqual(validateCustomStates([]), { ok: true, states: [] });
});

test("at most 4 by default; the administrator may raise the limit", () => {
  const five = ["a", "b", "c", "d", "e"].map((id) => good(id));
  const errs = errorsOf(five);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].path, "presence.customStates");
  assert.match(errs[0].message, /5 custom states defined; at most 4 allowed \(raise presence\.maxCustomStates/);
  assert.ok(validateCustomStates(five, 5).ok);
  assert.equal(errorsOf([good("a")], 0).length, 1);
  assert.match(errorsOf([], -1)[0].message, /not a valid limit/);
  assert.match(errorsOf([], 1.5)[0].path, /maxCustomStates/);
});

test("labels: ≤ 64 characters (counted as characters, not bytes), at least one, one line", () => {
  assert.ok(validateCustomStates([good("a", "available", { en: "x".repeat(64) })]).ok);
  assert.ok(validateCustomStates([good("a", "available", { "zh-Hant": "面".repeat(64) })]).ok, "64 CJK characters");
  assert.ok(validateCustomStates([good("a", "available", { en: "😀".repeat(64) })]).ok, "64 astral characters");
  const long = errorsOf([good("a", "available", { en: "x".repeat(65) })]);
  assert.deepEqual(long.map((e) => [e.path, e.index, e.id, e.field]), [["presence.customStates[0].labels.en", 0, "a", "labels.en"]]);
  assert.match(long[0].message, /65 characters long; at most 64/);
  assert.match(errorsOf([good("a", "available", {})])[0].message, /is empty; give at least one label/);
  assert.match(errorsOf([good("a", "available", { en: "   " })])[0].message, /is empty/);
  assert.match(errorsOf([good("a", "available", { en: "two\nlines" })])[0].message, /control character or line break/);
  assert.match(errorsOf([good("a", "available", { en: 5 })])[0].message, /not a label/);
  assert.match(errorsOf([good("a", "available", { english: "x" })])[0].message, /not a language tag/);
  assert.match(errorsOf([good("a", "available", { en: "x", EN: "y" })])[0].message, /duplicate language/);
  assert.match(errorsOf([{ id: "a", availability: "busy", labels: "Focusing" }])[0].message, /expected a map of language → label/);
  assert.match(errorsOf([{ id: "a", availability: "busy" }])[0].message, /labels.*missing|missing; give at least one label/);
});

test("class: only available, busy or dnd, with hints for Lync's names", () => {
  assert.match(errorsOf([good("a", "online")])[0].message, /use "available"/);
  assert.match(errorsOf([good("a", "do-not-disturb")])[0].message, /use "dnd"/);
  const away = errorsOf([good("a", "away")])[0];
  assert.equal(away.field, "availability");
  assert.match(away.message, /"away" is not valid; custom states can only be bound to "available", "busy" or "dnd"/);
  assert.match(errorsOf([{ id: "a", labels: { en: "x" } }])[0].message, /availability|missing/);
  assert.match(errorsOf([good("a", 3500 as unknown as string)])[0].message, /not valid/);
});

test("ids: present, well-formed, unique (ignoring case)", () => {
  const dup = errorsOf([good("wfh"), good("focus", "busy"), good("WFH", "dnd")]);
  assert.equal(dup.length, 1);
  assert.equal(dup[0].index, 2);
  assert.equal(dup[0].path, "presence.customStates[2].id");
  assert.match(dup[0].message, /duplicate id "WFH": already used by presence\.customStates\[0\]/);
  assert.match(errorsOf([{ availability: "busy", labels: { en: "x" } }])[0].message, /missing; every custom state needs an id/);
  assert.match(errorsOf([good("has space")])[0].message, /may only contain/);
  assert.match(errorsOf([good("")])[0].message, /is empty/);
  assert.match(errorsOf([good("x".repeat(65))])[0].message, /at most 64/);
  assert.match(errorsOf([good(-1 as unknown as string)])[0].message, /not an id/);
});

test("every problem is reported, each naming entry and field", () => {
  const errs = errorsOf([good("a"), "oops", { id: "b", availability: "away", labels: { en: "y".repeat(70) }, colour: "red" }, good("c"), good("d")], 4);
  const paths = errs.map((e) => e.path);
  assert.deepEqual(paths, [
    "presence.customStates",
    "presence.customStates[1]",
    "presence.customStates[2].availability",
    "presence.customStates[2].labels.en",
    "presence.customStates[2].colour",
  ]);
  assert.match(formatCustomStateProblems(errs), /^presence\.customStates: 5 custom states defined/);
  assert.match(errorsOf("nope")[0].message, /must be a list/);
  assert.equal(errorsOf({ a: 1 }, 4)[0].path, "presence.customStates");
  const custom = validateCustomStates([good("a", "busy", { en: "x".repeat(65) })], 4, "states");
  assert.ok(!custom.ok && custom.errors[0].path === "states[0].labels.en");
});

test("label by watcher language: de-CH → de → en → first", () => {
  const s = { id: "wfh", availability: "available" as const, labels: { fr: "Télétravail", en: "Working from home", de: "Homeoffice" } };
  assert.equal(customStateLabel(s, "de-CH"), "Homeoffice");
  assert.equal(customStateLabel(s, "ja"), "Working from home");
  assert.equal(customStateLabel({ labels: { fr: "Télétravail", de: "Homeoffice" } }, "ja"), "Télétravail");
  assert.equal(customStateLabel(s, undefined), "Working from home");
  assert.equal(findCustomState([s], "wfh"), s);
  assert.equal(findCustomState([s], "WFH"), undefined);
});
