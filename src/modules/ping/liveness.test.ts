import assert from "node:assert/strict";
import { test } from "node:test";
import { pingDecision } from "./liveness.ts";

const base = { intervalMs: 1000, timeoutMs: 500 };

test("a client silent for the interval is pinged, not before", () => {
  assert.equal(pingDecision({ ...base, now: 10_999, lastReceived: 10_000, pingSentAt: undefined }), "wait");
  assert.equal(pingDecision({ ...base, now: 11_000, lastReceived: 10_000, pingSentAt: undefined }), "ping");
});

test("a pinged client that stays silent past the timeout is dropped", () => {
  assert.equal(pingDecision({ ...base, now: 11_400, lastReceived: 10_000, pingSentAt: 11_000 }), "wait");
  assert.equal(pingDecision({ ...base, now: 11_500, lastReceived: 10_000, pingSentAt: 11_000 }), "drop");
});

test("anything received after the ping proves the client alive", () => {
  assert.equal(pingDecision({ ...base, now: 20_000, lastReceived: 11_001, pingSentAt: 11_000 }), "alive");
  assert.equal(pingDecision({ ...base, now: 20_000, lastReceived: 11_000, pingSentAt: 11_000 }), "alive", "the same millisecond counts");
  assert.equal(pingDecision({ ...base, now: 20_000, lastReceived: 10_999, pingSentAt: 11_000 }), "drop");
});

test("sessions without a live connection are left alone", () => {
  assert.equal(pingDecision({ ...base, now: 1e9, lastReceived: undefined, pingSentAt: undefined }), "wait");
  assert.equal(pingDecision({ ...base, now: 1e9, lastReceived: undefined, pingSentAt: 1 }), "wait");
});
