/**
 * Behaviour every CapsStore implementation must have. Run it with a factory that returns a
 * store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { CapsRecord, CapsStore } from "./types.ts";

function rec(ver: string, hash = "sha-1", features = ["http://jabber.org/protocol/disco#info"]): CapsRecord {
  return {
    hash,
    ver,
    identities: JSON.stringify([{ category: "client", type: "pc", name: "Ψ 0.11" }]),
    features: JSON.stringify(features),
    forms: "[]",
  };
}

export function capsStoreContract(open: () => Promise<CapsStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.equal(await store.get("sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0="), undefined);
    assert.equal(await store.count(), 0);
  });

  it("puts and gets a record exactly", async () => {
    const store = await open();
    const r = rec("QgayPKawpkPSDYmwT/WM94uAlu0=");
    await store.put(r);
    assert.deepEqual(await store.get(r.hash, r.ver), r);
    assert.equal(await store.count(), 1);
  });

  it("keys by hash function and case-sensitive ver", async () => {
    const store = await open();
    await store.put(rec("abc=", "sha-1", ["urn:one"]));
    await store.put(rec("ABC=", "sha-1", ["urn:two"]));
    await store.put(rec("abc=", "sha-256", ["urn:three"]));
    assert.equal((await store.get("sha-1", "abc="))?.features, JSON.stringify(["urn:one"]));
    assert.equal((await store.get("sha-1", "ABC="))?.features, JSON.stringify(["urn:two"]));
    assert.equal((await store.get("sha-256", "abc="))?.features, JSON.stringify(["urn:three"]));
    assert.equal(await store.get("sha-512", "abc="), undefined);
    assert.equal(await store.count(), 3);
  });

  it("keeps the first record when the same key is put again", async () => {
    const store = await open();
    await store.put(rec("v=", "sha-1", ["urn:first"]));
    await store.put(rec("v=", "sha-1", ["urn:second"]));
    assert.equal((await store.get("sha-1", "v="))?.features, JSON.stringify(["urn:first"]));
    assert.equal(await store.count(), 1);
  });

  it("concurrent puts of one key store it once", async () => {
    const store = await open();
    await Promise.all(Array.from({ length: 20 }, () => store.put(rec("same="))));
    assert.equal(await store.count(), 1);
  });

  it("keeps large feature lists", async () => {
    const store = await open();
    const features = Array.from({ length: 2000 }, (_, i) => `urn:example:feature:${i}`);
    await store.put(rec("big=", "sha-1", features));
    assert.deepEqual(JSON.parse((await store.get("sha-1", "big="))!.features), features);
  });

  it("rejects a record with a missing column", async () => {
    const store = await open();
    await assert.rejects(store.put({ ...rec("bad="), forms: undefined as unknown as string }), TypeError);
    assert.equal(await store.count(), 0);
  });
}
