/**
 * Behaviour every PepStore implementation must have. Run it with a factory that returns a
 * store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { PepItem, PepNodeConfig, PepStore } from "./types.ts";

const ME = "juliet@example.com";
const OTHER = "romeo@example.net";
const GEO = "http://jabber.org/protocol/geoloc";
const TUNE = "http://jabber.org/protocol/tune";

function config(over: Partial<PepNodeConfig> = {}): PepNodeConfig {
  return {
    accessModel: "presence",
    rosterGroupsAllowed: [],
    persistItems: true,
    maxItems: 1,
    sendLastPublishedItem: "on_sub_and_presence",
    deliverNotifications: true,
    deliverPayloads: true,
    notifyRetract: true,
    notifyDelete: true,
    notificationType: "headline",
    ...over,
  };
}

let clock = Date.parse("2024-02-29T12:00:00.000Z");
function item(id: string, text = id): PepItem {
  return { id, payload: `<geoloc xmlns='${GEO}'><text>${text}</text></geoloc>`, publisher: `${ME}/balcony`, published: new Date(clock++) };
}

export function pepStoreContract(open: () => Promise<PepStore>): void {
  it("starts empty", async () => {
    const store = await open();
    assert.equal(await store.getNode(ME, GEO), undefined);
    assert.deepEqual(await store.listNodes(ME), []);
    assert.deepEqual(await store.items(ME, GEO), []);
    assert.equal(await store.lastItem(ME, GEO), undefined);
    assert.deepEqual(await store.nodesWithLast([ME, OTHER]), []);
  });

  it("creates nodes once and keeps their configuration exactly", async () => {
    const store = await open();
    const created = new Date("2023-05-06T07:08:09.123Z");
    const cfg = config({ accessModel: "roster", rosterGroupsAllowed: ["Friends", "Ünïcødé 日本"], maxItems: 256, title: "Where I am", payloadType: GEO });
    assert.equal(await store.createNode(ME, GEO, cfg, created), true);
    assert.equal(await store.createNode(ME, GEO, config({ accessModel: "open" })), false, "a second create changes nothing");
    assert.deepEqual(await store.getNode(ME, GEO), { owner: ME, node: GEO, config: cfg, created });
    assert.equal(await store.getNode(OTHER, GEO), undefined);
    assert.equal(await store.getNode(ME, TUNE), undefined);
  });

  it("lists an owner's nodes by name", async () => {
    const store = await open();
    await store.createNode(ME, TUNE, config());
    await store.createNode(ME, GEO, config());
    await store.createNode(ME, "urn:xmpp:bookmarks:1", config({ accessModel: "whitelist" }));
    await store.createNode(OTHER, "urn:xmpp:avatar:data", config());
    assert.deepEqual((await store.listNodes(ME)).map((n) => n.node), [GEO, TUNE, "urn:xmpp:bookmarks:1"]);
    assert.deepEqual((await store.listNodes(OTHER)).map((n) => n.node), ["urn:xmpp:avatar:data"]);
  });

  it("replaces a configuration", async () => {
    const store = await open();
    assert.equal(await store.setConfig(ME, GEO, config()), false, "no such node");
    await store.createNode(ME, GEO, config());
    const next = config({ accessModel: "open", maxItems: 10, deliverPayloads: false, description: "d" });
    assert.equal(await store.setConfig(ME, GEO, next), true);
    assert.deepEqual((await store.getNode(ME, GEO))?.config, next);
  });

  it("publishes items in order, with exact payloads and times", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    const a = item("a");
    const b = { ...item("b"), payload: `<geoloc xmlns='${GEO}'><text>Ünïcødé 日本語 😀 'q' "d" &amp; &lt;</text></geoloc>`, publisher: `${ME}/Ünï` };
    const c = item("c");
    for (const i of [a, b, c]) await store.publish(ME, GEO, i, 10);
    assert.deepEqual(await store.items(ME, GEO), [a, b, c]);
    assert.deepEqual(await store.lastItem(ME, GEO), c);
    assert.ok((await store.items(ME, GEO))[0].published instanceof Date);
  });

  it("re-publishing an id replaces the item and makes it the newest", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    await store.publish(ME, GEO, item("a"), 10);
    await store.publish(ME, GEO, item("b"), 10);
    const a2 = item("a", "moved");
    await store.publish(ME, GEO, a2, 10);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["b", "a"]);
    assert.deepEqual(await store.lastItem(ME, GEO), a2);
  });

  it("keeps only the newest maxItems", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config());
    await store.publish(ME, GEO, item("1"), 1);
    await store.publish(ME, GEO, item("2"), 1);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["2"]);
    for (let i = 3; i <= 7; i++) await store.publish(ME, GEO, item(String(i)), 3);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["5", "6", "7"]);
    assert.equal(await store.trim(ME, GEO, 1), 2);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["7"]);
    assert.equal(await store.trim(ME, GEO, 5), 0);
    assert.equal(await store.trim(ME, GEO, 0), 1);
    assert.deepEqual(await store.items(ME, GEO), []);
  });

  it("returns the newest max items, oldest first, and items by id in the order asked", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 100 }));
    for (let i = 0; i < 6; i++) await store.publish(ME, GEO, item("i" + i), 100);
    assert.deepEqual((await store.items(ME, GEO, { max: 2 })).map((i) => i.id), ["i4", "i5"]);
    assert.deepEqual((await store.items(ME, GEO, { max: 100 })).length, 6);
    assert.deepEqual(await store.items(ME, GEO, { max: 0 }), []);
    assert.deepEqual((await store.items(ME, GEO, { ids: ["i3", "nope", "i0", "i3"] })).map((i) => i.id), ["i3", "i0"]);
    assert.deepEqual(await store.items(ME, GEO, { ids: [] }), []);
    assert.deepEqual(await store.items(OTHER, GEO, { ids: ["i1"] }), [], "others' items are not found");
    await assert.rejects(store.items(ME, GEO, { max: -1 }), RangeError);
  });

  it("finds many ids", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 1200 }));
    for (let i = 0; i < 1200; i++) await store.publish(ME, GEO, item("n" + i), 1200);
    const ids = Array.from({ length: 1200 }, (_, i) => "n" + (1199 - i));
    assert.deepEqual((await store.items(ME, GEO, { ids })).map((i) => i.id), ids);
  });

  it("retracts one item", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    await store.createNode(OTHER, GEO, config({ maxItems: 10 }));
    await store.publish(ME, GEO, item("a"), 10);
    await store.publish(ME, GEO, item("b"), 10);
    await store.publish(OTHER, GEO, item("a"), 10);
    assert.equal(await store.retract(ME, GEO, "a"), true);
    assert.equal(await store.retract(ME, GEO, "a"), false);
    assert.equal(await store.retract(ME, TUNE, "b"), false);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["b"]);
    assert.deepEqual((await store.items(OTHER, GEO)).map((i) => i.id), ["a"]);
  });

  it("purges a node's items and keeps the node", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    await store.createNode(ME, TUNE, config());
    for (const id of ["a", "b", "c"]) await store.publish(ME, GEO, item(id), 10);
    await store.publish(ME, TUNE, item("t"), 1);
    assert.equal(await store.purge(ME, GEO), 3);
    assert.deepEqual(await store.items(ME, GEO), []);
    assert.ok(await store.getNode(ME, GEO));
    assert.equal((await store.items(ME, TUNE)).length, 1);
  });

  it("deletes a node with its items; a new node of that name starts empty", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    await store.createNode(OTHER, GEO, config());
    await store.publish(ME, GEO, item("a"), 10);
    await store.publish(OTHER, GEO, item("x"), 1);
    assert.equal(await store.deleteNode(ME, GEO), true);
    assert.equal(await store.deleteNode(ME, GEO), false);
    assert.equal(await store.getNode(ME, GEO), undefined);
    assert.deepEqual(await store.items(ME, GEO), []);
    await store.createNode(ME, GEO, config());
    assert.deepEqual(await store.items(ME, GEO), []);
    assert.equal((await store.items(OTHER, GEO)).length, 1);
  });

  it("nodesWithLast returns every node of the owners with its newest item", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 5 }));
    await store.createNode(ME, TUNE, config());
    await store.createNode(OTHER, GEO, config({ accessModel: "open" }));
    await store.createNode("nobody@example.com", GEO, config());
    await store.publish(ME, GEO, item("g1"), 5);
    const g2 = item("g2");
    await store.publish(ME, GEO, g2, 5);
    const o = item("o");
    await store.publish(OTHER, GEO, o, 1);
    const all = await store.nodesWithLast([ME, OTHER, ME]);
    assert.deepEqual(
      all.map((r) => [r.node.owner, r.node.node, r.last?.id]),
      [
        [ME, GEO, "g2"],
        [ME, TUNE, undefined],
        [OTHER, GEO, "o"],
      ],
    );
    assert.deepEqual(all[0].last, g2);
    assert.equal(all[2].node.config.accessModel, "open");
    assert.deepEqual(
      (await store.nodesWithLast([ME, OTHER], [TUNE, "urn:none"])).map((r) => [r.node.owner, r.node.node]),
      [[ME, TUNE]],
    );
    assert.deepEqual(await store.nodesWithLast([ME], []), []);
    assert.deepEqual(await store.nodesWithLast([]), []);
  });

  it("nodesWithLast handles a roster-sized batch of owners", async () => {
    const store = await open();
    const owners = Array.from({ length: 1100 }, (_, i) => `u${i}@example.com`);
    for (const o of owners.filter((_, i) => i % 100 === 7)) {
      await store.createNode(o, GEO, config());
      await store.publish(o, GEO, item("x"), 1);
    }
    const r = await store.nodesWithLast(owners, [GEO]);
    assert.equal(r.length, 11);
    assert.ok(r.every((n) => n.last?.id === "x"));
  });

  it("publish is atomic and validates its input", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 10 }));
    await store.publish(ME, GEO, item("a"), 10);
    await assert.rejects(store.publish(ME, GEO, { ...item("a"), payload: null as unknown as string }, 10));
    await assert.rejects(store.publish(ME, GEO, { ...item("b"), published: new Date(Number.NaN) }, 10), TypeError);
    await assert.rejects(store.publish(ME, GEO, item("c"), -1), RangeError);
    assert.deepEqual((await store.items(ME, GEO)).map((i) => i.id), ["a"]);
  });

  it("concurrent publishes keep the limit and lose nothing else", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config({ maxItems: 100 }));
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.publish(ME, GEO, item("c" + i), 100)));
    assert.equal((await store.items(ME, GEO)).length, 30);
  });

  it("removeOwner drops only that owner's nodes and items", async () => {
    const store = await open();
    await store.createNode(ME, GEO, config());
    await store.createNode(OTHER, GEO, config());
    await store.publish(ME, GEO, item("a"), 1);
    await store.publish(OTHER, GEO, item("b"), 1);
    await store.removeOwner(ME);
    assert.deepEqual(await store.listNodes(ME), []);
    assert.deepEqual(await store.items(ME, GEO), []);
    assert.equal((await store.items(OTHER, GEO)).length, 1);
    await store.removeOwner("nobody@example.com");
  });
}
