/**
 * Behaviour every RosterStore implementation must have. Run it with a factory that returns a
 * store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RosterItem, RosterStore, Subscription } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.net";

function item(jid: string, over: Partial<RosterItem> = {}): RosterItem {
  return { jid, subscription: "none", askOut: false, approved: false, groups: [], ...over };
}

export function rosterStoreContract(open: () => Promise<RosterStore>): void {
  it("starts empty at version 0", async () => {
    const store = await open();
    assert.deepEqual(await store.list(ME), { version: 0, items: [] });
    assert.equal(await store.version(ME), 0);
    assert.equal(await store.get(ME, "nurse@example.com"), undefined);
    assert.deepEqual(await store.listPendingIn(ME), []);
  });

  it("puts an item and reads it back exactly", async () => {
    const store = await open();
    const it1 = item("nurse@example.com", { name: "Nurse", subscription: "both", groups: ["Servants", "Family"] });
    const v = await store.put(ME, it1);
    assert.ok(Number.isSafeInteger(v) && v > 0);
    assert.deepEqual(await store.get(ME, "nurse@example.com"), it1);
    assert.deepEqual(await store.list(ME), { version: v, items: [it1] });
    assert.equal(await store.version(ME), v);
  });

  it("round-trips every subscription state and flag", async () => {
    const store = await open();
    const subs: Subscription[] = ["none", "to", "from", "both"];
    const items: RosterItem[] = [];
    let n = 0;
    for (const subscription of subs) {
      for (const askOut of [false, true]) {
        for (const approved of [false, true]) {
          items.push(item(`c${String(n++).padStart(2, "0")}@example.com`, { subscription, askOut, approved }));
        }
      }
    }
    for (const i of items) await store.put(ME, i);
    assert.deepEqual((await store.list(ME)).items, items); // c00…c15: already in contact order
  });

  it("keeps group order and unusual names, omits an absent or empty name", async () => {
    const store = await open();
    const groups = ["Zeta", "Ålborg", "日本", "with \"quotes\" and \\ backslash", "emoji 😀", ""];
    await store.put(ME, item("a@example.com", { groups, name: "Ünïcødé 😀 'quoted'" }));
    await store.put(ME, item("b@example.com", { name: "" }));
    await store.put(ME, item("c@example.com"));
    assert.deepEqual((await store.get(ME, "a@example.com"))?.groups, groups);
    assert.equal((await store.get(ME, "a@example.com"))?.name, "Ünïcødé 😀 'quoted'");
    const b = await store.get(ME, "b@example.com");
    assert.ok(b && !("name" in b));
    const c = await store.get(ME, "c@example.com");
    assert.ok(c && !("name" in c));
  });

  it("lists items in contact order", async () => {
    const store = await open();
    for (const jid of ["zed@x", "amy@x", "bob@y", "amy@a", "ä@x", "Z@x"]) await store.put(ME, item(jid));
    const jids = (await store.list(ME)).items.map((i) => i.jid);
    assert.deepEqual(jids, ["Z@x", "amy@a", "amy@x", "bob@y", "zed@x", "ä@x"]);
  });

  it("replaces an item on put and bumps the version by one each time", async () => {
    const store = await open();
    const v1 = await store.put(ME, item("nurse@example.com", { name: "Nurse", groups: ["A"], askOut: true }));
    const updated = item("nurse@example.com", { subscription: "to", groups: ["B", "C"], approved: true });
    const v2 = await store.put(ME, updated);
    assert.equal(v2, v1 + 1);
    assert.deepEqual(await store.get(ME, "nurse@example.com"), updated); // name removed too
    const v3 = await store.put(ME, updated); // identical put still bumps
    assert.equal(v3, v2 + 1);
    assert.equal((await store.list(ME)).items.length, 1);
  });

  it("keeps versions and items per owner", async () => {
    const store = await open();
    const a = await store.put(ME, item("x@example.com"));
    await store.put(ME, item("y@example.com"));
    const b = await store.put(OTHER, item("x@example.com", { subscription: "both" }));
    assert.equal(await store.version(ME), a + 1);
    assert.equal(await store.version(OTHER), b);
    assert.equal((await store.get(ME, "x@example.com"))?.subscription, "none");
    assert.equal((await store.get(OTHER, "x@example.com"))?.subscription, "both");
    assert.deepEqual((await store.list(OTHER)).items.map((i) => i.jid), ["x@example.com"]);
  });

  it("removes an item with a version bump; absent items leave the version alone", async () => {
    const store = await open();
    await store.put(ME, item("x@example.com"));
    const v = await store.put(ME, item("y@example.com"));
    const vr = await store.remove(ME, "x@example.com");
    assert.equal(vr, v + 1);
    assert.equal(await store.get(ME, "x@example.com"), undefined);
    assert.equal(await store.remove(ME, "x@example.com"), undefined);
    assert.equal(await store.remove(OTHER, "y@example.com"), undefined);
    assert.equal(await store.version(ME), vr);
    assert.equal(await store.version(OTHER), 0);
    assert.deepEqual((await store.list(ME)).items.map((i) => i.jid), ["y@example.com"]);
  });

  it("rejects an invalid subscription value", async () => {
    const store = await open();
    await assert.rejects(store.put(ME, item("x@example.com", { subscription: "bogus" as Subscription })));
    assert.equal(await store.get(ME, "x@example.com"), undefined);
    assert.equal(await store.version(ME), 0); // the failed put did not bump
  });

  it("gives concurrent puts distinct, consecutive versions", async () => {
    const store = await open();
    const v0 = await store.put(ME, item("first@example.com"));
    const versions = await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(ME, item(`c${i}@example.com`))));
    assert.deepEqual([...versions].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => v0 + 1 + i));
    assert.equal((await store.list(ME)).items.length, 21);
  });

  it("stores pending inbound subscription requests apart from items", async () => {
    const store = await open();
    await store.addPendingIn(ME, "a@example.com", "Hi, it's A");
    await sleep(3);
    await store.addPendingIn(ME, "b@example.com");
    await sleep(3);
    await store.addPendingIn(OTHER, "a@example.com");
    assert.deepEqual(await store.listPendingIn(ME), [{ contact: "a@example.com", status: "Hi, it's A" }, { contact: "b@example.com" }]);
    assert.deepEqual(await store.listPendingIn(OTHER), [{ contact: "a@example.com" }]);
    assert.equal(await store.version(ME), 0); // not part of the roster
    assert.deepEqual((await store.list(ME)).items, []);

    // a repeated request refreshes the status but keeps its place
    await store.addPendingIn(ME, "a@example.com", "again");
    assert.deepEqual(await store.listPendingIn(ME), [{ contact: "a@example.com", status: "again" }, { contact: "b@example.com" }]);
    await store.addPendingIn(ME, "a@example.com");
    assert.deepEqual((await store.listPendingIn(ME))[0], { contact: "a@example.com" });

    // independent of roster items
    await store.put(ME, item("b@example.com"));
    await store.remove(ME, "b@example.com");
    assert.equal((await store.listPendingIn(ME)).length, 2);

    assert.equal(await store.removePendingIn(ME, "a@example.com"), true);
    assert.equal(await store.removePendingIn(ME, "a@example.com"), false);
    assert.deepEqual(await store.listPendingIn(ME), [{ contact: "b@example.com" }]);
    assert.deepEqual(await store.listPendingIn(OTHER), [{ contact: "a@example.com" }]);
  });

  it("removeOwner drops items, requests and version, and nothing of others", async () => {
    const store = await open();
    await store.put(ME, item("x@example.com"));
    const old = await store.put(ME, item("y@example.com"));
    await store.addPendingIn(ME, "z@example.com");
    const otherV = await store.put(OTHER, item("x@example.com"));
    await store.addPendingIn(OTHER, "q@example.com");

    await store.removeOwner(ME);
    assert.deepEqual(await store.list(ME), { version: 0, items: [] });
    assert.deepEqual(await store.listPendingIn(ME), []);
    assert.equal((await store.list(OTHER)).items.length, 1);
    assert.equal(await store.version(OTHER), otherV);
    assert.equal((await store.listPendingIn(OTHER)).length, 1);
    await store.removeOwner("nobody@example.com"); // no-op

    // a re-created account must not reuse a version an old client may have cached
    await sleep(2);
    const fresh = await store.put(ME, item("x@example.com"));
    assert.ok(fresh > old, `new version ${fresh} must exceed the deleted roster's ${old}`);
  });

  it("imports many items: later duplicates win, versions bump, existing items are replaced", async () => {
    const store = await open();
    const before = await store.put("owner0@example.com", item("contact0@example.com", { name: "old" }));
    const rows: Array<{ owner: string; item: RosterItem }> = [];
    for (let o = 0; o < 25; o++) {
      for (let c = 0; c < 100; c++) {
        rows.push({
          owner: `owner${o}@example.com`,
          item: item(`contact${c}@example.com`, {
            name: `Contact ${c}`,
            subscription: (["none", "to", "from", "both"] as const)[c % 4],
            askOut: c % 3 === 0,
            approved: c % 5 === 0,
            groups: c % 2 ? ["Team", `G${c % 7}`] : [],
          }),
        });
      }
    }
    rows.push({ owner: "owner3@example.com", item: item("contact5@example.com", { name: "last wins" }) });
    assert.equal(await store.importMany(rows), 2500);

    const r0 = await store.list("owner0@example.com");
    assert.equal(r0.items.length, 100);
    assert.ok(r0.version > before);
    assert.equal((await store.get("owner0@example.com", "contact0@example.com"))?.name, "Contact 0");
    assert.deepEqual(await store.get("owner7@example.com", "contact9@example.com"), rows[7 * 100 + 9].item);
    assert.deepEqual(await store.get("owner3@example.com", "contact5@example.com"), item("contact5@example.com", { name: "last wins" }));
    for (let o = 0; o < 25; o++) assert.ok((await store.version(`owner${o}@example.com`)) > 0);

    // a further import bumps again
    const v = await store.version("owner24@example.com");
    assert.equal(await store.importMany([{ owner: "owner24@example.com", item: item("new@example.com") }]), 1);
    assert.equal(await store.version("owner24@example.com"), v + 1);
    assert.equal(await store.importMany([]), 0);
  });

  it("keeps a contact's privacy level; put replaces it, a bulk import without one keeps it", async () => {
    const store = await open();
    await store.put(ME, item(OTHER, { level: "workgroup" }));
    assert.equal((await store.get(ME, OTHER))?.level, "workgroup");
    assert.equal((await store.list(ME)).items[0].level, "workgroup");
    await store.importMany([{ owner: ME, item: item(OTHER, { name: "Romeo" }) }]);
    assert.deepEqual(await store.get(ME, OTHER), item(OTHER, { name: "Romeo", level: "workgroup" }));
    await store.importMany([{ owner: ME, item: item(OTHER, { level: "external" }) }]);
    assert.equal((await store.get(ME, OTHER))?.level, "external");
    await store.put(ME, item(OTHER));
    assert.equal((await store.get(ME, OTHER))?.level, undefined);
    assert.equal("level" in (await store.get(ME, OTHER))!, false, "no level key when none");
  });
}
