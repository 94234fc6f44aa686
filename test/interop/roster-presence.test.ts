// Roster (RFC 6121 §2), subscriptions (§3) and presence (§4) end to end, mostly with slixmpp
// (scripts in Python, checks inside them; see support/interop.py), plus @xmpp/client for the
// roster and raw sockets for an abrupt disconnect. Each test uses accounts of its own on one
// shared server, so the tests run concurrently.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { xml, type Element } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { RawClient } from "./support/raw-client.ts";
import { parleyTarget, scenario, newUsers } from "./support/scenario.ts";
import { SCENARIOS } from "./support/scenarios.ts";
import { until, xmppjs } from "./support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

describe("roster and presence", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  const users = (...names: string[]) => newUsers(p, ...names);
  const run = async (script: string, prefix: string, extra: Record<string, string | number | boolean> = {}) =>
    scenario(parleyTarget(p), script, { prefix, ...extra });

  // --- roster ------------------------------------------------------------------------------
  test("roster: get (empty, then populated), set with name and groups, pushes to interested resources, remove", async () => {
    await run(SCENARIOS.rosterBasics, await users("alice", "bob"));
  });

  test("roster: versioning (same ver → empty result; after a change → full roster with the new ver)", async () => {
    await run(SCENARIOS.rosterVersioning, await users("alice", "bob", "carol"));
  });

  test("roster: bad input (two items → bad-request, empty group → not-acceptable, subscription ignored)", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online(presence=False)
          bob = a["prefix"] + "bob@localhost"
          carol = a["prefix"] + "carol@localhost"
          r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}'/><item jid='{carol}'/></query>")
          check(r["type"] == "error" and error_condition(r) == "bad-request", "two items → bad-request", r)
          r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}'><group>Friends</group><group></group></item></query>")
          check(r["type"] == "error" and error_condition(r) == "not-acceptable", "empty group → not-acceptable", r)
          r = await alice.iq("set", "<query xmlns='jabber:iq:roster'><item jid='not@a@jid'/></query>")
          check(r["type"] == "error" and error_condition(r) in ("bad-request", "jid-malformed"), "invalid item JID refused", r)
          r = await alice.iq("set", "<query xmlns='jabber:iq:roster'/>")
          check(r["type"] == "error" and error_condition(r) == "bad-request", "no item → bad-request", r)
          # RFC 6121 §2.1.2.5: a client cannot set the subscription state; the server keeps its own.
          r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}' subscription='both'/></query>")
          check(r["type"] == "result", "set with subscription='both' accepted", r)
          r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>")
          check(roster_items(r).get(bob, {}).get("subscription") == "none", "subscription stays none", r)
          # A roster get/set addressed to another user is not theirs to answer for us.
          r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>", to=bob)
          check(r["type"] == "error", "roster get to another account refused", r)
          await alice.offline()
      run(main)
      `,
      await users("alice", "bob", "carol"),
    );
  });

  test("@xmpp/client: roster get, set and push", async (t) => {
    const prefix = await users("alice", "bob");
    const alice = xmppjs(p.port, prefix + "alice", "alicepw", "js");
    t.after(() => alice.stop().catch(() => {}));
    const pushes: Element[] = [];
    alice.iqCallee.set("jabber:iq:roster", "query", (ctx) => {
      pushes.push(ctx.stanza);
      return true;
    });
    await alice.start();
    const empty = await alice.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }), undefined, 5000);
    assert.deepEqual(empty.getChildren("item"), []);
    const bob = `${prefix}bob@localhost`;
    await alice.iqCaller.set(xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: bob, name: "Bob" }, xml("group", {}, "Team"))), undefined, 5000);
    await until(() => pushes.length > 0, 5000, "roster push");
    const item = pushes[0].getChild("query", "jabber:iq:roster")!.getChild("item")!;
    assert.equal(item.attrs.jid, bob);
    assert.equal(item.attrs.name, "Bob");
    assert.equal(item.attrs.subscription, "none");
    assert.equal(item.getChildText("group"), "Team");
    const full = await alice.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }), undefined, 5000);
    assert.deepEqual(full.getChildren("item").map((i) => [i.attrs.jid, i.attrs.name]), [[bob, "Bob"]]);
    await alice.stop();
  });

  test("roster: removing a contact with a mutual subscription cancels both directions (RFC 6121 §2.5.2)", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob = C(a, "alice", "a"), C(a, "bob", "b")
          await alice.online(roster=True)
          await bob.online(roster=True)
          A, B = alice.bare, bob.bare
          await bob.expect(presence_from(A, None), "bob sees alice")
          r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{B}' subscription='remove'/></query>")
          check(r["type"] == "result", "remove accepted", r)
          await alice.expect(is_roster_push(B, subscription="remove"), "alice: remove")
          await bob.expect(is_roster_push(A, subscription="none"), "bob: both → none")
          await bob.expect(presence_from(A, "unsubscribe"), "bob gets unsubscribe")
          await bob.expect(presence_from(A, "unsubscribed"), "bob gets unsubscribed")
          await bob.expect(presence_from(alice.full, "unavailable", full=True), "bob no longer sees alice")
          alice.send_presence(pstatus="gone for bob")
          await bob.expect_none(lambda s: presence_from(A)(s) and s["status"] == "gone for bob", "no more presence from alice")
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      prefix,
    );
  });

  // --- subscriptions ------------------------------------------------------------------------
  test("subscription: alice → bob handshake, roster pushes with subscription/ask, presence flows one way", async () => {
    await run(SCENARIOS.subscriptionHandshake, await users("alice", "bob"));
  });

  test("subscription: mutual (both directions) → 'both', presence flows both ways", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob = C(a, "alice", "a"), C(a, "bob", "b")
          await alice.online(roster=True)
          await bob.online(roster=True)
          A, B = alice.bare, bob.bare
          alice.send_presence(pto=B, ptype="subscribe")
          await bob.expect(presence_from(A, "subscribe"), "request alice → bob")
          bob.send_presence(pto=A, ptype="subscribed")
          await alice.expect(is_roster_push(B, subscription="to"), "alice: to")
          bob.send_presence(pto=A, ptype="subscribe")
          await bob.expect(is_roster_push(A, subscription="from", ask="subscribe"), "bob: from + ask")
          await alice.expect(presence_from(B, "subscribe"), "request bob → alice")
          alice.send_presence(pto=B, ptype="subscribed")
          await alice.expect(is_roster_push(B, subscription="both", ask=None), "alice: both")
          await bob.expect(is_roster_push(A, subscription="both", ask=None), "bob: both")
          await bob.expect(presence_from(A, None), "bob gets alice's presence on approval")
          alice.send_presence(pshow="away", pstatus="alice away")
          await bob.expect(lambda s: presence_from(A)(s) and s["status"] == "alice away", "alice's status reaches bob")
          bob.send_presence(pshow="xa", pstatus="bob gone fishing")
          await alice.expect(lambda s: presence_from(B)(s) and s["status"] == "bob gone fishing", "bob's status reaches alice")
          for c, other in ((alice, B), (bob, A)):
              r = await c.iq("get", "<query xmlns='jabber:iq:roster'/>")
              check(roster_items(r).get(other, {}).get("subscription") == "both", f"{c.name}'s roster says both", r)
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("subscription: unsubscribe and unsubscribed, both ways, with pushes and unavailable", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob = C(a, "alice", "a"), C(a, "bob", "b")
          await alice.online(roster=True)
          await bob.online(roster=True)
          A, B = alice.bare, bob.bare
          await alice.expect(presence_from(B, None), "alice sees bob (mutual)")
          await bob.expect(presence_from(A, None), "bob sees alice (mutual)")
          # alice stops following bob: unsubscribe (RFC 6121 §3.3)
          alice.send_presence(pto=B, ptype="unsubscribe")
          await alice.expect(is_roster_push(B, subscription="from"), "alice: both → from")
          await bob.expect(is_roster_push(A, subscription="to"), "bob: both → to")
          await bob.expect(presence_from(A, "unsubscribe"), "bob told of the unsubscribe")
          await alice.expect(presence_from(B, "unavailable"), "alice gets bob's unavailable (§3.3.3)")
          bob.send_presence(pstatus="after unsubscribe")
          await alice.expect_none(lambda s: presence_from(B)(s) and s["status"] == "after unsubscribe", "bob's presence after alice unsubscribed")
          # bob revokes alice's... no: alice revokes bob's subscription to her: unsubscribed (§3.2)
          alice.send_presence(pto=B, ptype="unsubscribed")
          await alice.expect(is_roster_push(B, subscription="none"), "alice: from → none")
          await bob.expect(is_roster_push(A, subscription="none"), "bob: to → none")
          await bob.expect(presence_from(A, "unsubscribed"), "bob told of the unsubscribed")
          await bob.expect(presence_from(A, "unavailable"), "bob gets alice's unavailable (§3.2.3)")
          alice.send_presence(pstatus="after unsubscribed")
          await bob.expect_none(lambda s: presence_from(A)(s) and s["status"] == "after unsubscribed", "alice's presence after revoking")
          # The other way round: bob unsubscribes then refuses, starting from a fresh mutual state.
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      prefix,
    );
    // Second half: from 'both' again, bob acts.
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob = C(a, "alice", "a2"), C(a, "bob", "b2")
          await alice.online(roster=True)
          await bob.online(roster=True)
          A, B = alice.bare, bob.bare
          bob.send_presence(pto=A, ptype="unsubscribed")
          await bob.expect(is_roster_push(A, subscription="to"), "bob: both → to")
          await alice.expect(is_roster_push(B, subscription="from"), "alice: both → from")
          await alice.expect(presence_from(B, "unsubscribed"), "alice told of the unsubscribed")
          await alice.expect(presence_from(B, "unavailable"), "alice gets bob's unavailable")
          bob.send_presence(pto=A, ptype="unsubscribe")
          await bob.expect(is_roster_push(A, subscription="none"), "bob: to → none")
          await alice.expect(is_roster_push(B, subscription="none"), "alice: from → none")
          await alice.expect(presence_from(B, "unsubscribe"), "alice told of the unsubscribe")
          await bob.expect(presence_from(A, "unavailable"), "bob gets alice's unavailable")
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      prefix,
    );
  });

  test("subscription: pre-approval (bob sends subscribed first; alice's subscribe is auto-approved)", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob = C(a, "alice", "a"), C(a, "bob", "b")
          await alice.online(roster=True)
          await bob.online(roster=True)
          A, B = alice.bare, bob.bare
          check("preapproval" in bob.features or True, "features read")
          bob.send_presence(pto=A, ptype="subscribed")
          push = await bob.expect(is_roster_push(A, subscription="none", approved="true"), "bob: pre-approved item")
          await alice.expect_none(presence_from(B, "subscribed"), "alice is not told of a pre-approval", within=0.5)
          alice.send_presence(pto=B, ptype="subscribe")
          await alice.expect(is_roster_push(B, subscription="to", ask=None), "alice: to at once")
          await alice.expect(presence_from(B, "subscribed"), "alice gets subscribed from the server")
          await alice.expect(presence_from(B, None), "alice gets bob's presence")
          await bob.expect(is_roster_push(A, subscription="from", approved=None), "bob: from, approval used up")
          await bob.expect_none(presence_from(A, "subscribe"), "bob is not asked", within=0.5)
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("subscription: a request to an offline user is delivered when they come online", async () => {
    await run(SCENARIOS.subscribeOffline, await users("alice", "bob"));
  });

  test("subscription: a request withdrawn (unsubscribe) before the offline contact saw it is not delivered", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online(roster=True)
          B = a["prefix"] + "bob@localhost"
          alice.send_presence(pto=B, ptype="subscribe")
          await alice.expect(is_roster_push(B, ask="subscribe"), "pending out")
          alice.send_presence(pto=B, ptype="unsubscribe")
          await alice.expect(is_roster_push(B, ask=None), "request withdrawn")
          await alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=a["domain"])
          bob = C(a, "bob", "b")
          await bob.online(roster=True)
          await bob.expect_none(presence_from(alice.bare, "subscribe"), "no stale request for bob")
          await bob.offline()
          await alice.offline()
      run(main)
      `,
      await users("alice", "bob"),
    );
  });

  test("subscription: subscribe to a nonexistent user → unsubscribed back", async () => {
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online(roster=True)
          ghost = a["prefix"] + "ghost@localhost"
          alice.send_presence(pto=ghost, ptype="subscribe")
          await alice.expect(presence_from(ghost, "unsubscribed"), "unsubscribed from the nonexistent contact")
          await alice.expect(is_roster_push(ghost, subscription="none", ask=None), "alice's pending request cleared")
          r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>")
          item = roster_items(r).get(ghost)
          check(item is None or (item["subscription"] == "none" and item["ask"] is None), "roster after refusal", r)
          await alice.offline()
      run(main)
      `,
      await users("alice"),
    );
  });

  // --- presence ---------------------------------------------------------------------------------
  test("presence: probes at login (alice online first; bob logs in later and sees her at once)", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          alice = C(a, "alice", "a")
          await alice.online(roster=True, presence=False)
          alice.send_presence(pshow="chat", pstatus="here first", ppriority=3)
          await alice.expect(presence_from(alice.full, None, full=True), "alice's own presence reflected")
          bob = C(a, "bob", "b")
          await bob.online(roster=True)
          p = await bob.expect(presence_from(alice.full, None, full=True), "bob gets alice's presence at login", timeout=3)
          check(p["status"] == "here first" and p["show"] == "chat" and p["priority"] == 3, "with show, status and priority", p)
          await alice.expect(presence_from(bob.full, None, full=True), "alice gets bob's initial presence")
          await alice.offline()
          await bob.offline()
      run(main)
      `,
      prefix,
    );
  });

  test("presence: status changes are broadcast to contacts and to the user's other resources", async () => {
    const prefix = await users("alice", "bob", "eve");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          a1, a2, bob, eve = C(a, "alice", "one"), C(a, "alice", "two"), C(a, "bob", "b"), C(a, "eve", "e")
          for c in (a1, a2, bob, eve):
              await c.online(roster=True)
          A = a1.bare
          await bob.expect(presence_from(a1.full, None, full=True), "bob sees alice/one")
          await bob.expect(presence_from(a2.full, None, full=True), "bob sees alice/two")
          await a2.expect(presence_from(a1.full, None, full=True), "alice/two sees alice/one")
          for show, status in (("away", "lunch"), ("dnd", "meeting"), ("xa", "holiday")):
              a1.send_presence(pshow=show, pstatus=status)
              for c in (bob, a2, a1):
                  p = await c.expect(lambda s: presence_from(a1.full, None, full=True)(s) and s["status"] == status, f"{c.name} sees {status}")
                  check(p["show"] == show, "show " + show, p)
          a1.send_presence(pstatus="back")
          await bob.expect(lambda s: presence_from(a1.full, None, full=True)(s) and s["status"] == "back", "back")
          await eve.expect_none(presence_from(A), "eve (no subscription) sees nothing of alice")
          for c in (a1, a2, bob, eve):
              await c.offline()
      run(main)
      `,
      prefix,
    );
  });

  test("presence: directed presence to a non-contact, and unavailable to them on disconnect", async () => {
    const prefix = await users("alice", "bob", "carol");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          alice, bob, carol = C(a, "alice", "a"), C(a, "bob", "b"), C(a, "carol", "c")
          for c in (alice, bob, carol):
              await c.online(roster=True)
          alice.send_presence(pto=carol.full, pstatus="hello carol")
          p = await carol.expect(presence_from(alice.full, None, full=True), "carol gets the directed presence")
          check(p["status"] == "hello carol", "directed status", p)
          alice.send_presence(pto=carol.bare, pstatus="to your bare JID")
          p = await carol.expect(lambda s: presence_from(alice.full, None, full=True)(s) and s["status"] == "to your bare JID", "directed to the bare JID")
          alice.send_presence(pstatus="broadcast only")
          await bob.expect(lambda s: presence_from(alice.full, None, full=True)(s) and s["status"] == "broadcast only", "bob gets the broadcast")
          await carol.expect_none(lambda s: presence_from(alice.bare)(s) and s["status"] == "broadcast only", "carol is not in the broadcast", within=0.5)
          await alice.offline()
          await carol.expect(presence_from(alice.full, "unavailable", full=True), "carol gets unavailable when alice leaves")
          await bob.expect(presence_from(alice.full, "unavailable", full=True), "bob gets unavailable when alice leaves")
          await bob.offline()
          await carol.offline()
      run(main)
      `,
      prefix,
    );
  });

  test("presence: an abrupt TCP drop is broadcast as unavailable (raw sockets)", async (t) => {
    const prefix = await users("alice", "bob", "carol");
    const A = `${prefix}alice@localhost`;
    const B = `${prefix}bob@localhost`;
    await p.server.roster.addMutual(A, B);
    const alice = await RawClient.connect(p.port);
    const bob = await RawClient.connect(p.port);
    const carol = await RawClient.connect(p.port);
    t.after(() => [alice, bob, carol].forEach((c) => c.destroy()));
    await alice.login(prefix + "alice", "alicepw", "laptop");
    await bob.login(prefix + "bob", "bobpw", "phone");
    await carol.login(prefix + "carol", "carolpw", "pc");
    bob.send("<presence/>");
    carol.send("<presence/>");
    alice.send("<presence><status>about to crash</status></presence>");
    alice.send(`<presence to='${prefix}carol@localhost/pc'/>`);
    await bob.next((e) => e.is("presence") && e.attrs.from === `${A}/laptop` && e.attrs.type === undefined);
    await carol.next((e) => e.is("presence") && e.attrs.from === `${A}/laptop` && e.attrs.type === undefined);
    alice.destroy(); // no </stream:stream>, no unavailable presence: the socket just goes away
    const u = await bob.next((e) => e.is("presence") && e.attrs.from === `${A}/laptop` && e.attrs.type === "unavailable", 5000, "unavailable to the contact");
    assert.ok(u.attrs.to === B || u.attrs.to === `${B}/phone`, `addressed to bob: ${u.toString()}`);
    await carol.next((e) => e.is("presence") && e.attrs.from === `${A}/laptop` && e.attrs.type === "unavailable", 5000, "unavailable to the directed-presence target");
  });

  test("presence: a probe from a non-contact gets nothing; a replaced session ends with the new one's presence", async (t) => {
    const prefix = await users("alice", "bob", "eve");
    const A = `${prefix}alice@localhost`;
    await p.server.roster.addMutual(A, `${prefix}bob@localhost`);
    const [a1, bob, eve] = await Promise.all([RawClient.connect(p.port), RawClient.connect(p.port), RawClient.connect(p.port)]);
    t.after(() => [a1, bob, eve].forEach((c) => c.destroy()));
    await Promise.all([a1.login(prefix + "alice", "alicepw", "same"), bob.login(prefix + "bob", "bobpw", "b"), eve.login(prefix + "eve", "evepw", "e")]);
    bob.send("<presence/>");
    a1.send("<presence><status>first</status></presence>");
    await bob.next((e) => e.is("presence") && e.attrs.from === `${A}/same` && e.getChildText("status") === "first");
    // eve is not subscribed: her probe must not reveal anything (RFC 6121 §4.3.2).
    eve.send(`<presence type='probe' to='${A}'/><presence type='probe' to='${A}/same'/>`);
    eve.send("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    await eve.next((e) => e.attrs.id === "sync");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(eve.all.filter((e) => e.is("presence") && e.attrs.from?.startsWith(A)).length, 0, eve.text);
    // Same resource again: the first stream gets <conflict/>; bob must end up seeing the new one.
    const a2 = await RawClient.connect(p.port);
    t.after(() => a2.destroy());
    await a2.login(prefix + "alice", "alicepw", "same");
    a2.send("<presence><status>second</status></presence>");
    assert.equal(await a1.streamError(), "conflict");
    await bob.next((e) => e.is("presence") && e.attrs.from === `${A}/same` && e.getChildText("status") === "second");
    await new Promise((r) => setTimeout(r, 300));
    const last = bob.all.filter((e) => e.is("presence") && e.attrs.from === `${A}/same`).at(-1)!;
    assert.equal(last.attrs.type, undefined, "the last word is the new session's availability: " + last.toString());
  });

  test("presence: priorities are carried, invalid ones refused, negative ones still broadcast", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await run(
      `
      from interop import *
      async def main(a):
          hi, lo, bob = C(a, "alice", "hi"), C(a, "alice", "lo"), C(a, "bob", "b")
          await bob.online(roster=True)
          await hi.online(roster=True, presence=False)
          await lo.online(roster=True, presence=False)
          hi.send_presence(ppriority=10)
          lo.send_presence(ppriority=-5)
          p1 = await bob.expect(presence_from(hi.full, None, full=True), "bob sees alice/hi")
          p2 = await bob.expect(presence_from(lo.full, None, full=True), "bob sees alice/lo (negative priority is still available)")
          check(p1["priority"] == 10 and p2["priority"] == -5, "priorities carried", (p1, p2))
          hi.raw("<presence id='badprio'><priority>200</priority></presence>")
          e = await hi.expect(lambda s: s.xml.get("id") == "badprio" and s.xml.get("type") == "error", "error for priority 200")
          check(error_condition(e) == "bad-request", "bad-request", e)
          await hi.offline()
          await lo.offline()
          await bob.offline()
      run(main)
      `,
      prefix,
    );
  });
});
