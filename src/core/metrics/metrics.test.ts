import { test } from "node:test";
import assert from "node:assert/strict";
import { ParleyMetrics } from "./metrics.ts";
import { timeDatabase, type StorageOp } from "./timed-database.ts";
import { HookBus } from "../hooks/hooks.ts";
import { SessionEvents, StreamEvents } from "../stream/stream-events.ts";
import type { Database, Queryable } from "../storage/database.ts";
import type { Session } from "../session/session.ts";

function fakeDb(fail = false): Database & { calls: string[] } {
  const calls: string[] = [];
  const q: Queryable = {
    async query<T>(sql: string) {
      calls.push("query " + sql);
      if (fail) throw new Error("boom");
      return [{ one: 1 }] as T[];
    },
    async run(sql: string) {
      calls.push("run " + sql);
      if (fail) throw new Error("boom");
      return { changes: 1 };
    },
  };
  return {
    calls,
    dialect: "sqlite",
    caps: { fullText: true },
    query: q.query,
    run: q.run,
    async transaction(fn) {
      calls.push("begin");
      const r = await fn(q);
      calls.push("commit");
      return r;
    },
    async migrate() {},
    async close() {},
  };
}

test("timeDatabase observes each statement and transaction, failures included, and passes results through", async () => {
  const seen: Array<[StorageOp, boolean]> = [];
  const inner = fakeDb();
  const db = timeDatabase(inner, (op, seconds, ok) => {
    assert.ok(seconds >= 0 && seconds < 5);
    seen.push([op, ok]);
  });
  assert.equal(db.dialect, "sqlite");
  assert.deepEqual(await db.query("SELECT 1"), [{ one: 1 }]);
  assert.deepEqual(await db.run("DELETE"), { changes: 1 });
  assert.equal(await db.transaction(async (tx) => (await tx.query("SELECT 2")).length + (await tx.run("UPDATE")).changes), 2);
  assert.deepEqual(seen, [
    ["query", true],
    ["run", true],
    ["query", true],
    ["run", true],
    ["transaction", true],
  ]);
  assert.deepEqual(inner.calls, ["query SELECT 1", "run DELETE", "begin", "query SELECT 2", "run UPDATE", "commit"]);

  const failing = timeDatabase(fakeDb(true), (op, _s, ok) => seen.push([op, ok]));
  seen.length = 0;
  await assert.rejects(failing.query("SELECT 1"), /boom/);
  await assert.rejects(failing.transaction((tx) => tx.run("X")), /boom/);
  assert.deepEqual(seen, [
    ["query", false],
    ["run", false],
    ["transaction", false],
  ]);
});

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

test("the registry exports stanza counters, sessions by transport, auth outcomes and storage timings", async (t) => {
  const m = new ParleyMetrics({ defaultMetrics: false });
  t.after(() => m.close());
  const hooks = new HookBus(() => {});
  m.attach(hooks);
  const session = { transportKind: "websocket" } as Session;

  m.stanzas.countIn("message");
  m.stanzas.countOut("<presence/>");
  await hooks.notify(SessionEvents.bound, session);
  await hooks.notify(StreamEvents.authFailed, { username: "a", remoteAddress: "x", condition: "not-authorized" });
  await hooks.notify(StreamEvents.authFailed, { username: "a", remoteAddress: "x", condition: "made-up<>" });
  await hooks.notify(StreamEvents.authenticated, { username: "a", remoteAddress: "x", mechanism: "SCRAM-SHA-1" });
  const db = m.timeDatabase(fakeDb());
  await db.query("SELECT 1");

  let text = await m.render();
  assert.equal(sample(text, "parley_stanzas_in_total", 'kind="message"'), 1);
  assert.equal(sample(text, "parley_stanzas_in_total", 'kind="iq"'), 0);
  assert.equal(sample(text, "parley_stanzas_out_total", 'kind="presence"'), 1);
  assert.equal(sample(text, "parley_sessions", 'transport="websocket"'), 1);
  assert.equal(sample(text, "parley_sessions", 'transport="tcp"'), 0);
  assert.equal(sample(text, "parley_auth_failures_total", 'reason="not-authorized"'), 1);
  assert.equal(sample(text, "parley_auth_failures_total", 'reason="other"'), 1);
  assert.equal(sample(text, "parley_auth_successes_total", 'mechanism="SCRAM-SHA-1"'), 1);
  assert.equal(sample(text, "parley_storage_query_seconds_count", 'op="query"'), 1);
  assert.ok(!text.includes("nodejs_eventloop_lag_seconds"), "default metrics were switched off");

  // Scraping twice does not double the collect()-based counters.
  m.stanzas.countIn("message");
  await hooks.notify(SessionEvents.closed, { session, reason: "client-closed" });
  text = await m.render();
  text = await m.render();
  assert.equal(sample(text, "parley_stanzas_in_total", 'kind="message"'), 2);
  assert.equal(sample(text, "parley_sessions", 'transport="websocket"'), 0);

  // Detached on close: later events change nothing (and do not throw).
  m.close();
  await hooks.notify(SessionEvents.bound, session);
  assert.equal(hooks.has(SessionEvents.bound), false);
});

test("default metrics include the event-loop lag", async (t) => {
  const m = new ParleyMetrics();
  t.after(() => m.close());
  const text = await m.render();
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.match(text, /^process_cpu_seconds_total /m);
});
