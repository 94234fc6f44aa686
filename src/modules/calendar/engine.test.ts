// The calendar engine with a manual clock, an in-memory store and scripted fetches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CalendarEngine, WINDOW_AHEAD_MS, type EngineOptions, type FeedFetcher } from "./engine.ts";
import { FakeClock } from "./fake-clock.ts";
import { parseCalendar } from "./parse.ts";
import { FeedFetchError, type FetchFeedResult } from "./fetch-feed.ts";
import type { CalendarFeedRecord, CalendarStore, FetchOutcome } from "./store/types.ts";
import type { Meeting } from "./meetings.ts";

const T0 = Date.parse("2025-06-02T08:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;

class MemoryStore implements CalendarStore {
  readonly rows = new Map<string, CalendarFeedRecord>();
  recorded = 0;
  async get(owner: string) {
    return this.rows.get(owner);
  }
  async set(owner: string, url: string, at: Date) {
    const cur = this.rows.get(owner);
    if (cur && cur.url === url) return false;
    this.rows.set(owner, { owner, url, updated: at, status: "pending" });
    return true;
  }
  async remove(owner: string) {
    return this.rows.delete(owner);
  }
  async recordFetch(owner: string, url: string, o: FetchOutcome) {
    const cur = this.rows.get(owner);
    if (!cur || cur.url !== url) return false;
    this.recorded++;
    const next: Record<string, unknown> = { ...cur, lastFetch: o.at, status: o.status };
    if (o.status === "ok") {
      delete next.error;
      next.lastSuccess = o.at;
    } else next.error = o.error;
    if (o.validators) {
      delete next.etag;
      delete next.lastModified;
      if (o.validators.etag) next.etag = o.validators.etag;
      if (o.validators.lastModified) next.lastModified = o.validators.lastModified;
    }
    if (o.snapshot) next.snapshot = o.snapshot;
    this.rows.set(owner, next as unknown as CalendarFeedRecord);
    return true;
  }
  async list(opts: { after?: string; limit?: number } = {}) {
    return [...this.rows.values()].filter((r) => opts.after === undefined || r.owner > opts.after).sort((a, b) => (a.owner < b.owner ? -1 : 1)).slice(0, opts.limit ?? 1000);
  }
  async count() {
    return this.rows.size;
  }
}

/** An ICS body with events at [start, end) minutes after T0. */
function ics(events: Array<[number, number, string, string?]>): string {
  const stamp = (m: number) => new Date(T0 + m * MIN).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const body = events.map(([s, e, subject, extra], i) =>
    ["BEGIN:VEVENT", `UID:e${i}`, "DTSTAMP:20250101T000000Z", `DTSTART:${stamp(s)}`, `DTEND:${stamp(e)}`, `SUMMARY:${subject}`, ...(extra ? [extra] : []), "END:VEVENT"].join("\r\n"),
  );
  return ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", ...body, "END:VCALENDAR", ""].join("\r\n");
}

const flush = () => new Promise<void>((r) => setImmediate(r));

interface Harness {
  clock: FakeClock;
  store: MemoryStore;
  engine: CalendarEngine;
  changes: Array<{ at: number; user: string; subject: string | undefined }>;
  updates: string[];
  /** Advances in steps, letting promise chains run between steps. */
  run(ms: number, step?: number): Promise<void>;
}

function harness(fetch: FeedFetcher, extra: Partial<EngineOptions> & { clock?: FakeClock; store?: MemoryStore } = {}): Harness {
  const clock = extra.clock ?? new FakeClock(T0);
  const store = extra.store ?? new MemoryStore();
  const changes: Harness["changes"] = [];
  const updates: string[] = [];
  const silent = { debug() {}, warn() {}, error() {} };
  const engine = new CalendarEngine({
    store,
    fetch,
    parse: (body, from, to) => parseCalendar(body, { from, to, floatingTimeZone: "UTC" }),
    pollIntervalMs: 300_000,
    maxConcurrent: 4,
    describeError: (err) => (err instanceof FeedFetchError ? err.message : undefined),
    onChanged: (user, meeting: Meeting | undefined) => changes.push({ at: clock.now(), user, subject: meeting?.subject }),
    onUpdated: (user) => updates.push(user),
    log: silent,
    clock,
    random: () => 0.5,
    ...extra,
  });
  return {
    clock,
    store,
    engine,
    changes,
    updates,
    async run(ms, step = 1000) {
      await flush();
      for (let t = 0; t < ms; t += step) {
        clock.advance(Math.min(step, ms - t));
        await flush();
      }
    },
  };
}

const ok = (body: string, etag?: string): FetchFeedResult => ({ status: "ok", url: "u", body, ...(etag ? { etag } : {}) });

test("meeting starts and ends are applied at their exact time by the single timer", async () => {
  const body = ics([
    [10, 40, "Stand-up"],
    [60, 90, "Review"],
    [70, 80, "Tentative thing", "STATUS:TENTATIVE"],
  ]);
  const h = harness(async () => ok(body));
  await h.engine.start();
  await h.engine.setFeed("alice@x", "https://cal/alice.ics");
  await h.run(0);
  assert.equal(h.engine.info("alice@x")?.status, "ok");
  assert.equal(h.engine.current("alice@x"), undefined);
  assert.equal(h.engine.timers, 2, "one poll deadline and one boundary deadline");
  assert.ok(h.clock.pending <= 1, "one armed timer for everything");
  await h.run(2 * HOUR, 1000);
  assert.deepEqual(
    h.changes.map((c) => `${(c.at - T0) / MIN} ${c.subject ?? "-"}`),
    ["10 Stand-up", "40 -", "60 Review", "90 -"],
  );
  assert.ok(h.clock.pending <= 1);
  h.engine.stop();
});

test("a meeting running when the feed is set shows at once; removing the feed ends it", async () => {
  const h = harness(async () => ok(ics([[-30, 30, "Board meeting"]])));
  await h.engine.setFeed("bob@x", "https://cal/bob.ics");
  await h.run(0);
  assert.equal(h.engine.current("bob@x")?.subject, "Board meeting");
  assert.deepEqual(h.changes.map((c) => c.subject), ["Board meeting"]);
  assert.equal(await h.engine.removeFeed("bob@x"), true);
  assert.equal(h.engine.current("bob@x"), undefined);
  assert.deepEqual(h.changes.map((c) => c.subject), ["Board meeting", undefined]);
  assert.equal(h.engine.timers, 0, "nothing left scheduled for a user without a feed");
  assert.equal(await h.engine.removeFeed("bob@x"), false);
  h.engine.stop();
});

test("only users with a feed are polled, spread over the interval, at most N at once", async () => {
  const store = new MemoryStore();
  const users = Array.from({ length: 400 }, (_, i) => `u${String(i).padStart(3, "0")}@x`);
  for (const u of users) await store.set(u, `https://cal/${u}.ics`, new Date(T0));
  const clock = new FakeClock(T0);
  const starts: number[] = [];
  const polled = new Set<string>();
  let running = 0;
  let peak = 0;
  let seq = 0;
  const h = harness(
    (url, _v, _signal) => {
      starts.push(clock.now());
      polled.add(url);
      running++;
      peak = Math.max(peak, running);
      return new Promise((resolve) =>
        clock.setTimeout(() => {
          running--;
          resolve(ok(ics([])));
        }, 500),
      );
    },
    { store, clock, random: () => ((seq = (seq * 1103515245 + 12345) % 2 ** 31), seq / 2 ** 31) },
  );
  await h.engine.start();
  assert.equal(h.engine.size, 400);
  await h.run(300_000, 250);
  await h.run(5_000, 250);
  assert.equal(polled.size, 400, "every feed polled in the first interval");
  assert.ok(starts.length <= 420, "and hardly any twice (those polled first come round again after ~300 s)");
  starts.splice(0).forEach((s, i) => i < 400 && starts.push(s));
  assert.ok(peak <= 4, `peak ${peak}`);
  // Spread: no 30-second slice holds more than twice its share (40).
  const buckets = new Array(10).fill(0);
  for (const s of starts) buckets[Math.min(9, Math.floor((s - T0) / 30_000))]++;
  assert.ok(Math.max(...buckets) <= 80, `buckets ${buckets}`);
  assert.ok(Math.min(...buckets) >= 10, `buckets ${buckets}`);
  // The next round follows about one interval later, still spread.
  starts.length = 0;
  polled.clear();
  await h.run(300_000, 1000);
  assert.ok(starts.length >= 300 && starts.length <= 400, `${starts.length} polls in the second interval`);
  assert.ok(polled.size >= 300, "the polls are different users, not a few repeatedly");
  assert.ok(h.clock.pending <= 1 + running, "one scheduler timer (plus the fake fetches' own)");
  h.engine.stop();
});

test("at most maxConcurrent fetches run; a user's request jumps the queue", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore();
  for (let i = 0; i < 6; i++) await store.set(`q${i}@x`, `https://cal/q${i}`, new Date(T0));
  const order: string[] = [];
  const h = harness(
    (url) => {
      order.push(url.slice(url.lastIndexOf("/") + 1));
      return new Promise((resolve) => clock.setTimeout(() => resolve(ok(ics([]))), 1000));
    },
    { clock, store, maxConcurrent: 2, random: () => 0 },
  );
  await h.engine.start(); // six polls due at once
  await h.run(1, 1);
  assert.deepEqual(order, ["q0", "q1"]);
  await h.engine.setFeed("vip@x", "https://cal/vip");
  await h.engine.setFeed("vip2@x", "https://cal/vip2");
  await h.run(999, 999);
  assert.deepEqual(order.slice(2, 4), ["vip", "vip2"], "users who set a feed go before the periodic polls, in order");
  await h.run(5000, 500);
  assert.deepEqual(order.slice(4), ["q2", "q3", "q4", "q5"]);
  assert.equal(h.engine.peakConcurrent, 2);
  h.engine.stop();
});

