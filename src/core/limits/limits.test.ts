// Unit tests of the abuse limits with a fake clock: token bucket, failure tables (windows,
// blocks, bounded memory), the authentication limiter, the connection limiter and exemptions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AbuseLimits, AuthFailureLimiter, ConnectionLimiter, FailureTable, TokenBucket, accountKey } from "./index.ts";
import { parseAddressList } from "../transport/address-list.ts";
import { loadConfig } from "../config/config.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const none = parseAddressList("none");

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function captureLog() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string; level: string }> = [];
  const mk = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg, level });
  const log = { warn: mk("warn"), info: mk("info"), debug: mk("debug"), child: () => log };
  return { lines, log: log as never };
}

// --- token bucket -------------------------------------------------------------------------

test("token bucket: burst passes at once, then the sustained rate; debt is repaid over time", () => {
  const b = new TokenBucket(1000, 4000, 0); // 1000 B/s, 4000 B burst
  assert.equal(b.take(4000, 0), 0, "the whole burst passes without waiting");
  assert.equal(b.take(500, 0), 500, "500 B of debt at 1000 B/s = 500 ms");
  assert.equal(b.delay(250), 250);
  assert.equal(b.delay(500), 0);
  // Refill is capped at the burst size.
  assert.equal(b.balance(60_000), 4000);
  // A chunk larger than the burst is accepted (already received) and paid for afterwards.
  assert.equal(b.take(10_000, 60_000), 6000);
  assert.equal(b.delay(66_000), 0);
});

test("token bucket: sending at exactly the rate never waits; twice the rate waits about half the time", () => {
  const b = new TokenBucket(10_000, 1000, 0);
  let waited = 0;
  for (let t = 0; t <= 10_000; t += 100) waited += b.take(1000, t); // 10 kB/s at 10 kB/s
  assert.equal(waited, 0);
  const c = new TokenBucket(10_000, 1000, 0);
  let now = 0;
  let total = 0;
  for (let i = 0; i < 100; i++) {
    // 2000 B every 100 ms = 20 kB/s offered; the reader honours each pause.
    const w = c.take(2000, now);
    total += w;
    now += 100 + w;
  }
  // 200 kB at 10 kB/s ≈ 20 s, of which 10 s are the client's own pacing.
  assert.ok(now >= 19_800 && now <= 20_200, `took ${now} ms`);
  assert.ok(total > 9_000);
});

test("token bucket: rejects nonsense parameters", () => {
  assert.throws(() => new TokenBucket(0, 10, 0), RangeError);
  assert.throws(() => new TokenBucket(10, 0, 0), RangeError);
});

// --- failure table ------------------------------------------------------------------------

test("failure table: the Nth failure in a window starts a block lasting one window", () => {
  const t = new FailureTable(3, 60_000);
  assert.equal(t.fail("a", 0), 0);
  assert.equal(t.fail("a", 1000), 0);
  assert.equal(t.blockedUntil("a", 1000), 0);
  assert.equal(t.fail("a", 2000), 62_000, "third failure blocks until 2000 + window");
  assert.equal(t.blockedUntil("a", 2000), 62_000);
  assert.equal(t.blockedUntil("a", 61_999), 62_000);
  assert.equal(t.fail("a", 30_000), 0, "failures during a block do not extend it");
  assert.equal(t.blockedUntil("a", 62_000), 0, "the block is over");
  assert.equal(t.size, 0, "an expired entry is forgotten when looked at");
  assert.equal(t.fail("a", 62_000), 0, "counting starts again");
});

test("failure table: failures spread over more than a window never block", () => {
  const t = new FailureTable(3, 60_000);
  assert.equal(t.fail("a", 0), 0);
  assert.equal(t.fail("a", 30_000), 0);
  assert.equal(t.fail("a", 60_000), 0, "the window that started at 0 is over: a new window");
  assert.equal(t.fail("a", 61_000), 0);
  assert.notEqual(t.fail("a", 62_000), 0);
});

test("failure table: limit 0 disables it; clear forgets a key", () => {
  const off = new FailureTable(0, 60_000);
  for (let i = 0; i < 100; i++) assert.equal(off.fail("a", i), 0);
  assert.equal(off.size, 0);
  const t = new FailureTable(2, 60_000);
  t.fail("a", 0);
  t.clear("a");
  assert.equal(t.fail("a", 1), 0, "after clear the count starts again");
});

