// The presence.* and privacy.* keys: decimals, lists from YAML and the environment, custom
// states validated at boot with every problem reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "./config.ts";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fails(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail("expected a ConfigError");
}

test("defaults", (t) => {
  const c = loadConfig({ cwd: tempDir(t), env: {} });
  assert.deepEqual(c.presence, {
    idle: { inactiveAfterMinutes: 5, awayAfterMinutes: 5 },
    manualExpiryHours: 24,
    maxUntilDays: 366,
    maxNoteChars: 500,
    customStates: [],
    maxCustomStates: 4,
    languages: ["en"],
    calendarPresence: true,
    devicePresence: true,
    meetingDetails: true,
    dndPolicy: "hold",
  });
  assert.deepEqual(c.privacy, { organisationDomains: ["localhost"], allowPrivacyMode: false });
});

test("YAML: decimals, lists, custom states (class accepted for availability)", (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "parley.yaml"),
    [
      "domain: example.com",
      "presence:",
      "  idle: { inactiveAfterMinutes: 0.5, awayAfterMinutes: 1.5 }",
      "  languages: [en, de]",
      "  dndPolicy: refuse",
      "  customStates:",
      "    - { id: wfh, availability: available, labels: { en: Working from home, de: Homeoffice } }",
      "    - { id: interview, class: dnd, labels: { en: Interviewing } }",
      "privacy:",
      "  organisationDomains: [Example.com, partner.example]",
      "  allowPrivacyMode: true",
      "",
    ].join("\n"),
  );
  const c = loadConfig({ cwd: dir, env: {} });
  assert.deepEqual(c.presence.idle, { inactiveAfterMinutes: 0.5, awayAfterMinutes: 1.5 });
  assert.deepEqual(c.presence.languages, ["en", "de"]);
  assert.equal(c.presence.dndPolicy, "refuse");
  assert.deepEqual(c.presence.customStates, [
    { id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice" } },
    { id: "interview", availability: "dnd", labels: { en: "Interviewing" } },
  ]);
  assert.deepEqual(c.privacy, { organisationDomains: ["example.com", "partner.example"], allowPrivacyMode: true });
  assert.ok(Object.isFrozen(c.presence.customStates[0].labels));
});

test("environment: comma-separated lists, JSON custom states, decimals", (t) => {
  const c = loadConfig({
    cwd: tempDir(t),
    env: {
      PARLEY_PRESENCE_LANGUAGES: "de, en",
      PARLEY_PRIVACY_ORGANISATION_DOMAINS: "a.example b.example",
      PARLEY_PRESENCE_IDLE_INACTIVE_AFTER_MINUTES: "0.05",
      PARLEY_PRESENCE_CUSTOM_STATES: JSON.stringify([{ id: "focus", availability: "busy", labels: { en: "Focusing" } }]),
    },
  });
  assert.deepEqual(c.presence.languages, ["de", "en"]);
  assert.deepEqual(c.privacy.organisationDomains, ["a.example", "b.example"]);
  assert.equal(c.presence.idle.inactiveAfterMinutes, 0.05);
  assert.equal(c.presence.customStates[0].id, "focus");
});

test("bad custom states are boot problems, each with its place and a clear message", (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "parley.yaml"),
    [
      "presence:",
      "  maxCustomStates: 2",
      "  customStates:",
      "    - { id: wfh, availability: online, labels: { en: Working from home } }",
      "    - { id: WFH, availability: busy, labels: { de: " + "x".repeat(70) + " } }",
      "    - { id: three, availability: dnd, labels: { en: Three } }",
      "",
    ].join("\n"),
  );
  const e = fails(() => loadConfig({ cwd: dir, env: {} }));
  const text = e.message;
  assert.match(text, /presence\.customStates: 3 custom states defined; at most 2 allowed \(raise presence\.maxCustomStates/);
  assert.match(text, /presence\.customStates\[0\]\.availability: "online" is not valid; use "available"/);
  assert.match(text, /presence\.customStates\[1\]\.id: duplicate id "WFH"/);
  assert.match(text, /presence\.customStates\[1\]\.labels\.de: is 70 characters long; at most 64/);
  assert.match(text, /parley\.yaml/);
});

test("wrong types and values are reported", (t) => {
  const e = fails(() =>
    loadConfig({
      cwd: tempDir(t),
      env: {
        PARLEY_PRESENCE_CUSTOM_STATES: "{not json",
        PARLEY_PRESENCE_LANGUAGES: "en,not a tag!",
        PARLEY_PRESENCE_IDLE_AWAY_AFTER_MINUTES: "0.001",
        PARLEY_PRESENCE_DND_POLICY: "ignore",
      },
    }),
  );
  assert.match(e.message, /PARLEY_PRESENCE_CUSTOM_STATES: presence\.customStates: .* is not JSON/);
  assert.match(e.message, /PARLEY_PRESENCE_LANGUAGES: presence\.languages: item \d/);
  assert.match(e.message, /presence\.idle\.awayAfterMinutes: "0\.001" is out of range; expected a number from 0\.05 to 360/);
  assert.match(e.message, /presence\.dndPolicy: "ignore" is not allowed; expected one of hold, deliver-silently, refuse/);
  const dir = tempDir(t);
  writeFileSync(join(dir, "parley.yaml"), "presence:\n  languages: en\n  customStates: { id: x }\n");
  const y = fails(() => loadConfig({ cwd: dir, env: {} }));
  assert.match(y.message, /presence\.languages: "en" is not a list; expected a list of strings \(write a YAML list: \[en\]\)/);
  assert.match(y.message, /presence\.customStates: a mapping is not a list/);
});
