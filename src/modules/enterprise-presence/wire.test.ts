import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { x, type Element } from "../../xml/element.ts";
import { aggregate, aggregationConfig, type PresenceState } from "./aggregate.ts";
import { project, projectionKey, PRIVACY_LEVELS, type ViewerLevel, type ContactCard, type PresenceProjection } from "./privacy.ts";
import {
  NS_PRESENCE, NS_IDLE, encode, decode, decodeState, decodeDevice, decodeIdle, decodePresence, renderPresence, renderPerLevel, withTo,
  formatDateTime, parseDateTime, encodeLevel, decodeLevel, type DecodeContext,
} from "./wire.ts";
import { HOUR, MINUTE, DAY } from "./clock.ts";
import type { CustomStateDef } from "./custom-states.ts";

const T0 = Date.parse("2025-03-03T09:00:00Z");
const WFH: CustomStateDef = { id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice" } };
const INTERVIEW: CustomStateDef = { id: "interview", availability: "dnd", labels: { en: "Interviewing" } };
const CFG = aggregationConfig({ customStates: [WFH, INTERVIEW] });
const FROM = "alice@example.com/laptop";
const CARD: ContactCard = { photo: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", homePhone: "+1 555 0102", mobilePhone: "+1 555 0101", workPhone: "+1 555 0100" };

function inMeeting(): PresenceState {
  return aggregate({
    endpoints: [{ id: "laptop", kind: "desktop", idleSince: T0 - 6 * MINUTE, location: "Building 4" }],
    note: "Heads down today",
    calendar: { meetings: [{ subject: "Budget review", location: "Room 5", start: T0 - 10 * MINUTE, end: T0 + 50 * MINUTE, freeBusy: "busy" }] },
  }, T0, CFG);
}
const ctx: DecodeContext = { now: T0, customStates: [WFH, INTERVIEW] };
const set = (attrs: Record<string, string>, ...children: Element[]) => x("set", { xmlns: NS_PRESENCE, ...attrs }, ...children);

describe("dates", () => {
  test("XEP-0082 format and parse", () => {
    assert.equal(formatDateTime(T0 + 1234), "2025-03-03T09:00:01Z");
    assert.equal(parseDateTime("2025-03-03T09:00:00Z"), T0);
    assert.equal(parseDateTime("2025-03-03T10:00:00+01:00"), T0);
    assert.equal(parseDateTime("2025-03-03T09:00:00.500Z"), T0 + 500);
    for (const bad of ["2025-03-03", "2025-03-03T09:00:00", "2025-02-30T00:00:00Z", "2025-13-01T00:00:00Z", "2025-03-03T24:00:00Z", "2025-03-03T09:00:00+25:00", "tomorrow", ""]) {
      assert.equal(parseDateTime(bad), undefined, bad);
    }
    assert.equal(parseDateTime("2024-02-29T00:00:00Z"), Date.parse("2024-02-29T00:00:00Z"), "leap day");
  });
});

describe("encode (server → watcher)", () => {
  test("only what the projection allows", () => {
    const s = inMeeting();
    assert.equal(encode(project(s, CARD, "external")).toString(), `<state xmlns='${NS_PRESENCE}' availability='7500' class='busy-idle'/>`);
    assert.equal(
      encode(project(s, CARD, "colleagues")).toString(),
      `<state xmlns='${NS_PRESENCE}' availability='7500' class='busy-idle' activity='in-a-meeting' last-active='2025-03-03T08:54:00Z'><note>Heads down today</note><location>Building 4</location></state>`,
    );
    assert.match(encode(project(s, CARD, "workgroup")).toString(), /<meeting start='2025-03-03T08:50:00Z' end='2025-03-03T09:50:00Z'><subject>Budget review<\/subject><location>Room 5<\/location><\/meeting>/);
    assert.equal(encode(project(s, CARD, "everyone")).toString(), `<state xmlns='${NS_PRESENCE}'/>`);
  });

  test("custom state: id + label in the watcher's language (or several)", () => {
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "available", customStateId: "wfh", setAt: T0, until: T0 + 8 * HOUR } }, T0, CFG);
    const p = project(s, undefined, "colleagues");
    assert.equal(encode(p, "de-CH").toString(), `<state xmlns='${NS_PRESENCE}' availability='3500' class='available' until='2025-03-03T17:00:00Z'><custom id='wfh' xml:lang='de'>Homeoffice</custom></state>`);
    assert.equal(encode(p, "ja").getChild("custom")?.text(), "Working from home");
    assert.equal(encode(p, ["en", "de", "en-GB"]).getChildren("custom").length, 2);
    assert.equal(encode(project(s, undefined, "external"), "de").getChild("custom"), undefined);
  });

  test("self learns its mode and Appear Offline; nobody else does", () => {
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "appear-offline", setAt: T0 } }, T0, CFG);
    assert.equal(encode(project(s, undefined, "self")).toString(), `<state xmlns='${NS_PRESENCE}' availability='18500' class='offline' last-active='2025-03-03T09:00:00Z' mode='appear-offline' appear-offline='true'/>`);
    assert.doesNotMatch(encode(project(s, undefined, "colleagues")).toString(), /appear|mode/);
    const own = renderPerLevel(s, undefined, ["self", "colleagues"], { from: FROM });
    assert.equal(own.get("self")!.available, true, "never 'unavailable' to the user's own online resources");
    assert.match(own.get("self")!.xml, /^<presence from='[^']+'><show>xa<\/show><status>Appear offline<\/status>/);
    assert.equal(own.get("colleagues")!.available, false);
  });

  test("decodeState reads back what encode wrote", () => {
    const s = inMeeting();
    const r = decodeState(encode(project(s, CARD, "workgroup")));
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      availability: 7500, class: "busy-idle", activity: "in-a-meeting", lastActive: T0 - 6 * MINUTE, note: "Heads down today", location: "Building 4",
      meeting: { start: T0 - 10 * MINUTE, end: T0 + 50 * MINUTE, subject: "Budget review", location: "Room 5" },
    });
    const c = aggregate({ endpoints: [{ id: "l", kind: "mobile" }], manual: { mode: "available", customStateId: "wfh", setAt: T0, until: T0 + HOUR } }, T0, CFG);
    const rc = decodeState(encode(project(c, undefined, "friends-family"), ["en", "de"]));
    assert.ok(rc.ok);
    assert.deepEqual(rc.value.custom, { id: "wfh", labels: { en: "Working from home", de: "Homeoffice" } });
    assert.equal(rc.value.until, T0 + HOUR);
    assert.equal(rc.value.mobile, true);
    assert.equal(decodeState(x("state", { xmlns: NS_PRESENCE, availability: "abc" })).ok, false);
    assert.equal(decodeState(x("state", { xmlns: NS_PRESENCE, activity: "napping" })).ok, false);
    assert.equal(decodeState(x("state", { xmlns: NS_PRESENCE, until: "soon" })).ok, false);
    assert.equal(decodeState(x("state")).ok, false);
  });
});

