// The presence engine with a fake clock, fake timers and an in-memory store: changes are
// notified only when watchers could see them, idle timers fire on time from the one shared
// scheduler, manual state and note survive a restart, the last sign-out is remembered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, MINUTE, SECOND } from "./clock.ts";
import { aggregationConfig } from "./aggregate.ts";
import { PresenceEngine, type PresenceChange } from "./engine.ts";
import type { TimerApi } from "./scheduler.ts";
import type { ClientPresenceUpdate } from "./wire.ts";
import type { EnterprisePresenceStore, HeldMessage, StoredPresence } from "./store/types.ts";

class MemoryStore implements EnterprisePresenceStore {
  rows = new Map<string, StoredPresence>();
  writes = 0;
  async get(owner: string) {
    const r = this.rows.get(owner);
    return r ? structuredClone(r) : undefined;
  }
  async put(owner: string, v: StoredPresence) {
    this.writes++;
    this.rows.set(owner, structuredClone(v));
  }
  async hold(): Promise<number> {
    return 0;
  }
  async held(): Promise<HeldMessage[]> {
    return [];
  }
  async release() {
    return 0;
  }
  async heldCount() {
    return 0;
  }
  async removeOwner(owner: string) {
    this.rows.delete(owner);
  }
}

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
    live: () => armed.filter((t) => t.live).length,
    async advance(ms: number) {
      const end = clock.now() + ms;
      for (;;) {
        const next = armed.filter((a) => a.live && a.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        clock.set(Math.max(clock.now(), next.at));
        next.live = false;
        next.fn();
        await new Promise((r) => setImmediate(r)); // let the recomputation run
      }
      clock.set(end);
    },
  };
}

const std = (over: Partial<ClientPresenceUpdate> = {}): ClientPresenceUpdate => ({ endpoint: {}, standard: true, ...over });

function setup(store = new MemoryStore(), clock = new FakeClock("2025-03-03T09:00:00Z")) {
  const timers = fakeTimers(clock);
  const changes: PresenceChange[] = [];
  const engine = new PresenceEngine({
    clock,
    store,
    aggregation: aggregationConfig({ inactiveAfterMs: 5 * MINUTE, awayAfterMs: 5 * MINUTE }),
    onChanged: (c) => void changes.push(c),
    onError: (err) => {
      throw err;
    },
    timers: timers.api,
  });
  return { engine, store, clock, timers, changes };
}

test("a resource coming online changes the state; the same presence again does not", async () => {
  const { engine, changes } = setup();
  assert.equal(await engine.clientPresence("a@x", "desk", std(), { defaultKind: "desktop" }), true);
  assert.equal(changes.length, 1);
  assert.equal(changes[0].previous.class, "offline");
  assert.equal(changes[0].state.class, "available");
  assert.equal(await engine.clientPresence("a@x", "desk", std(), { defaultKind: "desktop" }), false);
  assert.equal(await engine.clientPresence("a@x", "phone", std(), { defaultKind: "desktop" }), false, "a second active device: same state");
  assert.equal(changes.length, 1);
});

test("idle timers: Inactive then Away on time, from one shared timer", async () => {
  const { engine, clock, timers, changes } = setup();
  const t0 = clock.now();
  await engine.clientPresence("a@x", "desk", { endpoint: { kind: "desktop", idleSince: t0 }, standard: false }, { defaultKind: "desktop" });
  await engine.clientPresence("b@x", "desk", { endpoint: { kind: "desktop", idleSince: t0 - 2 * MINUTE }, standard: false }, { defaultKind: "desktop" });
  assert.equal(timers.live(), 1, "one armed timer for both users");
  changes.length = 0;
  await timers.advance(3 * MINUTE - SECOND);
  assert.deepEqual(changes.map((c) => [c.user, c.state.class]), []);
  await timers.advance(SECOND);
  assert.deepEqual(changes.map((c) => [c.user, c.state.class, clock.now() - t0]), [["b@x", "available-idle", 3 * MINUTE]]);
  await timers.advance(2 * MINUTE);
  assert.deepEqual(changes.map((c) => [c.user, c.state.class]).slice(1), [["a@x", "available-idle"]]);
  assert.equal(changes[1].state.lastActive, t0);
  await timers.advance(5 * MINUTE);
  assert.deepEqual(changes.map((c) => [c.user, c.state.class]).slice(2), [["b@x", "away"], ["a@x", "away"]]);
  assert.equal(timers.live(), 0, "nothing more to wait for");
});

test("a reported inactive state keeps the time of its first report while the client repeats it", async () => {
  const { engine, clock, timers, changes } = setup();
  const rep = { endpoint: { kind: "desktop" as const, state: "inactive" as const }, standard: false };
  await engine.clientPresence("a@x", "desk", rep, { defaultKind: "desktop" });
  assert.equal(changes.at(-1)!.state.class, "available-idle");
  await timers.advance(3 * MINUTE);
  await engine.clientPresence("a@x", "desk", rep, { defaultKind: "desktop" });
  await timers.advance(7 * MINUTE - SECOND);
  assert.equal(changes.at(-1)!.state.class, "available-idle");
  await timers.advance(SECOND);
  assert.equal(changes.at(-1)!.state.class, "away", "10 minutes (inactive + away) after the first report, not the repeat");
  assert.equal(clock.now() - changes.at(-1)!.state.lastActive!, 10 * MINUTE);
});

