/**
 * Behaviour every OfflineStore implementation must have. Run it with a factory that returns
 * a store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { OfflineStore } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.net";

function msg(n: number | string, to = ME): string {
  return `<message xmlns="jabber:client" to="${to}" type="chat" id="m${n}"><body>hello ${n}</body></message>`;
}

export function offlineStoreContract(open: () => Promise<OfflineStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.deepEqual(await store.list(ME), []);
    assert.equal(await store.count(ME), 0);
  });

  it("pushes and lists oldest first with exact stanza and stamp", async () => {
    const store = await open();
    const stamps = [new Date("2024-02-29T23:59:59.123Z"), new Date("2020-01-01T00:00:00.000Z"), new Date(Date.now())];
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await store.push(ME, msg(i), stamps[i]));
    assert.ok(ids.every((id) => Number.isSafeInteger(id)));
    assert.ok(ids[0] < ids[1] && ids[1] < ids[2], "ids increase");
    const list = await store.list(ME);
    assert.deepEqual(
      list,
      ids.map((id, i) => ({ id, owner: ME, stanza: msg(i), stamp: stamps[i] })),
    );
    assert.ok(list[0].stamp instanceof Date);
  });

  it("keeps stanzas byte for byte, including large and non-ASCII ones", async () => {
    const store = await open();
    const unicode = `<message><body>Ünïcødé 日本語 😀 'quotes' "double" &amp; \\ \n\t\r end</body></message>`;
    const big = `<message><body>${"x".repeat(256 * 1024)}</body></message>`;
    await store.push(ME, unicode, new Date());
    await store.push(ME, big, new Date());
    const [a, b] = await store.list(ME);
    assert.equal(a.stanza, unicode);
    assert.equal(b.stanza, big);
  });

  it("limits the list", async () => {
    const store = await open();
    for (let i = 0; i < 5; i++) await store.push(ME, msg(i), new Date());
    assert.deepEqual((await store.list(ME, 2)).map((m) => m.stanza), [msg(0), msg(1)]);
    assert.deepEqual(await store.list(ME, 0), []);
    assert.equal((await store.list(ME, 100)).length, 5);
  });

  it("keeps owners apart", async () => {
    const store = await open();
    await store.push(ME, msg(1), new Date());
    await store.push(OTHER, msg(2, OTHER), new Date());
    await store.push(ME, msg(3), new Date());
    assert.deepEqual((await store.list(ME)).map((m) => m.stanza), [msg(1), msg(3)]);
    assert.deepEqual((await store.list(OTHER)).map((m) => m.owner), [OTHER]);
    assert.equal(await store.count(ME), 2);
    assert.equal(await store.count(OTHER), 1);
  });

  it("deletes only the owner's listed ids", async () => {
    const store = await open();
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await store.push(ME, msg(i), new Date()));
    const theirs = await store.push(OTHER, msg("t", OTHER), new Date());
    assert.equal(await store.delete(ME, [mine[0], mine[2], theirs, 999_999_999, mine[0]]), 2);
    assert.deepEqual((await store.list(ME)).map((m) => m.id), [mine[1], mine[3]]);
    assert.equal(await store.count(OTHER), 1); // not deleted through the wrong owner
    assert.equal(await store.delete(ME, []), 0);
    assert.equal(await store.delete(ME, [mine[0]]), 0);
  });

  it("deletes long id lists", async () => {
    const store = await open();
    const items = Array.from({ length: 1200 }, (_, i) => ({ owner: ME, stanza: msg(i), stamp: new Date() }));
    await store.pushMany(items);
    const ids = (await store.list(ME)).map((m) => m.id);
    assert.equal(await store.delete(ME, ids.slice(0, 1100)), 1100);
    assert.equal(await store.count(ME), 100);
  });

  it("never reuses ids, even after the newest message is deleted", async () => {
    const store = await open();
    await store.push(ME, msg(1), new Date());
    const last = await store.push(ME, msg(2), new Date());
    await store.delete(ME, [last]);
    const next = await store.push(ME, msg(3), new Date());
    assert.ok(next > last);
    await store.removeOwner(ME);
    assert.ok((await store.push(ME, msg(4), new Date())) > next);
  });

  it("pushMany stores in order, across batches and owners", async () => {
    const store = await open();
    const items = [];
    for (let i = 0; i < 2500; i++) items.push({ owner: i % 2 ? OTHER : ME, stanza: msg(i), stamp: new Date(1_700_000_000_000 + i) });
    await store.pushMany(items);
    await store.pushMany([]);
    const mine = await store.list(ME);
    assert.equal(mine.length, 1250);
    assert.deepEqual(
      mine.map((m) => m.stanza),
      items.filter((x) => x.owner === ME).map((x) => x.stanza),
    );
    assert.deepEqual(mine[3].stamp, new Date(1_700_000_000_006));
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i].id > mine[i - 1].id);
    assert.equal(await store.count(OTHER), 1250);
  });

  it("pushMany is atomic", async () => {
    const store = await open();
    const items = Array.from({ length: 1500 }, (_, i) => ({ owner: ME, stanza: msg(i), stamp: new Date() }));
    items[1400] = { owner: ME, stanza: null as unknown as string, stamp: new Date() }; // second batch fails
    await assert.rejects(store.pushMany(items));
    assert.equal(await store.count(ME), 0);
  });

  it("rejects an invalid stamp", async () => {
    const store = await open();
    await assert.rejects(store.push(ME, msg(1), new Date(Number.NaN)), TypeError);
    assert.equal(await store.count(ME), 0);
  });

  it("gives concurrent pushes distinct ids", async () => {
    const store = await open();
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => store.push(ME, msg(i), new Date())));
    assert.equal(new Set(ids).size, 50);
    assert.equal(await store.count(ME), 50);
  });

  it("removeOwner drops only that owner's messages", async () => {
    const store = await open();
    for (let i = 0; i < 3; i++) await store.push(ME, msg(i), new Date());
    await store.push(OTHER, msg(9, OTHER), new Date());
    await store.removeOwner(ME);
    assert.equal(await store.count(ME), 0);
    assert.deepEqual(await store.list(ME), []);
    assert.equal(await store.count(OTHER), 1);
    await store.removeOwner("nobody@example.com");
  });
}
