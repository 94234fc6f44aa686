// The privacy matrix, table-driven from a literal copy of PRODUCT.md §2: for each level × each
// attribute row, project() shows exactly what the table says. A change in PRODUCT.md's copy
// below or in PRIVACY_MATRIX breaks this test.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { aggregate, aggregationConfig, type PresenceState } from "./aggregate.ts";
import {
  PRIVACY_LEVELS, PRIVACY_MATRIX, MATRIX_ROWS, MATRIX_ROW_TITLES, canSendIm, reachesOnDnd, directoryListed, project,
  projectionKey, resolveLevel, defaultLevel, messageDisposition, xmppShowStatus,
  type ContactCard, type LevelContext, type PresenceProjection, type PrivacyLevel, type MatrixRow,
} from "./privacy.ts";
import { HOUR, MINUTE } from "./clock.ts";

// Literal copy of PRODUCT.md §2 (keep in step with /work/shared/PRODUCT.md).
const PRODUCT_MATRIX = `
  | attribute | Everyone | Blocked | External | Colleagues | Workgroup | Friends & Family |
  |---|---|---|---|---|---|---|
  | display name, email | ✓ | directory only | ✓ | ✓ | ✓ | ✓ |
  | availability (Available/Busy/Away…) | – | always Offline | ✓ | ✓ | ✓ | ✓ |
  | activity (In a meeting, In a call…) | – | – | – | ✓ | ✓ | ✓ |
  | title, company, photo | – | – | ✓ | ✓ | ✓ | ✓ |
  | office, work phone | – | – | – | ✓ | ✓ | ✓ |
  | personal note, out-of-office note, last active, location | – | – | – | ✓ | ✓ | ✓ |
  | mobile phone | – | – | – | – | ✓ | ✓ |
  | home and other phones | – | – | – | – | – | ✓ |
  | meeting subject and place | – | – | – | – | ✓ | – |
  | reaches them on Do Not Disturb | – | – | – | – | ✓ | – |
  | can send IM | ✓ | – | ✓ | ✓ | ✓ | ✓ |
`;

const COLUMN_LEVEL: Record<string, PrivacyLevel> = {
  Everyone: "everyone", Blocked: "blocked", External: "external", Colleagues: "colleagues", Workgroup: "workgroup", "Friends & Family": "friends-family",
};

// The test's own idea of which projection fields each row governs (independent of ROW_FIELDS).
const ROW_CHECKS: Record<string, (p: PresenceProjection) => unknown[]> = {
  "display name, email": (p) => [p.displayName, p.email],
  "availability (Available/Busy/Away…)": (p) => [p.availability, p.availabilityClass],
  "activity (In a meeting, In a call…)": (p) => [p.activity],
  "title, company, photo": (p) => [p.title, p.company, p.photo],
  "office, work phone": (p) => [p.office, p.workPhone],
  "personal note, out-of-office note, last active, location": (p) => [p.note, p.oooNote, p.lastActive, p.location],
  "mobile phone": (p) => [p.mobilePhone],
  "home and other phones": (p) => [p.homePhone, p.otherPhone],
  "meeting subject and place": (p) => [p.meeting?.subject, p.meeting?.location],
};

function parseMatrix(md: string) {
  const lines = md.trim().split("\n").map((l) => l.trim()).filter((l) => l.startsWith("|"));
  const cells = (l: string) => l.slice(1, -1).split("|").map((c) => c.trim());
  const header = cells(lines[0]).slice(1).map((h) => COLUMN_LEVEL[h]);
  assert.ok(header.every(Boolean), "every column is a level");
  return lines.slice(2).map((l) => {
    const [attribute, ...values] = cells(l);
    return { attribute, values: new Map(header.map((level, i) => [level, values[i]])) };
  });
}
const ROWS = parseMatrix(PRODUCT_MATRIX);

const T0 = Date.parse("2025-03-03T09:00:00Z");
const CARD: ContactCard = {
  displayName: "Alice Example", email: "alice@example.com", title: "Engineer", company: "Example Corp",
  photo: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", office: "B4 210", workPhone: "+1 555 0100",
  mobilePhone: "+1 555 0101", homePhone: "+1 555 0102", otherPhone: "+1 555 0103",
};
/** Every attribute set: idle in a meeting with a note, OOO, a location, a custom state, an end time. */
function fullState(): PresenceState {
  const cfg = aggregationConfig({ customStates: [{ id: "focus", availability: "busy", labels: { en: "Focusing" } }] });
  return aggregate({
    endpoints: [{ id: "d", kind: "desktop", idleSince: T0 - 6 * MINUTE, location: "Building 4" }],
    manual: { mode: "busy", customStateId: "focus", setAt: T0 - HOUR, until: T0 + HOUR },
    note: "Heads down today",
    calendar: {
      meetings: [{ subject: "Budget review", location: "Room 5", start: T0 - 10 * MINUTE, end: T0 + 50 * MINUTE, freeBusy: "busy" }],
      outOfOffice: { note: "Travelling, slow replies" },
    },
  }, T0, cfg);
}