test("mobile in the background ages like idle time; a desktop in the background does not", async () => {
  const { engine, clock, timers, changes } = setup();
  await engine.clientPresence("a@x", "phone", { endpoint: { kind: "mobile" }, standard: false }, { defaultKind: "desktop" });
  await engine.clientPresence("b@x", "desk", std(), { defaultKind: "desktop" });
  await engine.background("a@x", "phone", clock.now());
  await engine.background("b@x", "desk", clock.now());
  changes.length = 0;
  await timers.advance(5 * MINUTE);
  assert.deepEqual(changes.map((c) => [c.user, c.state.class, c.state.mobile]), [["a@x", "available-idle", true]]);
  await engine.background("a@x", "phone", undefined);
  assert.equal(changes.at(-1)!.state.class, "available");
});

test("caps say phone: the endpoint counts as mobile", async () => {
  const { engine, changes } = setup();
  await engine.clientPresence("a@x", "p", std(), { defaultKind: "desktop" });
  assert.equal(changes.at(-1)!.state.mobile, false);
  assert.equal(await engine.capsKind("a@x", "p", "mobile"), true);
  assert.equal(changes.at(-1)!.state.mobile, true);
  // a <device kind> report wins over caps
  await engine.clientPresence("a@x", "p", { endpoint: { kind: "desktop" }, standard: false }, { defaultKind: "desktop" });
  assert.equal(changes.at(-1)!.state.mobile, false);
});

test("manual state and note are stored; a restart finds them; a standard client resets only its own choice", async () => {
  const store = new MemoryStore();
  const a = setup(store);
  await a.engine.clientPresence("a@x", "web", { manual: { kind: "set", mode: "dnd" }, note: { kind: "set", text: "heads down" }, endpoint: {}, standard: false }, { defaultKind: "web" });
  assert.equal(a.engine.current("a@x")!.class, "dnd");
  assert.equal(store.rows.get("a@x")!.manual!.mode, "dnd");
  assert.equal(store.rows.get("a@x")!.note!.text, "heads down");
  // Gajim on another device reconnects with plain presence: the web client's DND stays.
  await a.engine.clientPresence("a@x", "gajim", std({ manual: { kind: "reset-own" }, note: { kind: "clear-own" } }), { defaultKind: "desktop" });
  assert.equal(a.engine.current("a@x")!.class, "dnd");
  assert.equal(a.engine.current("a@x")!.note, "heads down");
  // Restart.
  const b = setup(store, a.clock);
  await b.engine.clientPresence("a@x", "web", std(), { defaultKind: "web" });
  assert.equal(b.engine.current("a@x")!.class, "dnd");
  const writes = store.writes;
  await b.engine.clientPresence("a@x", "web", std(), { defaultKind: "web" });
  assert.equal(store.writes, writes, "no write when nothing stored changed");
  // Expiry after 24 h (the default) — the scheduler moves the state on by itself.
  b.changes.length = 0;
  await b.timers.advance(24 * 60 * MINUTE);
  assert.equal(b.engine.current("a@x")!.class, "available");
  assert.equal(b.changes.length, 1);
});

test("the last endpoint going away records the sign-out time (shown as last active while offline)", async () => {
  const { engine, store, clock, changes } = setup();
  await engine.clientPresence("a@x", "desk", std({ note: { kind: "set", text: "bye" } }), { defaultKind: "desktop" });
  await engine.clientPresence("a@x", "phone", std(), { defaultKind: "desktop" });
  assert.equal(await engine.endpointGone("a@x", "phone"), false, "one left: the same state");
  clock.advance(MINUTE);
  assert.equal(await engine.endpointGone("a@x", "desk"), true);
  const s = changes.at(-1)!.state;
  assert.equal(s.class, "offline");
  assert.equal(s.lastActive, clock.now());
  assert.equal(s.note, "bye");
  assert.equal(store.rows.get("a@x")!.lastSignOutAt, clock.now());
  engine.release("a@x");
  assert.equal(engine.current("a@x"), undefined);
  assert.equal((await engine.stateOf("a@x")).lastActive, clock.now(), "offline users are computed from storage");
  assert.equal(engine.size, 0);
});

test("automatic replies and privacy mode are stored for online and offline users", async () => {
  const { engine, store, changes } = setup();
  await engine.setPrivacyMode("off@x", true);
  assert.equal(store.rows.get("off@x")!.privacyMode, true);
  await engine.clientPresence("a@x", "desk", std(), { defaultKind: "desktop" });
  assert.equal(await engine.setOutOfOffice("a@x", { note: "Back Monday" }), true);
  assert.equal(changes.at(-1)!.state.activity, "out-of-office");
  assert.equal(changes.at(-1)!.state.oooNote, "Back Monday");
  assert.deepEqual((await engine.storedOf("a@x")).ooo, { note: "Back Monday" });
  await engine.setOutOfOffice("a@x", undefined);
  assert.equal(engine.current("a@x")!.activity, undefined);
});
