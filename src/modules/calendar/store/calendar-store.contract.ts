/**
 * Behaviour every CalendarStore implementation must have. Run it with a factory that returns
 * a store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { CalendarStore } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.com";
const URL_A = "https://cal.example.com/feeds/juliet.ics";
const URL_B = "https://cal.example.com/feeds/juliet-work.ics?token=s3cr%C3%A9t&x=1";

export function calendarStoreContract(open: () => Promise<CalendarStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.equal(await store.get(ME), undefined);
    assert.deepEqual(await store.list(), []);
    assert.equal(await store.count(), 0);
    assert.equal(await store.remove(ME), false);
  });

  it("sets a feed as pending, with nothing fetched yet", async () => {
    const store = await open();
    const at = new Date("2025-06-02T09:00:00.123Z");
    assert.equal(await store.set(ME, URL_A, at), true);
    assert.deepEqual(await store.get(ME), { owner: ME, url: URL_A, updated: at, status: "pending" });
    assert.equal(await store.count(), 1);
  });

  it("setting the same URL again changes nothing; a new URL starts afresh", async () => {
    const store = await open();
    const t0 = new Date("2025-06-02T09:00:00Z");
    await store.set(ME, URL_A, t0);
    await store.recordFetch(ME, URL_A, {
      at: new Date("2025-06-02T09:01:00Z"),
      status: "ok",
      validators: { etag: '"v1"', lastModified: "Mon, 02 Jun 2025 08:00:00 GMT" },
      snapshot: { events: "[1]", from: new Date("2025-06-01T09:00:00Z"), to: new Date("2025-06-09T09:00:00Z") },
    });
    assert.equal(await store.set(ME, URL_A, new Date("2025-06-02T10:00:00Z")), false);
    const kept = await store.get(ME);
    assert.equal(kept?.status, "ok");
    assert.deepEqual(kept?.updated, t0);
    assert.equal(kept?.etag, '"v1"');

    const t1 = new Date("2025-06-02T11:00:00Z");
    assert.equal(await store.set(ME, URL_B, t1), true);
    assert.deepEqual(await store.get(ME), { owner: ME, url: URL_B, updated: t1, status: "pending" });
  });

  it("records a successful fetch with validators and snapshot, and reads them back exactly", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date("2025-06-02T09:00:00Z"));
    const at = new Date("2025-06-02T09:05:00.456Z");
    const events = JSON.stringify([{ s: 1, e: 2, t: "Ünïcødé 日本語 😀 'q' \"d\"", l: "" }]);
    const snapshot = { events, from: new Date("2025-06-01T09:05:00Z"), to: new Date("2025-06-09T09:05:00Z") };
    assert.equal(await store.recordFetch(ME, URL_A, { at, status: "ok", validators: { etag: 'W/"abc"', lastModified: "Mon, 02 Jun 2025 08:00:00 GMT" }, snapshot }), true);
    assert.deepEqual(await store.get(ME), {
      owner: ME,
      url: URL_A,
      updated: new Date("2025-06-02T09:00:00Z"),
      status: "ok",
      lastFetch: at,
      lastSuccess: at,
      etag: 'W/"abc"',
      lastModified: "Mon, 02 Jun 2025 08:00:00 GMT",
      snapshot,
    });
  });

  it("a 304 (no validators, no snapshot) keeps both; new validators replace both", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date("2025-06-02T09:00:00Z"));
    const snapshot = { events: "[]", from: new Date("2025-06-01T00:00:00Z"), to: new Date("2025-06-09T00:00:00Z") };
    await store.recordFetch(ME, URL_A, { at: new Date("2025-06-02T09:05:00Z"), status: "ok", validators: { etag: '"1"', lastModified: "x" }, snapshot });
    const later = new Date("2025-06-02T09:10:00Z");
    await store.recordFetch(ME, URL_A, { at: later, status: "ok" });
    let r = await store.get(ME);
    assert.deepEqual(r?.lastSuccess, later);
    assert.equal(r?.etag, '"1"');
    assert.equal(r?.lastModified, "x");
    assert.deepEqual(r?.snapshot, snapshot);
    await store.recordFetch(ME, URL_A, { at: later, status: "ok", validators: { etag: '"2"' } });
    r = await store.get(ME);
    assert.equal(r?.etag, '"2"');
    assert.equal(r?.lastModified, undefined, "a validator missing from new validators is cleared");
  });

  it("an error keeps the last success, validators and snapshot", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date("2025-06-02T09:00:00Z"));
    const ok = new Date("2025-06-02T09:05:00Z");
    const snapshot = { events: "[2]", from: new Date("2025-06-01T00:00:00Z"), to: new Date("2025-06-09T00:00:00Z") };
    await store.recordFetch(ME, URL_A, { at: ok, status: "ok", validators: { etag: '"e"' }, snapshot });
    const bad = new Date("2025-06-02T09:10:00Z");
    assert.equal(await store.recordFetch(ME, URL_A, { at: bad, status: "error", error: "HTTP 503 Service Unavailable" }), true);
    let r = await store.get(ME);
    assert.equal(r?.status, "error");
    assert.equal(r?.error, "HTTP 503 Service Unavailable");
    assert.deepEqual(r?.lastFetch, bad);
    assert.deepEqual(r?.lastSuccess, ok);
    assert.equal(r?.etag, '"e"');
    assert.deepEqual(r?.snapshot, snapshot);
    // The next success clears the error.
    await store.recordFetch(ME, URL_A, { at: new Date("2025-06-02T09:15:00Z"), status: "ok" });
    r = await store.get(ME);
    assert.equal(r?.status, "ok");
    assert.equal(r?.error, undefined);
    await assert.rejects(store.recordFetch(ME, URL_A, { at: bad, status: "error" }), TypeError);
  });

  it("drops a fetch of a URL that is no longer the owner's", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date("2025-06-02T09:00:00Z"));
    await store.set(ME, URL_B, new Date("2025-06-02T09:00:01Z"));
    assert.equal(await store.recordFetch(ME, URL_A, { at: new Date(), status: "ok" }), false);
    assert.equal((await store.get(ME))?.status, "pending");
    assert.equal(await store.recordFetch(OTHER, URL_A, { at: new Date(), status: "ok" }), false);
    assert.equal(await store.get(OTHER), undefined);
  });

  it("removes only the owner's feed", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date());
    await store.set(OTHER, URL_A, new Date());
    assert.equal(await store.remove(ME), true);
    assert.equal(await store.get(ME), undefined);
    assert.equal((await store.get(OTHER))?.url, URL_A);
    assert.equal(await store.remove(ME), false);
    assert.equal(await store.count(), 1);
  });

  it("lists in code-point order of owner, in pages", async () => {
    const store = await open();
    const owners = ["b@x", "a@x", "Z@x", "é@x", "aa@x", "a-b@x", "日@x"];
    for (const o of owners) await store.set(o, URL_A, new Date());
    const expected = [...owners].sort();
    assert.deepEqual((await store.list()).map((r) => r.owner), expected);
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.list({ after, limit: 3 });
      if (page.length === 0) break;
      pages.push(...page.map((r) => r.owner));
      after = page[page.length - 1].owner;
    }
    assert.deepEqual(pages, expected);
    assert.deepEqual(await store.list({ limit: 0 }), []);
    assert.equal(await store.count(), owners.length);
  });

  it("rejects bad input", async () => {
    const store = await open();
    await assert.rejects(store.set(ME, "", new Date()), TypeError);
    await assert.rejects(store.set(ME, URL_A, new Date(Number.NaN)), TypeError);
    await store.set(ME, URL_A, new Date());
    await assert.rejects(store.recordFetch(ME, URL_A, { at: new Date(Number.NaN), status: "ok" }), TypeError);
    await assert.rejects(store.list({ limit: -1 }), RangeError);
  });

  it("keeps large snapshots byte for byte", async () => {
    const store = await open();
    await store.set(ME, URL_A, new Date());
    const events = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ s: i, e: i + 1, t: `Meeting ${i} — ${"x".repeat(200)}`, l: "Room ✓" })));
    const snapshot = { events, from: new Date(0), to: new Date(8.64e15) };
    await store.recordFetch(ME, URL_A, { at: new Date(), status: "ok", snapshot });
    assert.equal((await store.get(ME))?.snapshot?.events, events);
  });
}