describe("the privacy matrix (PRODUCT.md §2)", () => {
  test("the literal copy and PRIVACY_MATRIX agree, cell by cell", () => {
    assert.equal(ROWS.length, MATRIX_ROWS.length);
    const toSymbol = { yes: "✓", no: "–", "directory-only": "directory only", "always-offline": "always Offline" } as const;
    ROWS.forEach((r, i) => {
      const key = MATRIX_ROWS[i] as MatrixRow;
      assert.equal(MATRIX_ROW_TITLES[key], r.attribute, `row ${i}`);
      for (const level of PRIVACY_LEVELS) assert.equal(toSymbol[PRIVACY_MATRIX[key][level]], r.values.get(level), `${r.attribute} × ${level}`);
    });
  });

  const state = fullState();
  for (const r of ROWS) {
    for (const level of PRIVACY_LEVELS) {
      const expected = r.values.get(level)!;
      test(`${r.attribute} × ${level}: ${expected}`, () => {
        const p = project(state, CARD, level);
        switch (r.attribute) {
          case "reaches them on Do Not Disturb":
            assert.equal(p.dndBreakthrough, expected === "✓");
            assert.equal(reachesOnDnd(level), expected === "✓");
            return;
          case "can send IM":
            assert.equal(p.canSendIm, expected === "✓");
            assert.equal(canSendIm(level), expected === "✓");
            return;
        }
        const values = ROW_CHECKS[r.attribute](p);
        if (expected === "✓") {
          for (const v of values) assert.notEqual(v, undefined, `${level} should see ${r.attribute}`);
        } else if (expected === "–") {
          for (const v of values) assert.equal(v, undefined, `${level} must not see ${r.attribute}`);
        } else if (expected === "always Offline") {
          assert.equal(p.availability, 18500);
          assert.equal(p.availabilityClass, "offline");
        } else if (expected === "directory only") {
          for (const v of values) assert.equal(v, undefined, "not in presence");
          assert.equal(directoryListed(level), true);
        } else assert.fail(`unknown cell ${expected}`);
      });
    }
  }

  test("custom state and end time follow the activity row; mobile hint the availability row", () => {
    const s = fullState();
    for (const level of PRIVACY_LEVELS) {
      const p = project(s, CARD, level);
      const sees = PRIVACY_MATRIX.activity[level] === "yes";
      assert.equal(p.custom !== undefined, sees, level);
      assert.equal(p.endTime !== undefined, sees, level);
    }
    const mobile = aggregate({ endpoints: [{ id: "m", kind: "mobile" }] }, T0);
    assert.equal(project(mobile, CARD, "external").mobile, true);
    assert.equal(project(mobile, CARD, "blocked").mobile, undefined);
    assert.equal(project(mobile, CARD, "everyone").mobile, undefined);
  });

  test("Blocked sees nothing but Offline, whatever the state", () => {
    const p = project(fullState(), CARD, "blocked");
    assert.deepEqual({ ...p }, { level: "blocked", availability: 18500, availabilityClass: "offline", dndBreakthrough: false, canSendIm: false });
  });

  test("self sees everything, including Appear Offline", () => {
    const p = project(fullState(), CARD, "self");
    assert.equal(p.availability, 7500);
    assert.equal(p.meeting?.subject, "Budget review");
    assert.equal(p.homePhone, CARD.homePhone);
    assert.equal(p.manualMode, "busy");
    assert.equal(p.appearOffline, false);
  });

  test("projectionKey: Colleagues and Friends & Family share a presence rendering; the rest differ", () => {
    assert.equal(projectionKey("colleagues"), projectionKey("friends-family"));
    const keys = new Set(["everyone", "blocked", "external", "colleagues", "workgroup", "self"].map((l) => projectionKey(l as PrivacyLevel)));
    assert.equal(keys.size, 6);
  });
});