describe("rendered presence stanzas", () => {
  test("golden stanzas per level", () => {
    const m = renderPerLevel(inMeeting(), CARD, ["external", "colleagues", "workgroup", "blocked", "everyone"], { from: FROM });
    const photo = `<x xmlns='vcard-temp:x:update'><photo>${CARD.photo}</photo></x>`;
    assert.equal(m.get("external")!.xml, `<presence from='${FROM}'><show>dnd</show><status>Busy</status><state xmlns='${NS_PRESENCE}' availability='7500' class='busy-idle'/>${photo}</presence>`);
    assert.equal(
      m.get("colleagues")!.xml,
      `<presence from='${FROM}'><show>dnd</show><status>Busy — In a meeting · Heads down today</status><state xmlns='${NS_PRESENCE}' availability='7500' class='busy-idle' activity='in-a-meeting' last-active='2025-03-03T08:54:00Z'><note>Heads down today</note><location>Building 4</location></state><idle xmlns='${NS_IDLE}' since='2025-03-03T08:54:00Z'/>${photo}</presence>`,
    );
    assert.equal(m.get("blocked")!.xml, `<presence from='${FROM}' type='unavailable'><state xmlns='${NS_PRESENCE}' availability='18500' class='offline'/></presence>`);
    assert.equal(m.get("everyone")!.xml, `<presence from='${FROM}' type='unavailable'/>`);
    assert.equal(m.get("blocked")!.available, false);
  });

  test("Workgroup: DND as 'Busy — Urgent interruptions only'", () => {
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "dnd", setAt: T0 } }, T0, CFG);
    const m = renderPerLevel(s, undefined, ["colleagues", "workgroup"], { from: FROM });
    assert.equal(m.get("colleagues")!.xml, `<presence from='${FROM}'><show>dnd</show><status>Do not disturb</status><state xmlns='${NS_PRESENCE}' availability='9500' class='dnd'/></presence>`);
    assert.equal(m.get("workgroup")!.xml, `<presence from='${FROM}'><show>dnd</show><status>Busy — Urgent interruptions only</status><state xmlns='${NS_PRESENCE}' availability='6900' class='busy' activity='urgent-interruptions-only'/></presence>`);
  });

  test("several languages: one <status/> per language, first without xml:lang", () => {
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "available", customStateId: "wfh", setAt: T0 } }, T0, CFG);
    const { xml } = renderPresence(project(s, undefined, "colleagues"), { from: FROM, langs: ["en", "de", "fr"] });
    assert.equal(xml, `<presence from='${FROM}'><status>Working from home</status><status xml:lang='de'>Homeoffice</status><state xmlns='${NS_PRESENCE}' availability='3500' class='available'><custom id='wfh' xml:lang='en'>Working from home</custom><custom id='wfh' xml:lang='de'>Homeoffice</custom></state></presence>`);
  });

  test("priority and kept elements (caps) only in available presence", () => {
    const caps = x("c", { xmlns: "http://jabber.org/protocol/caps", hash: "sha-1", node: "n", ver: "v" });
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }] }, T0, CFG);
    const a = renderPresence(project(s, undefined, "colleagues"), { from: FROM, priority: 5, extra: [caps] });
    assert.equal(a.xml, `<presence from='${FROM}'><status>Available</status><priority>5</priority><state xmlns='${NS_PRESENCE}' availability='3500' class='available'/><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`);
    const b = renderPresence(project(s, undefined, "blocked"), { from: FROM, priority: 5, extra: [caps] });
    assert.doesNotMatch(b.xml, /priority|caps/);
  });

  test("free for chat (a standard client's <show>chat</show>) while Available only; the reader's language on the stanza", () => {
    const s = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], note: "here" }, T0, CFG);
    assert.equal(renderPresence(project(s, undefined, "colleagues"), { from: FROM, freeForChat: true }).xml, `<presence from='${FROM}'><show>chat</show><status>here</status><state xmlns='${NS_PRESENCE}' availability='3500' class='available'><note>here</note></state></presence>`);
    const busy = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "busy", setAt: T0 } }, T0, CFG);
    assert.match(renderPresence(project(busy, undefined, "colleagues"), { from: FROM, freeForChat: true }).xml, /<show>dnd<\/show>/);
    const w = aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "available", customStateId: "wfh", setAt: T0 } }, T0, CFG);
    const de = renderPresence(project(w, undefined, "colleagues"), { from: FROM, langs: ["de", "en"], lang: "de" });
    assert.match(de.xml, new RegExp(`^<presence from='${FROM}' xml:lang='de'><status>Homeoffice</status><status xml:lang='en'>Working from home</status>`));
    assert.match(withTo(de.xml, "bob@example.com"), /^<presence to='bob@example.com' from=/);
  });

  test("one rendering per projection key, shared by levels; serialized once", () => {
    const levels: ViewerLevel[] = [...PRIVACY_LEVELS, "self", "colleagues"];
    const m = renderPerLevel(inMeeting(), CARD, levels, { from: FROM });
    assert.equal(m.size, 7);
    assert.equal(m.get("colleagues"), m.get("friends-family"), "the same object, the same bytes");
    assert.equal(new Set(m.values()).size, 6);
    for (const [level, r] of m) assert.equal(r.key, projectionKey(level));
  });

  test("levels sharing a key really render identical bytes (for rich states)", () => {
    const states = [
      inMeeting(),
      aggregate({ endpoints: [{ id: "l", kind: "desktop" }], manual: { mode: "dnd", setAt: T0, customStateId: "interview" }, calendar: { outOfOffice: { note: "Away" } } }, T0, CFG),
      aggregate({ endpoints: [], note: "n", lastSignOutAt: T0 - DAY }, T0, CFG),
    ];
    for (const s of states) {
      const byKey = new Map<string, string>();
      for (const level of [...PRIVACY_LEVELS, "self" as const]) {
        const xml = renderPresence(project(s, CARD, level), { from: FROM, langs: ["en", "de"] }).xml;
        const k = projectionKey(level);
        if (byKey.has(k)) assert.equal(xml, byKey.get(k), `${level} shares key ${k}`);
        else byKey.set(k, xml);
      }
    }
  });

  test("withTo inserts the recipient only", () => {
    assert.equal(withTo(`<presence from='a@b/c'/>`, "d@e"), `<presence to='d@e' from='a@b/c'/>`);
    assert.equal(withTo(`<presence><show>dnd</show></presence>`, "o'brien@e"), `<presence to='o&apos;brien@e'><show>dnd</show></presence>`);
  });
});

