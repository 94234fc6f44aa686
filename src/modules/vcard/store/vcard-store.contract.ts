/**
 * Behaviour every VcardStore implementation must have. Run it with a factory that returns a
 * store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { VcardStore } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.net";
const HASH = "01b87fcd030b72895ff8e88db57ec525450f000d";

function card(fn: string): string {
  return `<vCard xmlns="vcard-temp"><FN>${fn}</FN></vCard>`;
}

export function vcardStoreContract(open: () => Promise<VcardStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.equal(await store.get(ME), undefined);
    assert.equal(await store.photoHash(ME), undefined);
    assert.equal(await store.remove(ME), false);
  });

  it("sets and gets the XML, the hash and the stamp exactly", async () => {
    const store = await open();
    const at = new Date("2024-02-29T23:59:59.123Z");
    await store.set(ME, card("Juliet"), HASH, at);
    assert.deepEqual(await store.get(ME), { owner: ME, xml: card("Juliet"), photoHash: HASH, updatedAt: at });
    assert.equal(await store.photoHash(ME), HASH);
  });

  it("keeps the three photo hash states apart", async () => {
    const store = await open();
    await store.set(ME, card("a"), "");
    assert.equal(await store.photoHash(ME), "");
    assert.equal((await store.get(ME))?.photoHash, "");
    await store.set(ME, card("b"), null);
    assert.equal(await store.photoHash(ME), null);
    assert.equal((await store.get(ME))?.photoHash, null);
    await store.set(ME, card("c"), HASH);
    assert.equal(await store.photoHash(ME), HASH);
  });

  it("replaces a vCard", async () => {
    const store = await open();
    await store.set(ME, card("old"), HASH, new Date(1_000));
    const later = new Date(2_000_000);
    await store.set(ME, card("new"), "", later);
    assert.deepEqual(await store.get(ME), { owner: ME, xml: card("new"), photoHash: "", updatedAt: later });
  });

  it("keeps large and non-ASCII vCards byte for byte", async () => {
    const store = await open();
    const unicode = `<vCard xmlns="vcard-temp"><FN>Ünïcødé 日本語 😀 'q' "d" &amp; \\ \n\t\r</FN></vCard>`;
    const big = `<vCard xmlns="vcard-temp"><PHOTO><BINVAL>${"QUJD".repeat(64 * 1024)}</BINVAL></PHOTO></vCard>`;
    await store.set(ME, unicode, "");
    await store.set(OTHER, big, HASH);
    assert.equal((await store.get(ME))?.xml, unicode);
    assert.equal((await store.get(OTHER))?.xml, big);
  });

  it("keeps owners apart and removes only one", async () => {
    const store = await open();
    await store.set(ME, card("me"), HASH);
    await store.set(OTHER, card("other"), "");
    assert.equal((await store.get(ME))?.xml, card("me"));
    assert.equal((await store.get(OTHER))?.xml, card("other"));
    assert.equal(await store.remove(ME), true);
    assert.equal(await store.get(ME), undefined);
    assert.equal(await store.photoHash(ME), undefined);
    assert.equal((await store.get(OTHER))?.photoHash, "");
    assert.equal(await store.remove(ME), false);
  });

  it("owners are compared exactly (prepared JIDs)", async () => {
    const store = await open();
    await store.set(ME, card("me"), "");
    assert.equal(await store.get(ME.toUpperCase()), undefined);
  });

  it("rejects an invalid stamp and leaves nothing behind", async () => {
    const store = await open();
    await assert.rejects(store.set(ME, card("x"), "", new Date(Number.NaN)), TypeError);
    assert.equal(await store.get(ME), undefined);
  });

  it("concurrent sets leave one of the written vCards", async () => {
    const store = await open();
    const written = Array.from({ length: 20 }, (_, i) => card(`v${i}`));
    await Promise.all(written.map((xml) => store.set(ME, xml, "")));
    const got = await store.get(ME);
    assert.ok(got && written.includes(got.xml));
  });
}