describe("levels", () => {
  const base: LevelContext = { owner: "alice@example.com", watcher: "bob@example.com", orgDomains: ["example.com", "corp.example.com"], blocked: false, inContacts: true, privacyMode: false };

  test("defaults from the domain: the organisation's domains → Colleagues, others → External", () => {
    assert.equal(defaultLevel("bob@example.com", base.orgDomains), "colleagues");
    assert.equal(defaultLevel("bob@CORP.example.com", base.orgDomains), "colleagues");
    assert.equal(defaultLevel("bob@partner.example", base.orgDomains), "external");
    assert.equal(defaultLevel("partner.example", base.orgDomains), "external");
    assert.equal(resolveLevel(base), "colleagues");
    assert.equal(resolveLevel({ ...base, watcher: "eve@elsewhere.example" }), "external");
  });

  test("order: self, anonymous, blocked, assigned, privacy mode, domain level, default", () => {
    assert.equal(resolveLevel({ ...base, watcher: base.owner }), "self");
    assert.equal(resolveLevel({ ...base, watcher: undefined }), "everyone");
    assert.equal(resolveLevel({ ...base, blocked: true, assigned: "workgroup" }), "blocked");
    assert.equal(resolveLevel({ ...base, assigned: "friends-family", privacyMode: true }), "friends-family");
    assert.equal(resolveLevel({ ...base, inContacts: false, privacyMode: true }), "everyone");
    assert.equal(resolveLevel({ ...base, inContacts: true, privacyMode: true }), "colleagues");
    const domainLevels = new Map([["partner.example", "workgroup" as const]]);
    assert.equal(resolveLevel({ ...base, watcher: "p@partner.example", domainLevels }), "workgroup");
    assert.equal(resolveLevel({ ...base, watcher: "p@partner.example", domainLevels, inContacts: false, privacyMode: true }), "everyone");
    assert.equal(resolveLevel({ ...base, watcher: "p@partner.example", domainLevels, assigned: "external" }), "external");
  });

  test("messageDisposition: Blocked refused; DND holds IM from everyone but Workgroup (per policy)", () => {
    const dnd = aggregate({ endpoints: [{ id: "d", kind: "desktop" }], manual: { mode: "dnd", setAt: T0 } }, T0);
    const avail = aggregate({ endpoints: [{ id: "d", kind: "desktop" }] }, T0);
    const appearOffline = aggregate({ endpoints: [{ id: "d", kind: "desktop" }], manual: { mode: "appear-offline", setAt: T0 } }, T0);
    assert.equal(messageDisposition(avail, "blocked"), "refuse");
    assert.equal(messageDisposition(avail, "external"), "deliver");
    assert.equal(messageDisposition(dnd, "workgroup"), "deliver");
    assert.equal(messageDisposition(dnd, "self"), "deliver");
    for (const level of ["everyone", "external", "colleagues", "friends-family"] as const) {
      assert.equal(messageDisposition(dnd, level), "hold", level);
      assert.equal(messageDisposition(dnd, level, "deliver-silently"), "deliver-silently");
      assert.equal(messageDisposition(dnd, level, "refuse"), "refuse");
    }
    assert.equal(messageDisposition(appearOffline, "colleagues"), "deliver");
  });
});

