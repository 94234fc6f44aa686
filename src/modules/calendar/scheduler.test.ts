import { test } from "node:test";
import assert from "node:assert/strict";
import { TimerScheduler } from "./scheduler.ts";
import { FakeClock } from "./fake-clock.ts";

test("fires every key once at its deadline, in order, with one timer", () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  const s = new TimerScheduler<string>((k, at) => fired.push(`${k}@${at}`), clock);
  s.set("c", 300);
  s.set("a", 100);
  s.set("b", 200);
  s.set("a2", 100);
  assert.equal(clock.pending, 1, "a single armed timer");
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, ["a@100", "a2@100"]);
  clock.advance(1000);
  assert.deepEqual(fired, ["a@100", "a2@100", "b@200", "c@300"]);
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0);
});

test("moving and deleting keys", () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  const s = new TimerScheduler<string>((k) => fired.push(k), clock);
  s.set("x", 500);
  s.set("y", 100);
  s.set("y", 700); // moved later: its old entry must not fire
  s.set("x", 50); // moved earlier: re-armed
  s.set("z", 60);
  s.delete("z");
  assert.equal(s.get("x"), 50);
  clock.advance(60);
  assert.deepEqual(fired, ["x"]);
  clock.advance(1000);
  assert.deepEqual(fired, ["x", "y"]);
});

test("a callback may schedule again (including the same key)", () => {
  const clock = new FakeClock(0);
  let n = 0;
  const s = new TimerScheduler<string>((k, at) => {
    n++;
    if (n < 5) s.set(k, at + 10);
  }, clock);
  s.set("tick", 10);
  clock.advance(1000);
  assert.equal(n, 5);
});

test("far deadlines beyond setTimeout's range re-arm", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  const s = new TimerScheduler<string>((_k, at) => fired.push(at), clock);
  const far = 40 * 86_400_000;
  s.set("far", far);
  clock.advance(30 * 86_400_000);
  assert.deepEqual(fired, []);
  clock.advance(10 * 86_400_000);
  assert.deepEqual(fired, [far]);
});

test("stale heap entries are compacted; 10,000 keys moved many times stay bounded", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const s = new TimerScheduler<number>(() => fired++, clock);
  for (let round = 0; round < 20; round++) for (let i = 0; i < 10_000; i++) s.set(i, 1000 + round * 10 + (i % 7));
  assert.equal(s.size, 10_000);
  clock.advance(10_000);
  assert.equal(fired, 10_000);
  assert.ok(clock.armed < 100, `${clock.armed} timers armed`);
});

test("stop cancels everything", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const s = new TimerScheduler<string>(() => fired++, clock);
  s.set("a", 10);
  s.stop();
  s.set("b", 10);
  clock.advance(100);
  assert.equal(fired, 0);
  assert.equal(clock.pending, 0);
});