test("a user re-setting their feed over and over cannot starve the periodic polls", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore();
  for (let i = 0; i < 3; i++) await store.set(`q${i}@x`, `https://cal/q${i}`, new Date(T0));
  const order: string[] = [];
  const h = harness(
    (url) => {
      order.push(url.slice(url.lastIndexOf("/") + 1));
      return new Promise((resolve) => clock.setTimeout(() => resolve(ok(ics([]))), 1000));
    },
    { clock, store, maxConcurrent: 1, random: () => 0 },
  );
  await h.engine.start();
  await h.run(1, 1);
  for (let i = 0; i < 20; i++) {
    await h.engine.setFeed("flip@x", `https://cal/flip${i % 2}`);
    await h.run(100, 100);
  }
  await h.run(5000, 100);
  // The flipper jumps the queue once, then waits its turn behind the polls.
  assert.deepEqual(order.slice(0, 5).map((u) => u.replace(/flip\d/, "flip")), ["q0", "flip", "q1", "q2", "flip"]);
  h.engine.stop();
});

test("a fetch of a URL that was replaced meanwhile is discarded", async () => {
  const clock = new FakeClock(T0);
  const pending = new Map<string, (r: FetchFeedResult) => void>();
  const h = harness((url) => new Promise((resolve) => pending.set(url, resolve)), { clock });
  await h.engine.setFeed("carol@x", "https://cal/old");
  await h.run(0);
  assert.ok(pending.has("https://cal/old"));
  await h.engine.setFeed("carol@x", "https://cal/new");
  await h.run(0);
  assert.ok(!pending.has("https://cal/new"), "one fetch per user at a time");
  pending.get("https://cal/old")!(ok(ics([[-5, 30, "Old calendar meeting"]])));
  await h.run(0);
  assert.equal(h.engine.current("carol@x"), undefined, "the old feed's answer is dropped");
  assert.ok(pending.has("https://cal/new"), "the new URL is fetched right after");
  pending.get("https://cal/new")!(ok(ics([[-5, 30, "New calendar meeting"]])));
  await h.run(0);
  assert.equal(h.engine.current("carol@x")?.subject, "New calendar meeting");
  assert.equal(h.store.rows.get("carol@x")?.status, "ok");
  assert.deepEqual(h.changes.map((c) => c.subject), ["New calendar meeting"]);
  h.engine.stop();
});