describe("xmppShowStatus", () => {
  const at = (inputs: Parameters<typeof aggregate>[0]) => aggregate(inputs, T0);
  const desk = { id: "d", kind: "desktop" as const };
  const meeting = { start: T0 - MINUTE, end: T0 + HOUR, freeBusy: "busy" as const };

  test("Busy in a meeting: dnd 'Busy — In a meeting' for Colleagues, 'Busy' for External", () => {
    const s = at({ endpoints: [desk], calendar: { meetings: [meeting] } });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "colleagues"), "en"), { available: true, show: "dnd", status: "Busy — In a meeting" });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "external"), "en"), { available: true, show: "dnd", status: "Busy" });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "colleagues"), "de-CH"), { available: true, show: "dnd", status: "Beschäftigt — In einer Besprechung" });
  });

  test("the show mapping of every class", () => {
    const cases: Array<[Parameters<typeof aggregate>[0], string | undefined, string]> = [
      [{ endpoints: [desk] }, undefined, "Available"],
      [{ endpoints: [{ ...desk, idleSince: T0 - 6 * MINUTE }] }, "away", "Inactive"],
      [{ endpoints: [desk], manual: { mode: "busy", setAt: T0 } }, "dnd", "Busy"],
      [{ endpoints: [{ ...desk, idleSince: T0 - 6 * MINUTE }], manual: { mode: "busy", setAt: T0 } }, "dnd", "Busy"],
      [{ endpoints: [desk], manual: { mode: "dnd", setAt: T0 } }, "dnd", "Do not disturb"],
      [{ endpoints: [desk], manual: { mode: "brb", setAt: T0 } }, "away", "Be right back"],
      [{ endpoints: [desk], manual: { mode: "away", setAt: T0 } }, "xa", "Away"],
      [{ endpoints: [desk], manual: { mode: "off-work", setAt: T0 } }, "xa", "Away — Off work"],
    ];
    for (const [inputs, show, status] of cases) {
      const v = xmppShowStatus(project(at(inputs), CARD, "colleagues"), "en");
      assert.equal(v.available, true);
      assert.equal(v.show, show, status);
      assert.equal(v.status, status);
    }
  });

  test("Workgroup sees DND as Busy — Urgent interruptions only", () => {
    const s = at({ endpoints: [desk], manual: { mode: "dnd", setAt: T0 } });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "workgroup"), "en"), { available: true, show: "dnd", status: "Busy — Urgent interruptions only" });
  });

  test("custom label replaces the class label; the note follows; idle since when visible", () => {
    const cfg = aggregationConfig({ customStates: [{ id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice" } }] });
    const s = aggregate({ endpoints: [{ ...desk, idleSince: T0 - 6 * MINUTE }], manual: { mode: "available", customStateId: "wfh", setAt: T0 }, note: "call me" }, T0, cfg);
    assert.deepEqual(xmppShowStatus(project(s, CARD, "colleagues"), "de"), { available: true, show: "away", status: "Homeoffice · call me", idleSince: T0 - 6 * MINUTE });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "external"), "de"), { available: true, show: "away", status: "Inaktiv" });
  });

  test("Offline, Blocked and Everyone → unavailable; Blocked and a real Offline look the same", () => {
    const off = at({ endpoints: [], lastSignOutAt: T0 - HOUR });
    assert.deepEqual(xmppShowStatus(project(off, CARD, "external")), { available: false });
    assert.deepEqual(xmppShowStatus(project(at({ endpoints: [desk] }), CARD, "blocked")), { available: false });
    assert.deepEqual(xmppShowStatus(project(at({ endpoints: [desk] }), CARD, "everyone")), { available: false });
    const offNote = at({ endpoints: [], note: "Back Monday", lastSignOutAt: T0 - HOUR });
    assert.deepEqual(xmppShowStatus(project(offNote, CARD, "colleagues"), "en"), { available: false, status: "Back Monday", idleSince: T0 - HOUR });
  });

  test("a standard client's own show + status come back unchanged (the note alone when the show says the class)", () => {
    const cases: Array<[Parameters<typeof aggregate>[0], string | undefined, string]> = [
      [{ endpoints: [desk], note: "lunch", manual: { mode: "brb", setAt: T0 } }, "away", "lunch"],
      [{ endpoints: [desk], note: "meeting", manual: { mode: "busy", setAt: T0 } }, "dnd", "meeting"],
      [{ endpoints: [desk], note: "holiday", manual: { mode: "away", setAt: T0 } }, "xa", "holiday"],
      [{ endpoints: [desk], note: "back" }, undefined, "back"],
      // The show cannot say these: label · note.
      [{ endpoints: [desk], note: "heads down", manual: { mode: "dnd", setAt: T0 } }, "dnd", "Do not disturb · heads down"],
      [{ endpoints: [{ ...desk, idleSince: T0 - 6 * MINUTE }], note: "lunch" }, "away", "Inactive · lunch"],
      [{ endpoints: [desk, { id: "phone", kind: "mobile", activity: "on-the-phone" }], note: "n" }, "dnd", "Busy — In a call · n"],
    ];
    for (const [inputs, show, status] of cases) {
      const v = xmppShowStatus(project(at(inputs), CARD, "colleagues"), "en");
      assert.equal(v.show, show, status);
      assert.equal(v.status, status);
    }
  });

  test("Appear Offline: watchers get unavailable, the user's own resources xa 'Appear offline'", () => {
    const s = at({ endpoints: [desk], manual: { mode: "appear-offline", setAt: T0 } });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "workgroup"), "en"), { available: false, idleSince: T0 }, "as a sign-out at T0");
    assert.deepEqual(xmppShowStatus(project(s, CARD, "self"), "en"), { available: true, show: "xa", status: "Appear offline" });
    assert.deepEqual(xmppShowStatus(project(s, CARD, "self"), "de"), { available: true, show: "xa", status: "Als offline anzeigen" });
  });
});