test("failure table: memory is capped under a spray of distinct keys, and live blocks survive it", () => {
  const t = new FailureTable(2, 60_000, 1000);
  t.fail("victim", 0);
  t.fail("victim", 1);
  assert.notEqual(t.blockedUntil("victim", 2), 0);
  for (let i = 0; i < 100_000; i++) {
    t.fail(`random-${i}`, 10 + (i >> 10));
    assert.ok(t.size <= 1000, `size ${t.size} exceeds the cap at ${i}`);
  }
  assert.notEqual(t.blockedUntil("victim", 500), 0, "the block was not evicted by unblocked entries");
  // Entries whose window is over are dropped first when room is needed.
  const u = new FailureTable(5, 1000, 10);
  for (let i = 0; i < 10; i++) u.fail(`old-${i}`, 0);
  u.fail("new", 5000);
  assert.equal(u.size, 1);
});

test("account keys: long names are hashed (bounded memory), short ones kept", () => {
  assert.equal(accountKey("alice"), "alice");
  const long = "x".repeat(4000);
  const k = accountKey(long);
  assert.ok(k.length < 64 && k.startsWith("\0"));
  assert.equal(accountKey(long), k);
  assert.notEqual(accountKey(long + "y"), k);
});

// --- authentication limiter -----------------------------------------------------------------

test("auth limiter: an account is blocked after N failures from anywhere; other accounts are not", () => {
  const c = clock();
  const { lines, log } = captureLog();
  const l = new AuthFailureLimiter({ perAccount: 3, perAddress: 100, windowMs: 300_000, exempt: none, now: c.now, log });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(l.check(`192.0.2.${i}`, "alice"), { allowed: true });
    l.failed(`192.0.2.${i}`, "alice", "not-authorized");
  }
  const v = l.check("198.51.100.1", "alice");
  assert.equal(v.allowed, false);
  assert.ok(!v.allowed && v.scope === "account" && v.until === c.t + 300_000);
  assert.ok(!v.allowed && v.text.includes(new Date(c.t + 300_000).toISOString()), "the text says until when");
  assert.match(!v.allowed ? v.text : "", /in 300 s/);
  assert.deepEqual(l.check("198.51.100.1", "bob"), { allowed: true });
  assert.deepEqual(l.check("198.51.100.1", undefined), { allowed: true }, "the address itself is not blocked");
  // One warning when the block started, none for the refused attempts.
  assert.equal(lines.filter((x) => x.level === "warn").length, 1);
  assert.equal(lines[0].obj.username, "alice");
  assert.match(lines[0].msg, /authFailuresPerAccount/);
  c.t += 300_000;
  assert.deepEqual(l.check("198.51.100.1", "alice"), { allowed: true }, "the block ends after one window");
});

test("auth limiter: an address is blocked after N failures over any accounts, before the account is known", () => {
  const c = clock();
  const { lines, log } = captureLog();
  const l = new AuthFailureLimiter({ perAccount: 10, perAddress: 5, windowMs: 60_000, exempt: none, now: c.now, log });
  for (let i = 0; i < 5; i++) l.failed("203.0.113.7", `user${i}`, "not-authorized");
  const v = l.check("203.0.113.7");
  assert.ok(!v.allowed && v.scope === "address");
  assert.ok(!l.check("::ffff:203.0.113.7", "someone").allowed, "IPv4-mapped IPv6 is the same address");
  assert.ok(l.check("203.0.113.8").allowed);
  assert.equal(lines.length, 1);
  assert.match(lines[0].msg, /authFailuresPerAddress/);
  assert.equal(lines[0].obj.address, "203.0.113.7");
});