test("failures are recorded with their text, keep the last window, and back off", async () => {
  const clock = new FakeClock(T0);
  const calls: number[] = [];
  let fail = false;
  const h = harness(
    async () => {
      calls.push(clock.now() - T0);
      if (fail) throw new FeedFetchError("http", "HTTP 503 Service Unavailable");
      return ok(ics([[60, 120, "Planning"]]));
    },
    { clock },
  );
  await h.engine.setFeed("dave@x", "https://cal/dave");
  await h.run(0);
  fail = true;
  await h.run(300_000 * 30, 10_000);
  const info = h.engine.info("dave@x")!;
  assert.equal(info.status, "error");
  assert.equal(info.error, "HTTP 503 Service Unavailable");
  assert.equal(h.store.rows.get("dave@x")?.error, "HTTP 503 Service Unavailable");
  // Polls at ~0, +5 min (ok window), then failures spaced 5, 10, 20 … min.
  const gaps = calls.slice(1).map((c, i) => Math.round((c - calls[i]) / MIN));
  assert.deepEqual(gaps.slice(0, 4), [5, 5, 10, 20]);
  // The window from the last success still drives presence.
  assert.deepEqual(h.changes.map((c) => c.subject), ["Planning", undefined]);
  h.engine.stop();
});

test("conditional GET while the window is fresh; a full fetch once it needs to slide", async () => {
  const clock = new FakeClock(T0);
  const validators: Array<Record<string, string>> = [];
  const h = harness(
    async (_url, v) => {
      validators.push({ ...v });
      if (v.etag === '"1"') return { status: "not-modified", url: "u" };
      return ok(ics([[10, 20, "x"]]), '"1"');
    },
    { clock },
  );
  await h.engine.setFeed("erin@x", "https://cal/erin");
  await h.run(0);
  await h.run(300_000, 10_000);
  assert.deepEqual(validators.slice(0, 2), [{}, { etag: '"1"' }]);
  // A day and a bit later the kept window reaches less than six days ahead: fetch it all.
  validators.length = 0;
  await h.run(WINDOW_AHEAD_MS / 7 + HOUR, 60_000);
  assert.ok(validators.some((v) => v.etag === undefined), "an unconditional fetch happened");
  assert.ok(validators.filter((v) => v.etag === '"1"').length > 100, "most polls were conditional");
  h.engine.stop();
});