describe("decode (client → server)", () => {
  test("states by name and by number", () => {
    const d = (attrs: Record<string, string>) => decode(set(attrs), ctx);
    assert.deepEqual(d({ availability: "busy" }), { ok: true, value: { manual: { kind: "set", mode: "busy" } } });
    assert.deepEqual(d({ availability: "6500" }), { ok: true, value: { manual: { kind: "set", mode: "busy" } } });
    assert.deepEqual(d({ availability: "6900" }), { ok: true, value: { manual: { kind: "set", mode: "busy" } } });
    assert.deepEqual(d({ availability: "9500" }), { ok: true, value: { manual: { kind: "set", mode: "dnd" } } });
    assert.deepEqual(d({ availability: "12500" }), { ok: true, value: { manual: { kind: "set", mode: "brb" } } });
    assert.deepEqual(d({ availability: "15500" }), { ok: true, value: { manual: { kind: "set", mode: "away" } } });
    assert.deepEqual(d({ availability: "18500" }), { ok: true, value: { manual: { kind: "set", mode: "appear-offline" } } });
    assert.deepEqual(d({ availability: "appear-offline" }), { ok: true, value: { manual: { kind: "set", mode: "appear-offline" } } });
    assert.deepEqual(d({ availability: "away", activity: "off-work" }), { ok: true, value: { manual: { kind: "set", mode: "off-work" } } });
    assert.deepEqual(d({ activity: "off-work" }), { ok: true, value: { manual: { kind: "set", mode: "off-work" } } });
    assert.deepEqual(d({ availability: "off-work" }), { ok: true, value: { manual: { kind: "set", mode: "off-work" } } });
    assert.deepEqual(d({ custom: "interview" }), { ok: true, value: { manual: { kind: "set", mode: "dnd", customStateId: "interview" } } });
    assert.deepEqual(d({ custom: "wfh", availability: "3500" }), { ok: true, value: { manual: { kind: "set", mode: "available", customStateId: "wfh" } } });
    assert.deepEqual(d({ reset: "true" }), { ok: true, value: { manual: { kind: "reset" } } });
    assert.deepEqual(d({}), { ok: true, value: {} });
  });

  test("until", () => {
    const r = decode(set({ availability: "busy", until: "2025-03-03T17:00:00Z" }), ctx);
    assert.deepEqual(r, { ok: true, value: { manual: { kind: "set", mode: "busy", until: T0 + 8 * HOUR } } });
  });

  test("note: set, clear, unchanged", () => {
    assert.deepEqual(decode(set({}, x("note", null, "  Back at 3 ")), ctx), { ok: true, value: { note: { kind: "set", text: "Back at 3" } } });
    assert.deepEqual(decode(set({}, x("note")), ctx), { ok: true, value: { note: { kind: "clear" } } });
    assert.deepEqual(decode(set({ reset: "true" }, x("note", null, "x")), ctx), { ok: true, value: { manual: { kind: "reset" }, note: { kind: "set", text: "x" } } });
  });

  test("bad values → a StanzaError with a clear message", () => {
    const bad: Array<[Record<string, string>, string, RegExp, Element[]?]> = [
      [{ availability: "sleepy" }, "bad-request", /availability 'sleepy' is not valid; expected a number or one of available, busy/],
      [{ availability: "5000" }, "bad-request", /5000 is an idle state \(4500–5999\) that only the server sets/],
      [{ availability: "7500" }, "bad-request", /idle state/],
      [{ availability: "2000" }, "bad-request", /below 3000/],
      [{ availability: "-1" }, "bad-request", /not valid/],
      [{ activity: "in-a-meeting" }, "bad-request", /set by the server \(from the calendar\); clients may only choose 'off-work'/],
      [{ activity: "on-the-phone" }, "bad-request", /report it in <device/],
      [{ activity: "napping" }, "bad-request", /unknown activity 'napping'/],
      [{ availability: "busy", activity: "off-work" }, "bad-request", /off-work' is a kind of away/],
      [{ custom: "nope" }, "item-not-found", /no custom state 'nope'/],
      [{ custom: "wfh", availability: "busy" }, "bad-request", /bound to 'available', not 'busy'/],
      [{ reset: "true", availability: "busy" }, "bad-request", /cannot be combined with availability/],
      [{ reset: "yes" }, "bad-request", /not a boolean/],
      [{ until: "2025-03-03T17:00:00Z" }, "bad-request", /until needs a state/],
      [{ availability: "busy", until: "5pm" }, "bad-request", /not a XEP-0082 date-time/],
      [{ availability: "busy", until: "2025-03-03T08:00:00Z" }, "bad-request", /not in the future/],
      [{ availability: "busy", until: "2025-03-03T09:00:00Z" }, "bad-request", /not in the future/],
      [{ availability: "busy", until: "2027-03-03T09:00:00Z" }, "bad-request", /too far ahead; at most 366 days/],
      [{}, "policy-violation", /note is 501 characters long; at most 500/, [x("note", null, "n".repeat(501))]],
      [{}, "bad-request", /at most one <note\/>/, [x("note", null, "a"), x("note", null, "b")]],
    ];
    for (const [attrs, condition, message, children] of bad) {
      const r = decode(set(attrs, ...(children ?? [])), ctx);
      assert.equal(r.ok, false, JSON.stringify(attrs));
      if (!r.ok) {
        assert.equal(r.error.condition, condition, JSON.stringify(attrs));
        assert.match(r.error.text ?? "", message);
      }
    }
    assert.equal(decode(x("set", { xmlns: "urn:other" }), ctx).ok, false);
    assert.ok(decode(set({ availability: "busy", until: "2025-03-04T09:00:00Z" }), { ...ctx, maxUntilMs: DAY }).ok);
    assert.equal(decode(set({ availability: "busy", until: "2025-03-04T09:00:01Z" }), { ...ctx, maxUntilMs: DAY }).ok, false);
  });

  test("<device/> and XEP-0319 <idle/>", () => {
    const dev = x("device", { xmlns: NS_PRESENCE, kind: "mobile", state: "away", activity: "on-the-phone" }, x("location", null, " Train "));
    assert.deepEqual(decodeDevice(dev), { ok: true, value: { kind: "mobile", state: "away", activity: "on-the-phone", location: "Train" } });
    assert.deepEqual(decodeDevice(x("device", { xmlns: NS_PRESENCE })), { ok: true, value: {} });
    for (const attrs of [{ kind: "toaster" }, { state: "asleep" }, { activity: "in-a-meeting" }] as Record<string, string>[]) {
      const r = decodeDevice(x("device", { xmlns: NS_PRESENCE, ...attrs }));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error.text ?? "", /is not valid; expected/);
    }
    const long = decodeDevice(x("device", { xmlns: NS_PRESENCE }, x("location", null, "l".repeat(257))));
    assert.ok(!long.ok && long.error.condition === "policy-violation");
    assert.deepEqual(decodeIdle(x("idle", { xmlns: NS_IDLE, since: "2025-03-03T08:50:00Z" })), { ok: true, value: T0 - 10 * MINUTE });
    assert.equal(decodeIdle(x("idle", { xmlns: NS_IDLE })).ok, false);
  });

  test("decodePresence: a Parley client", () => {
    const p = x("presence", null, x("show", null, "dnd"), x("status", null, "ignored"), set({ availability: "brb" }), x("device", { xmlns: NS_PRESENCE, kind: "desktop" }), x("idle", { xmlns: NS_IDLE, since: "2025-03-03T08:59:00Z" }));
    assert.deepEqual(decodePresence(p, ctx), { ok: true, value: { manual: { kind: "set", mode: "brb" }, endpoint: { kind: "desktop", idleSince: T0 - MINUTE }, standard: false } });
    const routine = x("presence", null, x("device", { xmlns: NS_PRESENCE, kind: "web", activity: "in-presentation" }));
    assert.deepEqual(decodePresence(routine, ctx), { ok: true, value: { endpoint: { kind: "web", activity: "in-presentation" }, standard: false } });
    const two = decodePresence(x("presence", null, set({}), set({})), ctx);
    assert.ok(!two.ok && /at most one <set\/>/.test(two.error.text ?? ""));
    const badInner = decodePresence(x("presence", null, set({ availability: "nope" })), ctx);
    assert.ok(!badInner.ok);
  });

  test("decodePresence: standard clients (show/status mapping)", () => {
    const std = (children: Element[], initial = false) => {
      const r = decodePresence(x("presence", null, ...children), { ...ctx, initial });
      assert.ok(r.ok);
      return r.value;
    };
    assert.deepEqual(std([], true), { endpoint: {}, standard: true }, "initial plain presence changes nothing");
    assert.deepEqual(std([]), { manual: { kind: "reset-own" }, note: { kind: "clear-own" }, endpoint: {}, standard: true });
    assert.deepEqual(std([x("show", null, "chat")]), { manual: { kind: "reset-own" }, note: { kind: "clear-own" }, endpoint: {}, standard: true });
    assert.deepEqual(std([x("show", null, "dnd"), x("status", null, "Writing")]), { manual: { kind: "set", mode: "busy" }, note: { kind: "set", text: "Writing" }, endpoint: {}, standard: true });
    assert.deepEqual(std([x("show", null, "away")], true), { manual: { kind: "set", mode: "brb" }, endpoint: {}, standard: true });
    assert.deepEqual(std([x("show", null, "xa")], true), { manual: { kind: "set", mode: "away" }, endpoint: {}, standard: true });
    // auto-away with XEP-0319: an idle report, not a choice
    assert.deepEqual(std([x("show", null, "away"), x("idle", { xmlns: NS_IDLE, since: "2025-03-03T08:55:00Z" })], true), { endpoint: { idleSince: T0 - 5 * MINUTE }, standard: true });
    assert.deepEqual(std([x("status", null, "  ")], true), { note: { kind: "clear" }, endpoint: {}, standard: true });
    assert.deepEqual(std([x("status", { "xml:lang": "de" }, "Hallo"), x("status", null, "Hello")], true).note, { kind: "set", text: "Hello" });
    assert.equal((std([x("status", null, "s".repeat(600))], true).note as { text: string }).text.length, 500, "truncated, not refused");
    const bad = decodePresence(x("presence", null, x("show", null, "busy")), ctx);
    assert.ok(!bad.ok && /show 'busy' is not valid/.test(bad.error.text ?? ""));
  });
});

