import assert from "node:assert/strict";
import { test } from "node:test";
import { SlidingWindowLimiter } from "./rate-limit.ts";

test("allows max events per window per key, then again as old ones leave the window", () => {
  const l = new SlidingWindowLimiter(2, 1000);
  assert.ok(l.allowed("a", 0));
  l.record("a", 0);
  l.record("a", 400);
  assert.equal(l.allowed("a", 500), false);
  assert.equal(l.retryAfter("a", 500), 500);
  assert.ok(l.allowed("b", 500), "other keys are independent");
  assert.ok(l.allowed("a", 1000), "the first event left the window");
  l.record("a", 1000);
  assert.equal(l.allowed("a", 1300), false);
  assert.ok(l.allowed("a", 1400));
});

test("0 means unlimited; prune forgets idle keys", () => {
  const u = new SlidingWindowLimiter(0, 1000);
  for (let i = 0; i < 100; i++) u.record("a", i);
  assert.ok(u.allowed("a", 100));
  assert.equal(u.size, 0);
  const l = new SlidingWindowLimiter(1, 1000);
  l.record("a", 0);
  l.record("b", 900);
  l.prune(1500);
  assert.equal(l.size, 1);
});
