/**
 * Behaviour every EnterprisePresenceStore must have. Run it with a factory that returns a
 * store on a fresh, empty database (test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { EnterprisePresenceStore, StoredPresence } from "./types.ts";

const ME = "alice@example.com";
const OTHER = "bob@example.com";
const T = Date.parse("2025-03-03T09:00:00Z");

export function enterprisePresenceStoreContract(open: () => Promise<EnterprisePresenceStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.equal(await store.get(ME), undefined);
    assert.deepEqual(await store.held(ME), []);
    assert.equal(await store.heldCount(ME), 0);
  });

  it("stores every field and reads it back exactly", async () => {
    const store = await open();
    const full: StoredPresence = {
      manual: { mode: "dnd", customStateId: "interview", setAt: T, until: T + 3_600_000, setBy: "desk" },
      note: { text: "Heads down — ünïcødé 日本", setBy: "phone" },
      ooo: { note: "Back Monday", start: T - 1000, end: T + 86_400_000 },
      privacyMode: true,
      lastSignOutAt: T - 5000,
    };
    await store.put(ME, full);
    assert.deepEqual(await store.get(ME), full);
    assert.equal(await store.get(OTHER), undefined);
  });

  it("put replaces the row: absent fields are cleared", async () => {
    const store = await open();
    await store.put(ME, { manual: { mode: "busy", setAt: T }, note: { text: "x" }, ooo: {}, privacyMode: true, lastSignOutAt: T });
    assert.deepEqual(await store.get(ME), { manual: { mode: "busy", setAt: T }, note: { text: "x" }, ooo: {}, privacyMode: true, lastSignOutAt: T });
    await store.put(ME, { privacyMode: false });
    assert.deepEqual(await store.get(ME), { privacyMode: false });
  });

  it("holds messages in order, lists with a limit, releases only the owner's", async () => {
    const store = await open();
    const a = await store.hold(ME, "<message id='1'/>", T);
    const b = await store.hold(OTHER, "<message id='x'/>", T);
    const c = await store.hold(ME, "<message id='2'>ünï</message>", T + 1);
    assert.ok(a < b && b < c, "ids increase");
    assert.deepEqual(await store.held(ME), [
      { id: a, owner: ME, stanza: "<message id='1'/>", stamp: T },
      { id: c, owner: ME, stanza: "<message id='2'>ünï</message>", stamp: T + 1 },
    ]);
    assert.deepEqual((await store.held(ME, 1)).map((m) => m.id), [a]);
    assert.equal(await store.heldCount(ME), 2);
    assert.equal(await store.release(ME, [a, b]), 1, "bob's id is ignored");
    assert.deepEqual((await store.held(ME)).map((m) => m.id), [c]);
    assert.equal(await store.heldCount(OTHER), 1);
    assert.equal(await store.release(ME, []), 0);
  });

  it("ids are never reused after the newest is released", async () => {
    const store = await open();
    const a = await store.hold(ME, "<message/>", T);
    await store.release(ME, [a]);
    const b = await store.hold(ME, "<message/>", T);
    assert.ok(b > a);
  });

  it("removeOwner drops the row and the held messages of that owner only", async () => {
    const store = await open();
    await store.put(ME, { privacyMode: true });
    await store.put(OTHER, { privacyMode: true });
    await store.hold(ME, "<message/>", T);
    await store.hold(OTHER, "<message/>", T);
    await store.removeOwner(ME);
    assert.equal(await store.get(ME), undefined);
    assert.equal(await store.heldCount(ME), 0);
    assert.deepEqual(await store.get(OTHER), { privacyMode: true });
    assert.equal(await store.heldCount(OTHER), 1);
  });
}
