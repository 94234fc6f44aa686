import { test } from "node:test";
import assert from "node:assert/strict";
import { HookBus, Priority, DROP, defineHandleEvent, defineFoldEvent, defineNotifyEvent } from "./hooks.ts";

test("handle: higher priority first, equal priority in registration order, first true stops", async () => {
  const bus = new HookBus(() => {});
  const ev = defineHandleEvent<string[]>("t/handle");
  bus.on(ev, (log) => void log.push("default-1"));
  bus.on(ev, (log) => void log.push("policy"), Priority.Policy);
  bus.on(ev, (log) => {
    log.push("default-2");
    return true;
  });
  bus.on(ev, (log) => void log.push("late"), Priority.Late);
  const log: string[] = [];
  assert.equal(await bus.handle(ev, log), true);
  assert.deepEqual(log, ["policy", "default-1", "default-2"]);
});

test("handle stays synchronous when every handler is", () => {
  const bus = new HookBus(() => {});
  const ev = defineHandleEvent<number>("t/sync");
  bus.on(ev, () => true);
  assert.equal(bus.handle(ev, 1), true);
});

test("handle awaits async handlers in order", async () => {
  const bus = new HookBus(() => {});
  const ev = defineHandleEvent<string[]>("t/async");
  bus.on(ev, async (log) => {
    await new Promise((r) => setTimeout(r, 5));
    log.push("a");
  });
  bus.on(ev, (log) => {
    log.push("b");
    return true;
  });
  const log: string[] = [];
  assert.equal(await bus.handle(ev, log), true);
  assert.deepEqual(log, ["a", "b"]);
});

test("fold threads the value; DROP stops it", async () => {
  const bus = new HookBus(() => {});
  const ev = defineFoldEvent<number, { limit: number }>("t/fold");
  bus.on(ev, (v) => v + 1);
  bus.on(ev, (v, ctx) => (v > ctx.limit ? DROP : v * 10));
  assert.equal(await bus.fold(ev, 1, { limit: 5 }), 20);
  assert.equal(await bus.fold(ev, 9, { limit: 5 }), DROP);
});

test("notify isolates a failing handler and reports it", async () => {
  const errors: string[] = [];
  const bus = new HookBus((_err, event, owner) => errors.push(`${event}:${owner}`));
  const ev = defineNotifyEvent<string[]>("t/notify");
  bus.on(ev, () => {
    throw new Error("boom");
  }, 0, "bad-module");
  bus.on(ev, (log) => void log.push("still ran"));
  const log: string[] = [];
  await bus.notify(ev, log);
  assert.deepEqual(log, ["still ran"]);
  assert.deepEqual(errors, ["t/notify:bad-module"]);
});

test("removing a handler during dispatch does not disturb the running dispatch", async () => {
  const bus = new HookBus(() => {});
  const ev = defineNotifyEvent<string[]>("t/remove");
  let off = () => {};
  bus.on(ev, (log) => {
    log.push("first");
    off();
  });
  off = bus.on(ev, (log) => void log.push("second"));
  const log: string[] = [];
  await bus.notify(ev, log);
  await bus.notify(ev, log);
  assert.deepEqual(log, ["first", "second", "first"]);
});