test("after a restart the stored window answers at once and boundaries still fire", async () => {
  const store = new MemoryStore();
  const clock = new FakeClock(T0);
  const first = harness(async () => ok(ics([[-10, 20, "Running"], [30, 45, "Next"], [0, 1440 * 2, "Holiday", "X-MICROSOFT-CDO-BUSYSTATUS:OOF"]])), { store, clock });
  await first.engine.setFeed("fay@x", "https://cal/fay");
  await first.run(0);
  assert.equal(first.engine.current("fay@x")?.subject, "Running");
  assert.deepEqual(first.engine.items("fay@x").map((i) => `${i.subject} ${i.showAs}`), ["Running busy", "Holiday oof", "Next busy"]);
  assert.deepEqual(first.updates, ["fay@x"]);
  first.engine.stop();

  let fetched = 0;
  const second = harness(
    async () => {
      fetched++;
      return { status: "not-modified", url: "u" };
    },
    { store, clock, random: () => 0.99 },
  );
  await second.engine.start();
  assert.equal(second.engine.current("fay@x")?.subject, "Running", "known before any fetch");
  assert.equal(fetched, 0);
  await second.run(50 * MIN, 1000);
  assert.deepEqual(second.changes.map((c) => `${(c.at - T0) / MIN} ${c.subject ?? "-"}`), ["20 -", "30 Next", "45 -"]);
  second.engine.stop();
});

test("refresh() and settled() wait for a fetch", async () => {
  const clock = new FakeClock(T0);
  let n = 0;
  const h = harness(
    () => {
      n++;
      return new Promise((resolve) => clock.setTimeout(() => resolve(ok(ics([]))), 100));
    },
    { clock },
  );
  await h.engine.setFeed("gus@x", "https://cal/gus");
  let settled = false;
  void h.engine.settled("gus@x").then(() => (settled = true));
  await h.run(0);
  assert.equal(settled, false);
  await h.run(100, 100);
  assert.equal(settled, true);
  assert.equal(n, 1);
  let refreshed = false;
  await h.run(5000, 1000);
  void h.engine.refresh("gus@x").then(() => (refreshed = true));
  await h.run(100, 100);
  assert.equal(refreshed, true);
  assert.equal(n, 2);
  await h.engine.settled("nobody@x");
  h.engine.stop();
});
