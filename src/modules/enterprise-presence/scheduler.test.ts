import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { PresenceScheduler, type TimerApi } from "./scheduler.ts";

/** A fake timer API: records armed timers; `run()` fires the one armed if it is due. */
function fakeTimers(clock: FakeClock) {
  const armed: Array<{ fn: () => void; at: number; live: boolean }> = [];
  const api: TimerApi = {
    set(fn, ms) {
      const t = { fn, at: clock.now() + ms, live: true };
      armed.push(t);
      return t;
    },
    clear(h) {
      (h as { live: boolean }).live = false;
    },
  };
  return {
    api,
    live: () => armed.filter((t) => t.live),
    /** Advances to `t` and fires due timers in order. */
    advanceTo(t: number) {
      for (;;) {
        const next = armed.filter((a) => a.live && a.at <= t).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        clock.set(Math.max(clock.now(), next.at));
        next.live = false;
        next.fn();
      }
      clock.set(t);
    },
  };
}

test("one timer for all users, armed for the earliest; fires users in time order", () => {
  const clock = new FakeClock(0);
  const timers = fakeTimers(clock);
  const fired: Array<[number, string[]]> = [];
  const s = new PresenceScheduler(clock, (users) => fired.push([clock.now(), users]), timers.api);
  s.schedule("a", 300);
  s.schedule("b", 100);
  s.schedule("c", 200);
  s.schedule("d", 200);
  assert.equal(timers.live().length, 1, "a single armed timer");
  assert.equal(timers.live()[0].at, 100);
  timers.advanceTo(1000);
  assert.deepEqual(fired.map(([t, u]) => [t, [...u].sort()]), [
    [100, ["b"]],
    [200, ["c", "d"]],
    [300, ["a"]],
  ]);
  assert.equal(s.size, 0);
  assert.equal(timers.live().length, 0);
});

test("rescheduling replaces the user's entry; clearing cancels it; the heap stays bounded", () => {
  const clock = new FakeClock(0);
  const timers = fakeTimers(clock);
  const fired: string[] = [];
  const s = new PresenceScheduler(clock, (users) => fired.push(...users), timers.api);
  s.schedule("a", 100);
  s.schedule("a", 500); // later: the 100 entry is stale
  s.schedule("b", 50);
  s.schedule("b", undefined); // cancelled
  timers.advanceTo(400);
  assert.deepEqual(fired, []);
  timers.advanceTo(500);
  assert.deepEqual(fired, ["a"]);
  for (let i = 0; i < 10_000; i++) s.schedule("busy", 1000 + i);
  assert.equal(s.size, 1);
  assert.ok(s.heapSize <= 2 * s.size + 65, `heap ${s.heapSize}`);
  timers.advanceTo(20_000);
  assert.deepEqual(fired, ["a", "busy"]);
});

test("an earlier entry re-arms the timer; a past time fires at once; stop clears everything", () => {
  const clock = new FakeClock(1000);
  const timers = fakeTimers(clock);
  const fired: string[] = [];
  const s = new PresenceScheduler(clock, (users) => fired.push(...users), timers.api);
  s.schedule("late", 5000);
  s.schedule("early", 2000);
  assert.deepEqual(timers.live().map((t) => t.at), [2000]);
  s.schedule("past", 10);
  assert.deepEqual(timers.live().map((t) => t.at), [1000], "due now: delay 0");
  timers.advanceTo(1000);
  assert.deepEqual(fired, ["past"]);
  s.stop();
  assert.equal(timers.live().length, 0);
  s.schedule("x", 1);
  timers.advanceTo(10_000);
  assert.deepEqual(fired, ["past"]);
});

test("a callback that reschedules (the presence engine does) works", () => {
  const clock = new FakeClock(0);
  const timers = fakeTimers(clock);
  const seen: number[] = [];
  const s = new PresenceScheduler(
    clock,
    (users) => {
      seen.push(clock.now());
      if (seen.length < 3) for (const u of users) s.schedule(u, clock.now() + 100);
    },
    timers.api,
  );
  s.schedule("u", 100);
  timers.advanceTo(10_000);
  assert.deepEqual(seen, [100, 200, 300]);
});
