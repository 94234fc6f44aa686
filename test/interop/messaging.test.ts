// Message delivery (RFC 6121 §8.5), offline storage with XEP-0203 stamps, chat states
// (XEP-0085) and service discovery (XEP-0030), with slixmpp and @xmpp/client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { xml, type Element } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { parleyTarget, scenario, newUsers } from "./support/scenario.ts";
import { SCENARIOS } from "./support/scenarios.ts";
import { RawClient, stanzaErrorCondition } from "./support/raw-client.ts";
import { until, within, xmppjs } from "./support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

describe("messaging", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  const users = (...names: string[]) => newUsers(p, ...names);
  const run = async (script: string, prefix: string, extra: Record<string, string | number | boolean> = {}) =>
    scenario(parleyTarget(p), script, { prefix, ...extra });

  test("to the bare JID: the highest-priority resource gets it, a full JID reaches exactly that resource", async () => {
    await run(SCENARIOS.bareJidPriorities, await users("alice", "bob"));
  });

  test("to the bare JID with equal top priorities: every one of them gets it (Parley's choice, RFC 6121 §8.5.2.1.1)", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          one, two, three, alice = C(a, "bob", "one"), C(a, "bob", "two"), C(a, "bob", "three"), C(a, "alice", "a")
          for c, prio in ((one, 5), (two, 5), (three, 0)):
              await c.online(presence=False)
              c.send_presence(ppriority=prio)
          await alice.online()
          await three.expect(presence_from(two.full, None, full=True), "all three available")
          alice.send_message(mto=one.bare, mbody="tie", mtype="chat")
          await one.expect(message_from(alice.full, "tie"), "bob/one (priority 5)")
          await two.expect(message_from(alice.full, "tie"), "bob/two (priority 5)")
          await three.expect_none(message_from(alice.full, "tie"), "bob/three (priority 0)")
          for c in (one, two, three, alice):
              await c.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("a negative-priority resource gets no bare-JID messages (they go offline) but does get full-JID ones", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          neg, alice = C(a, "bob", "neg"), C(a, "alice", "a")
          await neg.online(presence=False)
          neg.send_presence(ppriority=-1)
          await neg.expect(presence_from(neg.full, None, full=True), "bob/neg is available")
          await alice.online()
          alice.send_message(mto=neg.bare, mbody="to the bare JID", mtype="chat")
          alice.send_message(mto=neg.full, mbody="to the full JID", mtype="chat")
          await neg.expect(message_from(alice.full, "to the full JID"), "full-JID message delivered")
          await neg.expect_none(message_from(alice.full, "to the bare JID"), "no bare-JID message for priority -1")
          # RFC 6121 §8.5.2.1.1: no non-negative resource = as if none were available: stored.
          pos = C(a, "bob", "pos")
          await pos.online()
          m = await pos.expect(message_from(alice.full, "to the bare JID"), "stored, delivered to the next resource with priority >= 0")
          check(m.xml.find(q("delay", NS_DELAY)) is not None, "with a delay stamp", m)
          await neg.expect_none(message_from(alice.full, "to the bare JID"), "still nothing for bob/neg", within=0.3)
          for c in (neg, pos, alice):
              await c.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("to the full JID of a resource that is gone: chat and normal are treated as sent to the bare JID", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          home, alice = C(a, "bob", "home"), C(a, "alice", "a")
          await home.online()
          await alice.online()
          alice.send_message(mto=home.bare + "/gone", mbody="chat to a gone resource", mtype="chat")
          await home.expect(message_from(alice.full, "chat to a gone resource"), "chat reaches bob/home")
          alice.send_message(mto=home.bare + "/gone", mbody="normal to a gone resource", mtype="normal")
          await home.expect(message_from(alice.full, "normal to a gone resource"), "normal reaches bob/home")
          alice.send_message(mto=home.bare + "/gone", mbody="headline to a gone resource", mtype="headline")
          await home.expect_none(message_from(alice.full, "headline to a gone resource"), "headline is not redirected (§8.5.3.2.1)", within=0.5)
          await alice.expect_none(lambda s: s.xml.get("type") == "error", "no error for any of them", within=0.1)
          for c in (home, alice):
              await c.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("to an unknown user: service-unavailable back (message to bare and full JID, IQ)", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online()
          ghost = a["prefix"] + "ghost@localhost"
          for mid, to in (("m1", ghost), ("m2", ghost + "/res")):
              alice.raw(f"<message to='{to}' id='{mid}' type='chat'><body>anyone?</body></message>")
              e = await alice.expect(lambda s: s.xml.get("id") == mid and s.xml.get("type") == "error", f"error for {to}")
              check(error_condition(e) == "service-unavailable", "service-unavailable", e)
              check(e.xml.get("from", "").split("/")[0] == ghost, "from the address it was sent to", e)
          r = await alice.iq("get", f"<query xmlns='{NS_DISCO_INFO}'/>", to=ghost + "/res")
          check(r["type"] == "error" and error_condition(r) == "service-unavailable", "IQ to an unknown user's full JID", r)
          await alice.offline()
      run(main)
      `,
      await users("alice"),
    );
  });

  test("offline storage: 20 messages delivered at next login, in order, with XEP-0203 delay stamps", async () => {
    await run(SCENARIOS.offlineOrder, await users("alice", "bob"), { count: 20 });
  });

  test("offline quota: messages beyond it bounce with service-unavailable; two resources logging in at once share the queue without duplicates", async (t) => {
    const q = await startParley({ users: [["alice", "alicepw"], ["bob", "bobpw"]], env: { PARLEY_LIMITS_OFFLINE_QUOTA: "5" } });
    t.after(() => q.stop());
    const alice = await RawClient.connect(q.port);
    t.after(() => alice.destroy());
    await alice.login("alice", "alicepw", "a");
    alice.send("<presence/>");
    for (let i = 0; i < 7; i++) alice.send(`<message to='bob@localhost' type='chat' id='m${i}'><body>n${i}</body></message>`);
    for (const id of ["m5", "m6"]) {
      const e = await alice.next((el) => el.is("message") && el.attrs.id === id && el.attrs.type === "error");
      assert.equal(stanzaErrorCondition(e), "service-unavailable", e.toString());
    }
    await alice.iq("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "sync");
    assert.equal(alice.all.filter((e) => e.attrs.type === "error").length, 2, alice.text);
    const [b1, b2] = await Promise.all([RawClient.connect(q.port), RawClient.connect(q.port)]);
    t.after(() => [b1, b2].forEach((c) => c.destroy()));
    await Promise.all([b1.login("bob", "bobpw", "one"), b2.login("bob", "bobpw", "two")]);
    b1.send("<presence/>");
    b2.send("<presence/>");
    const bodies = () => [b1, b2].flatMap((c) => c.all.filter((e) => e.is("message")).map((e) => e.getChildText("body")));
    const end = Date.now() + 5000;
    while (bodies().length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(bodies().sort(), ["n0", "n1", "n2", "n3", "n4"]);
  });

  test("chat states (XEP-0085) pass through live and are not stored offline", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          bob, alice = C(a, "bob", "b"), C(a, "alice", "a")
          await bob.online()
          await alice.online()
          B = bob.bare
          cs = NS_CHATSTATES
          alice.raw(f"<message to='{B}' type='chat' id='cs1'><composing xmlns='{cs}'/></message>")
          m = await bob.expect(lambda s: s.xml.get("id") == "cs1", "a live chat state")
          check(m.xml.find("{%s}composing" % cs) is not None, "composing passed through", m)
          await bob.offline()
          alice.raw(f"<message to='{B}' type='chat' id='cs2'><composing xmlns='{cs}'/></message>")
          alice.raw(f"<message to='{B}' type='chat' id='cs3'><paused xmlns='{cs}'/><thread>t1</thread></message>")
          alice.raw(f"<message to='{B}' type='chat' id='cs4'><body>real content</body><active xmlns='{cs}'/></message>")
          await alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=a["domain"])
          await alice.expect_none(lambda s: s.xml.get("type") == "error", "no error for a dropped chat state", within=0.3)
          bob2 = C(a, "bob", "b2")
          await bob2.online()
          m = await bob2.expect(lambda s: s.xml.get("id") == "cs4", "the message with a body was stored")
          check(m.xml.find("{%s}active" % cs) is not None, "its chat state kept with it", m)
          await bob2.expect_none(lambda s: s.xml.get("id") in ("cs2", "cs3"), "standalone chat states were not stored")
          await bob2.offline()
          await alice.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("disco#info on the server: identity server/im and the features", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online(presence=False)
          r = await alice.iq("get", f"<query xmlns='{NS_DISCO_INFO}'/>", to=a["domain"])
          check(r["type"] == "result", "disco#info result", r)
          query = r.xml.find(q("query", NS_DISCO_INFO))
          ids = [(i.get("category"), i.get("type")) for i in query.findall(q("identity", NS_DISCO_INFO))]
          check(("server", "im") in ids, "identity server/im", ids)
          features = [f.get("var") for f in query.findall(q("feature", NS_DISCO_INFO))]
          emit("features", features=features)
          for f in (NS_DISCO_INFO, "http://jabber.org/protocol/disco#items", "urn:xmpp:ping", "msgoffline"):
              check(f in features, "feature " + f, features)
          check(len(features) == len(set(features)), "no duplicates", features)
          r = await alice.iq("get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", to=a["domain"])
          check(r["type"] == "result", "disco#items result", r)
          r = await alice.iq("get", f"<query xmlns='{NS_DISCO_INFO}' node='nope'/>", to=a["domain"])
          check(r["type"] == "error" and error_condition(r) == "item-not-found", "unknown node", r)
          r = await alice.iq("get", "<query xmlns='urn:example:nothing'/>", to=a["domain"])
          check(r["type"] == "error" and error_condition(r) == "service-unavailable", "unknown IQ → service-unavailable", r)
          await alice.offline()
      run(main)
      `,
      await users("alice"),
    );
  });

  // --- @xmpp/client ---------------------------------------------------------------------------
  test("@xmpp/client: chat both ways, then offline messages with a delay stamp at the next login", async (t) => {
    const prefix = await users("alice", "bob");
    const A = `${prefix}alice@localhost`;
    const B = `${prefix}bob@localhost`;
    const alice = xmppjs(p.port, prefix + "alice", "alicepw", "js");
    const bob = xmppjs(p.port, prefix + "bob", "bobpw", "js");
    t.after(() => Promise.all([alice.stop().catch(() => {}), bob.stop().catch(() => {})]));
    const inbox = (c: typeof alice) => {
      const got: Element[] = [];
      c.on("stanza", (s: Element) => {
        if (s.is("message") && s.getChildText("body")) got.push(s);
      });
      return got;
    };
    const aliceGot = inbox(alice);
    const bobGot = inbox(bob);
    await within(Promise.all([alice.start(), bob.start()]), 15_000, "xmpp.js login");
    await alice.send(xml("presence"));
    await bob.send(xml("presence"));
    await alice.send(xml("message", { to: B, type: "chat" }, xml("body", {}, "hi bob")));
    await until(() => bobGot.length === 1, 5000, "bob gets the chat");
    assert.equal(bobGot[0].attrs.from, `${A}/js`);
    await bob.send(xml("message", { to: bobGot[0].attrs.from!, type: "chat" }, xml("body", {}, "hi alice")));
    await until(() => aliceGot.length === 1, 5000, "alice gets the reply");
    assert.equal(aliceGot[0].getChildText("body"), "hi alice");
    await bob.stop();
    for (let i = 0; i < 3; i++) await alice.send(xml("message", { to: B, type: "chat" }, xml("body", {}, `while away ${i}`)));
    await alice.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000);
    const bob2 = xmppjs(p.port, prefix + "bob", "bobpw", "js2");
    t.after(() => bob2.stop().catch(() => {}));
    const bob2Got = inbox(bob2);
    await within(bob2.start(), 15_000, "xmpp.js login");
    await bob2.send(xml("presence"));
    await until(() => bob2Got.length === 3, 5000, "three offline messages");
    assert.deepEqual(bob2Got.map((m) => m.getChildText("body")), ["while away 0", "while away 1", "while away 2"]);
    for (const m of bob2Got) {
      const delay = m.getChild("delay", "urn:xmpp:delay");
      assert.ok(delay?.attrs.stamp && !Number.isNaN(Date.parse(delay.attrs.stamp)), m.toString());
    }
    await alice.stop();
    await bob2.stop();
  });
});
