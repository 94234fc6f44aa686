// XEP-0115 Entity Capabilities end to end: slixmpp (xep_0115) annotates its presence; the
// server asks it for node#ver once, verifies the hash and caches the result (memory and the
// caps_entries table), so a second client with the same 'ver' is not asked again. A raw client
// whose disco#info does not hash to its 'ver' is not believed; one with an unknown hash
// function is asked and believed for itself only.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { CapsEvents, CapsServiceToken, type CapsService } from "../../src/modules/caps/index.ts";
import type { CapsKnownEvent } from "../../src/modules/caps/service.ts";
import { capsVer } from "../../src/modules/caps/verification.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";
import { RawClient } from "./support/raw-client.ts";

const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

const discoQuery = (e: { is(n: string): boolean; attrs: Record<string, string>; getChild(n: string, ns?: string): unknown }) =>
  e.is("iq") && e.attrs.type === "get" && e.attrs.from === "localhost" && e.getChild("query", NS_DISCO_INFO) !== undefined;

describe("XEP-0115 entity capabilities", () => {
  let p: TestParley;
  let caps: CapsService;
  const known: CapsKnownEvent[] = [];
  before(async () => {
    p = await startParley();
    caps = p.server.modules.get(CapsServiceToken);
    p.server.host.hooks.on(CapsEvents.known, (e) => void known.push(e));
  });
  after(() => p?.stop());

  const entries = async () => Number((await p.server.host.db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM caps_entries"))[0].n);

  test("slixmpp's caps are verified once and cached; the second client with the same ver is not asked", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob"]);
    const before = await entries();
    const r = await scenario(
      parleyTarget(p),
      `
from interop import *
def caps_query(a):
    def match(s):
        if s.xml.tag != q("iq") or s.xml.get("type") != "get" or s.xml.get("from") != a["domain"]:
            return False
        return s.xml.find("{http://jabber.org/protocol/disco#info}query") is not None
    return match

async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0030", "xep_0115"))
    await alice.online()
    # slixmpp computes its 'ver' and re-sends its presence with <c/> when asked to.
    await alice["xep_0115"].update_caps()
    s = await alice.expect(caps_query(a), "the server's disco#info query", timeout=8)
    node = s.xml.find("{http://jabber.org/protocol/disco#info}query").get("node")
    ver = await alice["xep_0115"].get_verstring(alice.boundjid.full)
    check(node == alice["xep_0115"].caps_node + "#" + ver, "asked for node#ver", (node, ver))
    emit("caps", ver=ver, full=alice.full)
    await sleep(1.0)
    bob = C(a, "bob", "pc", plugins=("xep_0030", "xep_0115"))
    await bob.online()
    await bob["xep_0115"].update_caps()
    check(await bob["xep_0115"].get_verstring(bob.boundjid.full) == ver, "same software, same ver")
    await bob.expect_none(caps_query(a), "a disco#info query for a 'ver' the server knows", within=2.5)
    emit("bob_done", full=bob.full)
    await alice.offline()
    await bob.offline()
run(main)
`,
      { prefix },
      { timeoutMs: 40_000 },
    );
    const ver = String(r.json.find((e) => e.event === "caps")?.ver);
    const aliceFull = String(r.json.find((e) => e.event === "caps")?.full);
    const bobFull = String(r.json.find((e) => e.event === "bob_done")?.full);
    const mine = known.filter((e) => e.ver === ver && (e.session.full === aliceFull || e.session.full === bobFull));
    assert.deepEqual(mine.map((e) => e.session.full).sort(), [aliceFull, bobFull].sort(), "both sessions' caps became known");
    for (const e of mine) {
      assert.equal(e.hash, "sha-1");
      assert.ok(e.features.has(NS_DISCO_INFO), "disco#info among the features");
      assert.ok(e.features.has("http://jabber.org/protocol/caps"));
    }
    assert.equal(await entries(), before + 1, "one cached entry");
  });

  test("the service answers for a connected client; a lying client is not believed", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["honest", "liar", "odd"]);
    const info = { identities: [{ category: "client", type: "pc", name: "Raw 1.0" }], features: [NS_DISCO_INFO, "urn:xmpp:raw:feature"], forms: [] };
    const ver = capsVer(info, "sha-1");
    const answer = (iq: { attrs: Record<string, string> }, node: string, features: string[]) =>
      `<iq type='result' id='${iq.attrs.id}' to='localhost'><query xmlns='${NS_DISCO_INFO}' node='${node}'>` +
      `<identity category='client' type='pc' name='Raw 1.0'/>${features.map((f) => `<feature var='${f}'/>`).join("")}</query></iq>`;

    const honest = await RawClient.connect(p.port);
    const liar = await RawClient.connect(p.port);
    const odd = await RawClient.connect(p.port);
    try {
      const honestFull = await honest.login(`${prefix}honest`, "honestpw", "r");
      const liarFull = await liar.login(`${prefix}liar`, "liarpw", "r");
      const oddFull = await odd.login(`${prefix}odd`, "oddpw", "r");

      honest.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:raw' ver='${ver}'/></presence>`);
      const q1 = await honest.next(discoQuery, 5000, "disco query to the honest client");
      assert.equal(q1.getChild("query", NS_DISCO_INFO)?.attrs.node, `urn:raw#${ver}`);
      honest.send(answer(q1, `urn:raw#${ver}`, info.features));

      // Claims a 'ver' but its answer hashes to something else (an extra feature).
      const fakeVer = capsVer({ ...info, features: [NS_DISCO_INFO] }, "sha-1");
      liar.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:raw' ver='${fakeVer}'/></presence>`);
      const q2 = await liar.next(discoQuery, 5000, "disco query to the lying client");
      liar.send(answer(q2, `urn:raw#${fakeVer}`, [NS_DISCO_INFO, "urn:xmpp:evil"]));

      // An unknown hash function: asked, believed for itself, never cached.
      odd.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='x-unknown' node='urn:odd' ver='whatever'/></presence>`);
      const q3 = await odd.next(discoQuery, 5000, "disco query to the odd client");
      odd.send(answer(q3, "urn:odd#whatever", [NS_DISCO_INFO, "urn:xmpp:odd"]));

      const deadline = Date.now() + 5000;
      while ((caps.features(honestFull) === undefined || caps.features(oddFull) === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual([...(caps.features(honestFull) ?? [])].sort(), [...info.features].sort());
      assert.equal(caps.hasFeature(honestFull, "urn:xmpp:raw:feature"), true);
      assert.equal(caps.hasFeature(honestFull, "urn:xmpp:evil"), false);
      assert.deepEqual(caps.identities(honestFull), info.identities);
      assert.equal(caps.hasFeature(oddFull, "urn:xmpp:odd"), true);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(caps.features(liarFull), undefined, "a 'ver' that does not verify is not believed");
      assert.equal(caps.hasFeature(liarFull, "urn:xmpp:evil"), false);
      const stored = await p.server.host.db.query<{ hash: string; ver: string }>("SELECT hash, ver FROM caps_entries WHERE ver IN ($1, $2, $3)", [ver, fakeVer, "whatever"]);
      assert.deepEqual(stored.map((r) => ({ hash: r.hash, ver: r.ver })), [{ hash: "sha-1", ver }], "only the verified entry is stored");

      // The same 'ver' again from another resource: answered from the cache, no query.
      const again = await RawClient.connect(p.port);
      try {
        const againFull = await again.login(`${prefix}honest`, "honestpw", "second");
        again.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:raw' ver='${ver}'/></presence>`);
        const deadline2 = Date.now() + 3000;
        while (caps.features(againFull) === undefined && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
        assert.equal(caps.hasFeature(againFull, "urn:xmpp:raw:feature"), true);
        await assert.rejects(again.next(discoQuery, 500, "(none expected)"));
      } finally {
        await again.close();
      }
    } finally {
      await Promise.all([honest.close(), liar.close(), odd.close()]);
    }
    // Gone with their sessions.
    assert.equal(caps.features(`${prefix}honest@localhost/r`), undefined);
  });
});
