/**
 * Behaviour every BlockingStore implementation must have. Run it with a factory that returns
 * a store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { BlockingStore } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.net";

export function blockingStoreContract(open: () => Promise<BlockingStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.deepEqual(await store.list(ME), []);
    assert.equal(await store.count(ME), 0);
    assert.deepEqual(await store.clear(ME), []);
  });

  it("adds and lists in blocking order, every JID form kept exactly", async () => {
    const store = await open();
    const jids = ["iago@shakespeare.lit", "example.org", "tybalt@capulet.lit/sword", "example.net/res", "ünïcødé@exämple.de/日本"];
    assert.deepEqual(await store.add(ME, jids.slice(0, 2)), jids.slice(0, 2));
    assert.deepEqual(await store.add(ME, jids.slice(2)), jids.slice(2));
    assert.deepEqual(await store.list(ME), jids);
    assert.equal(await store.count(ME), 5);
  });

  it("ignores JIDs already blocked and repeats, returning only new ones in input order", async () => {
    const store = await open();
    await store.add(ME, ["b@x", "d@x"]);
    assert.deepEqual(await store.add(ME, ["a@x", "b@x", "c@x", "a@x", "d@x"]), ["a@x", "c@x"]);
    assert.deepEqual(await store.list(ME), ["b@x", "d@x", "a@x", "c@x"]);
    assert.deepEqual(await store.add(ME, []), []);
    assert.deepEqual(await store.add(ME, ["b@x"]), []);
  });

  it("is case-sensitive and exact (JIDs are prepared before they reach the store)", async () => {
    const store = await open();
    assert.deepEqual(await store.add(ME, ["a@x", "A@x", "a@x/R", "a@x/r"]), ["a@x", "A@x", "a@x/R", "a@x/r"]);
    assert.deepEqual(await store.remove(ME, ["a@x/R"]), ["a@x/R"]);
    assert.deepEqual(await store.list(ME), ["a@x", "A@x", "a@x/r"]);
  });

  it("removes only what was blocked, returning it in input order", async () => {
    const store = await open();
    await store.add(ME, ["a@x", "b@x", "c@x"]);
    assert.deepEqual(await store.remove(ME, ["c@x", "nope@x", "a@x", "c@x"]), ["c@x", "a@x"]);
    assert.deepEqual(await store.list(ME), ["b@x"]);
    assert.deepEqual(await store.remove(ME, []), []);
    assert.deepEqual(await store.remove(ME, ["a@x"]), []);
  });

  it("keeps owners apart", async () => {
    const store = await open();
    await store.add(ME, ["a@x", "b@x"]);
    await store.add(OTHER, ["b@x", "c@x"]);
    assert.deepEqual(await store.remove(OTHER, ["a@x", "b@x"]), ["b@x"]);
    assert.deepEqual(await store.list(ME), ["a@x", "b@x"]);
    assert.deepEqual(await store.list(OTHER), ["c@x"]);
    assert.deepEqual(await store.clear(ME), ["a@x", "b@x"]);
    assert.deepEqual(await store.list(OTHER), ["c@x"]);
  });

  it("clear returns everything in blocking order and empties the list", async () => {
    const store = await open();
    await store.add(ME, ["z@x", "a@x"]);
    await store.add(ME, ["m@x"]);
    assert.deepEqual(await store.clear(ME), ["z@x", "a@x", "m@x"]);
    assert.deepEqual(await store.list(ME), []);
    assert.equal(await store.count(ME), 0);
    // Re-blocking after a clear works and starts a new order.
    await store.add(ME, ["a@x", "z@x"]);
    assert.deepEqual(await store.list(ME), ["a@x", "z@x"]);
  });

  it("re-blocking moves an item to the end of the order", async () => {
    const store = await open();
    await store.add(ME, ["a@x", "b@x"]);
    await store.remove(ME, ["a@x"]);
    await store.add(ME, ["a@x"]);
    assert.deepEqual(await store.list(ME), ["b@x", "a@x"]);
  });

  it("handles large batches; invalid input stores nothing", async () => {
    const store = await open();
    const many = Array.from({ length: 1234 }, (_, i) => `user${i}@example.org`);
    assert.equal((await store.add(ME, many)).length, 1234);
    assert.deepEqual(await store.list(ME), many);
    assert.equal((await store.add(ME, [...many.slice(0, 700), "new@x"])).length, 1);
    assert.deepEqual(await store.remove(ME, many.slice(100, 1100)), many.slice(100, 1100));
    assert.equal(await store.count(ME), 235);
    await assert.rejects(store.add(OTHER, [...many, ""]), TypeError);
    assert.equal(await store.count(OTHER), 0);
  });

  it("concurrent adds of the same JID store it once", async () => {
    const store = await open();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.add(ME, ["dup@x"])));
    assert.equal(results.filter((r) => r.length === 1).length, 1);
    assert.deepEqual(await store.list(ME), ["dup@x"]);
  });

  it("removeOwner drops only that owner's items", async () => {
    const store = await open();
    await store.add(ME, ["a@x"]);
    await store.add(OTHER, ["a@x"]);
    await store.removeOwner(ME);
    assert.deepEqual(await store.list(ME), []);
    assert.deepEqual(await store.list(OTHER), ["a@x"]);
    await store.removeOwner("nobody@example.com");
  });
}