test("auth limiter: only credential failures count; success clears the account; exempt addresses are never limited", () => {
  const c = clock();
  const exempt = parseAddressList("loopback,10.0.0.0/8");
  const l = new AuthFailureLimiter({ perAccount: 2, perAddress: 2, windowMs: 60_000, exempt, now: c.now });
  for (const cond of ["aborted", "temporary-auth-failure", "invalid-mechanism", "encryption-required"]) {
    l.failed("192.0.2.1", "alice", cond);
    l.failed("192.0.2.1", "alice", cond);
  }
  assert.ok(l.check("192.0.2.1", "alice").allowed, "no credential was tried");
  l.failed("192.0.2.1", "alice", "not-authorized");
  l.succeeded("192.0.2.2", "alice");
  l.failed("192.0.2.3", "alice", "not-authorized");
  assert.ok(l.check("192.0.2.4", "alice").allowed, "the success in between cleared the account's count");
  for (const addr of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "10.200.0.1"]) {
    for (let i = 0; i < 50; i++) l.failed(addr, "carol", "not-authorized");
    assert.ok(l.check(addr, "carol").allowed, `${addr} is exempt`);
  }
  assert.ok(l.check("192.0.2.9", "carol").allowed, "failures from exempt addresses are not counted for the account either");
  assert.equal(l.addresses.size + l.accounts.size <= 3, true);
});

test("auth limiter: limits of 0 disable each table", () => {
  const l = new AuthFailureLimiter({ perAccount: 0, perAddress: 0, windowMs: 60_000, exempt: none });
  for (let i = 0; i < 1000; i++) l.failed("192.0.2.1", "alice", "not-authorized");
  assert.ok(l.check("192.0.2.1", "alice").allowed);
});

// --- connection limiter ----------------------------------------------------------------------

test("connection limiter: the N+1th connection from an address is refused until one closes", () => {
  const { lines, log } = captureLog();
  const l = new ConnectionLimiter({ max: 2, exempt: parseAddressList("loopback"), log });
  assert.ok(l.acquire("192.0.2.1"));
  assert.ok(l.acquire("::ffff:192.0.2.1"), "IPv4-mapped counts as the same address");
  assert.equal(l.count("192.0.2.1"), 2);
  assert.equal(l.acquire("192.0.2.1"), false);
  assert.equal(l.acquire("192.0.2.1", "websocket"), false);
  assert.equal(lines.length, 1, "one warning per episode, not one per refused connection");
  assert.ok(l.acquire("192.0.2.2"), "other addresses are unaffected");
  l.release("192.0.2.1");
  assert.ok(l.acquire("192.0.2.1"));
  assert.equal(l.acquire("192.0.2.1"), false);
  assert.equal(lines.length, 2, "a new episode warns again");
  l.release("192.0.2.1");
  l.release("192.0.2.1");
  l.release("192.0.2.2");
  assert.equal(l.size, 0, "closed addresses leave nothing behind");
  for (let i = 0; i < 1000; i++) assert.ok(l.acquire("127.0.0.1"), "loopback is exempt");
  assert.equal(l.size, 0, "exempt addresses are not tracked");
  const unlimited = new ConnectionLimiter({ max: 0 });
  for (let i = 0; i < 1000; i++) assert.ok(unlimited.acquire("192.0.2.1"));
});

// --- AbuseLimits from the configuration --------------------------------------------------------

test("AbuseLimits: built from the config defaults; loopback is exempt, 0 lifts shaping", () => {
  const dir = mkdtempSync(join(tmpdir(), "parley-limits-"));
  const config = loadConfig({ env: {}, cwd: dir });
  rmSync(dir, { recursive: true, force: true });
  const c = clock();
  const limits = new AbuseLimits(config.limits, { now: c.now });
  assert.equal(limits.connections.max, 100);
  assert.equal(limits.inboundShaper("127.0.0.1"), undefined, "loopback is not shaped by default");
  const b = limits.inboundShaper("192.0.2.1");
  assert.ok(b instanceof TokenBucket);
  assert.equal(b.ratePerSecond, 102400);
  assert.equal(b.burst, 1048576);
  for (let i = 0; i < 10; i++) limits.auth.failed("192.0.2.1", "alice", "not-authorized");
  assert.equal(limits.authGuard("alice", "192.0.2.1").allowed, false);
  assert.match(limits.authGuard("alice", "192.0.2.1").text ?? "", /try again after/);
  assert.equal(limits.authGuard("alice", "127.0.0.1").allowed, true, "loopback is exempt");
  const off = new AbuseLimits({ ...config.limits, c2sBytesPerSecond: 0, exemptAddresses: "none" });
  assert.equal(off.inboundShaper("192.0.2.1"), undefined);
  const strict = new AbuseLimits({ ...config.limits, exemptAddresses: "none" });
  assert.ok(strict.inboundShaper("127.0.0.1") instanceof TokenBucket, "with no exemptions loopback is shaped too");
});