describe("privacy level element (roster item extension)", () => {
  test("encode / decode", () => {
    assert.equal(encodeLevel("workgroup").toString(), `<privacy xmlns='${NS_PRESENCE}' level='workgroup'/>`);
    assert.deepEqual(decodeLevel(encodeLevel("friends-family")), { ok: true, value: "friends-family" });
    assert.deepEqual(decodeLevel(encodeLevel("blocked")), { ok: true, value: "blocked" });
    for (const level of ["everyone", "self", "", "Workgroup"]) {
      const r = decodeLevel(x("privacy", { xmlns: NS_PRESENCE, level }));
      assert.ok(!r.ok && /is not valid; expected friends-family, workgroup, colleagues, external or blocked/.test(r.error.text ?? ""), level);
    }
  });
});

describe("XEP-0153 photo hash in the client's presence extras follows the photo row", () => {
  const stamped = x("x", { xmlns: "vcard-temp:x:update" }, x("photo", null, "a".repeat(40)));
  const caps = x("c", { xmlns: "http://jabber.org/protocol/caps", hash: "sha-1", node: "n", ver: "v" });
  const render = (level: ViewerLevel) =>
    renderPresence({ level, availability: 3500, availabilityClass: "available", dndBreakthrough: false, canSendIm: true } as PresenceProjection, { extra: [stamped, caps] }).stanza;
  test("levels that see title, company, photo (and the owner) get the hash; others only the rest", () => {
    for (const level of ["self", "external", "colleagues", "workgroup", "friends-family"] as const) assert.ok(render(level).getChild("x", "vcard-temp:x:update"), level);
    for (const level of ["everyone", "blocked"] as const) {
      const s = render(level);
      assert.equal(s.getChild("x", "vcard-temp:x:update"), undefined, level);
      assert.ok(s.getChild("c", "http://jabber.org/protocol/caps"), level);
    }
  });
});
