// XEP-0191 Blocking Command end to end with slixmpp: blocklist get/set with pushes, both
// directions of enforcement, presence effects of block and unblock, persistence across
// sessions and offline storage, bad requests; and a PostgreSQL-backed run of the basics.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { BlockingServiceToken } from "../../src/modules/blocking/index.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";

const HELPERS = `
from interop import *
NS_BLOCKING = "urn:xmpp:blocking"

def items_of(s, el="blocklist"):
    b = s.xml.find("{%s}%s" % (NS_BLOCKING, el))
    return None if b is None else [i.get("jid") for i in b.findall("{%s}item" % NS_BLOCKING)]

def push(kind, jids):
    def match(s):
        return s.xml.tag == q("iq") and s.xml.get("type") == "set" and items_of(s, kind) == jids
    return match

def pres(c, ptype=None, show=None):
    def match(s):
        return s.xml.tag == q("presence") and s.xml.get("from") == c.full and s.xml.get("type") == ptype and (show is None or s.xml.findtext(q("show")) == show)
    return match

def error_from(jid, name="message"):
    def match(s):
        return s.xml.tag == q(name) and s.xml.get("type") == "error" and s.xml.get("from", "").split("/")[0] == jid
    return match

async def blocklist(c):
    r = await c.iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>")
    check(r["type"] == "result", "blocklist get", r)
    return items_of(r)

async def block(c, *jids):
    items = "".join(f"<item jid='{j}'/>" for j in jids)
    r = await c.iq("set", f"<block xmlns='urn:xmpp:blocking'>{items}</block>")
    check(r["type"] == "result", f"block {jids}", r)

async def unblock(c, *jids):
    items = "".join(f"<item jid='{j}'/>" for j in jids)
    r = await c.iq("set", f"<unblock xmlns='urn:xmpp:blocking'>{items}</unblock>")
    check(r["type"] == "result", f"unblock {jids or 'all'}", r)

async def settle(*clients):
    for c in clients:
        r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=c.boundjid.domain)
        check(r["type"] == "result", "ping", r)

async def online_all(a):
    desk = C(a, "alice", "desk")
    phone = C(a, "alice", "phone")
    bob = C(a, "bob", "pc")
    for c in (bob, desk, phone):
        await c.online()
    for c in (desk, phone):
        await c.expect(pres(bob), "bob's presence")
    for c in (desk, phone):
        await bob.expect(pres(c), f"presence of {c.full}")
    return desk, phone, bob
`;

describe("XEP-0191 blocking command", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  const users = async (...names: string[]) => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, names);
    if (names.includes("bob")) await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    return prefix;
  };
  const run = async (body: string, prefix: string, target = p) => scenario(parleyTarget(target), HELPERS + body, { prefix }, { timeoutMs: 45_000 });

  test("block: pushes to resources that asked for the list, both see each other go offline, enforcement both ways", async () => {
    await run(
      `
async def main(a):
    desk, phone, bob = await online_all(a)
    r = await desk.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=a["domain"])
    feats = [f.get("var") for f in r.xml.iter("{http://jabber.org/protocol/disco#info}feature")]
    check(NS_BLOCKING in feats, "urn:xmpp:blocking advertised", feats)
    check(await blocklist(desk) == [], "empty blocklist")
    check(await blocklist(phone) == [], "empty blocklist (phone asks too)")
    bob.drain(); desk.drain(); phone.drain()

    await block(desk, bob.bare)
    for c in (desk, phone):
        await c.expect(push("block", [bob.bare]), "block push")
    # §3.3: bob sees alice offline; alice's resources see bob offline.
    for c in (desk, phone):
        await bob.expect(pres(c, "unavailable"), f"unavailable from {c.full}")
        await c.expect(pres(bob, "unavailable"), "unavailable from bob")
    check(await blocklist(phone) == [bob.bare], "the list holds bob")

    # Inbound: bob's message is not delivered; bob gets service-unavailable (user looks absent).
    bob.send_message(mto=desk.bare, mbody="hello?", mtype="chat")
    e = await bob.expect(error_from(desk.bare), "error for the message to alice")
    check(error_condition(e) == "service-unavailable", "service-unavailable", e)
    bob.send_message(mto=phone.full, mbody="hello phone?", mtype="chat")
    await bob.expect(error_from(desk.bare), "error for the message to alice/phone")
    # His presence changes and IQs do not reach alice either.
    bob.send_presence(pshow="away")
    r = await bob.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=desk.full)
    check(r["type"] == "error" and error_condition(r) == "service-unavailable", "IQ to alice → service-unavailable", r)
    r = await bob.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=desk.bare)
    check(r["type"] == "error" and error_condition(r) == "service-unavailable", "IQ the server answers for alice → service-unavailable", r)
    await settle(bob)
    for c in (desk, phone):
        await c.expect_none(message_from(bob.bare), "bob's messages")
        await c.expect_none(pres(bob, None), "bob's presence")

    # Outbound: alice → bob is refused with not-acceptable + <blocked/>.
    desk.send_message(mto=bob.bare, mbody="can you hear me?", mtype="chat")
    e = await desk.expect(error_from(bob.bare), "error for the message to bob")
    check(error_condition(e) == "not-acceptable", "not-acceptable", e)
    check(e.xml.find("{jabber:client}error/{urn:xmpp:blocking:errors}blocked") is not None, "<blocked xmlns='urn:xmpp:blocking:errors'/>", e)
    r = await desk.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=bob.full)
    check(r["type"] == "error" and error_condition(r) == "not-acceptable", "IQ to bob refused", r)
    # Alice's presence changes do not reach bob.
    desk.send_presence(pshow="dnd")
    await desk.expect(pres(desk, None, "dnd"), "own presence echo")
    await bob.expect_none(message_from(desk.bare), "alice's message")
    await bob.expect_none(lambda s: s.xml.tag == q("presence") and s.xml.get("from", "").startswith(desk.bare) and s.xml.get("type") is None, "alice's presence")
    for c in (desk, phone, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("unblock: pushes, current presence both ways, messages flow again; unblock-all", async () => {
    await run(
      `
async def main(a):
    desk, phone, bob = await online_all(a)
    carol = a["prefix"] + "carol@" + a["domain"]
    await blocklist(desk)
    await block(phone, bob.bare, carol, "spam.example")
    await desk.expect(push("block", [bob.bare, carol, "spam.example"]), "block push")
    await phone.expect_none(push("block", [bob.bare, carol, "spam.example"]), "push to a resource that never asked for the list", within=0.5)
    await bob.expect(pres(desk, "unavailable"), "alice went offline for bob")
    desk.send_presence(pshow="away")  # a change while bob is blocked
    await desk.expect(pres(desk, None, "away"), "own presence echo")
    bob.drain(); desk.drain()

    await unblock(desk, bob.bare)
    await desk.expect(push("unblock", [bob.bare]), "unblock push")
    # §3.4: bob gets alice's current presence (both resources); alice probes bob.
    p = await bob.expect(pres(desk), "alice/desk's current presence")
    check(p.xml.findtext(q("show")) == "away", "the current presence, not a stale one", p)
    await bob.expect(pres(phone), "alice/phone's current presence")
    await desk.expect(pres(bob), "bob's presence again (probe answer)")
    check(await blocklist(desk) == [carol, "spam.example"], "bob gone from the list")
    bob.send_message(mto=desk.full, mbody="back", mtype="chat")
    await desk.expect(message_from(bob.bare, "back"), "messages flow again")
    desk.send_message(mto=bob.bare, mbody="yes", mtype="chat")
    await bob.expect(message_from(desk.bare, "yes"), "both ways")

    await unblock(desk)
    await desk.expect(push("unblock", []), "unblock-all push (empty <unblock/>)")
    check(await blocklist(desk) == [], "empty after unblock-all")
    for c in (desk, phone, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("the block persists across sessions and applies while the user is offline", async () => {
    await run(
      `
async def main(a):
    desk, phone, bob = await online_all(a)
    await block(desk, bob.bare)
    await desk.offline()
    await phone.offline()
    # Alice is offline: bob's message is refused, not stored for later.
    bob.send_message(mto=desk.bare, mbody="stored?", mtype="chat")
    e = await bob.expect(error_from(desk.bare), "error while alice is offline")
    check(error_condition(e) == "service-unavailable", "service-unavailable", e)
    # A subscription request from bob is dropped silently.
    bob.send_presence(pto=desk.bare, ptype="subscribe")
    await settle(bob)
    again = C(a, "alice", "tablet")
    await again.online()
    check(await blocklist(again) == [bob.bare], "the list survived the sessions")
    await again.expect_none(message_from(bob.bare), "the message from while offline", within=1.0)
    await again.expect_none(lambda s: s.xml.tag == q("presence") and s.xml.get("from", "").startswith(bob.bare), "bob's presence or request")
    await bob.expect_none(pres(again), "alice's new resource's presence")
    for c in (again, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("full-JID and domain items; bad requests", async () => {
    await run(
      `
async def main(a):
    desk = C(a, "alice", "desk")
    bob = C(a, "bob", "pc")
    bob2 = C(a, "bob", "laptop", name="bob/laptop")
    for c in (desk, bob, bob2):
        await c.online()
    await block(desk, bob.full)
    bob.send_message(mto=desk.full, mbody="from pc", mtype="chat")
    bob2.send_message(mto=desk.full, mbody="from laptop", mtype="chat")
    await desk.expect(message_from(bob.bare, "from laptop"), "the other resource gets through")
    await bob.expect(error_from(desk.bare), "the blocked resource is refused")
    await unblock(desk, bob.full)
    await block(desk, a["domain"] + "/laptop")
    bob2.send_message(mto=desk.full, mbody="laptop again", mtype="chat")
    await bob2.expect(error_from(desk.bare), "domain/resource item matches bob/laptop")
    await unblock(desk)

    for payload, cond in (
        ("<block xmlns='urn:xmpp:blocking'/>", "bad-request"),
        ("<block xmlns='urn:xmpp:blocking'><item/></block>", "bad-request"),
        ("<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>", "jid-malformed"),
        (f"<block xmlns='urn:xmpp:blocking'><item jid='{desk.bare}'/></block>", "not-acceptable"),
    ):
        r = await desk.iq("set", payload)
        check(r["type"] == "error" and error_condition(r) == cond, f"{payload} → {cond}", r)
    r = await desk.iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>", to=bob.bare)
    check(r["type"] == "error", "another account's blocklist is not readable", r)
    check(await blocklist(desk) == [], "nothing was blocked by the failed requests")
    for c in (desk, bob, bob2):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("slixmpp's xep_0191 plugin: get_blocked, block, unblock", async () => {
    await run(
      `
async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0191",))
    await alice.online()
    pushes = []
    alice.add_event_handler("blocked", lambda iq: pushes.append(("block", sorted(str(j) for j in iq["block"]["items"]))))
    alice.add_event_handler("unblocked", lambda iq: pushes.append(("unblock", sorted(str(j) for j in iq["unblock"]["items"]))))
    r = await alice.plugin["xep_0191"].get_blocked()
    check(set(r["blocklist"]["items"]) == set(), "empty", r)
    await alice.plugin["xep_0191"].block(["x@example.org", "example.net"])
    r = await alice.plugin["xep_0191"].get_blocked()
    check(sorted(str(j) for j in r["blocklist"]["items"]) == ["example.net", "x@example.org"], "two items", r)
    await alice.plugin["xep_0191"].unblock(["x@example.org"])
    await settle(alice)
    check(pushes == [("block", ["example.net", "x@example.org"]), ("unblock", ["x@example.org"])], "pushes seen by the plugin", pushes)
    await alice.offline()
run(main)
`,
      await users("alice"),
    );
  });

  test("BlockingService: isBlocked and block from the server side reach live sessions", async () => {
    const prefix = await users("alice", "bob");
    const svc = p.server.modules.get(BlockingServiceToken);
    const alice = `${prefix}alice@localhost`;
    assert.equal(await svc.isBlocked(alice, `${prefix}bob@localhost/x`), false);
    assert.deepEqual(await svc.block(alice, [`${prefix}bob@localhost`, "example.org"]), [`${prefix}bob@localhost`, "example.org"]);
    assert.equal(await svc.isBlocked(alice, `${prefix}bob@localhost/x`), true);
    assert.equal(await svc.isBlocked(alice, "someone@example.org"), true);
    assert.equal(await svc.isBlocked(alice, alice + "/desk"), false);
    assert.deepEqual(await svc.list(alice), [`${prefix}bob@localhost`, "example.org"]);
    assert.deepEqual(await svc.unblock(alice, ["example.org", "nope@x"]), ["example.org"]);
    await assert.rejects(svc.block(alice, ["a@b@c"]), /jid-malformed/);
    await run(
      `
async def main(a):
    desk = C(a, "alice", "desk")
    bob = C(a, "bob", "pc")
    await desk.online()
    await bob.online()
    check(await blocklist(desk) == [bob.bare], "the service's block is what the client sees")
    bob.send_message(mto=desk.bare, mbody="hi", mtype="chat")
    await bob.expect(error_from(desk.bare), "refused")
    for c in (desk, bob):
        await c.offline()
run(main)
`,
      prefix,
    );
    assert.deepEqual(await svc.unblock(alice), [`${prefix}bob@localhost`]);
  });
});

describe("XEP-0191 blocking command on PostgreSQL", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ database: "postgres" });
  });
  after(() => p?.stop());

  test("block, enforcement, unblock", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob"]);
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    desk, phone, bob = await online_all(a)
    await blocklist(desk)
    await block(desk, bob.bare)
    await desk.expect(push("block", [bob.bare]), "push")
    await bob.expect(pres(desk, "unavailable"), "alice offline for bob")
    bob.send_message(mto=desk.bare, mbody="x", mtype="chat")
    await bob.expect(error_from(desk.bare), "refused")
    await unblock(desk, bob.bare)
    await bob.expect(pres(desk), "alice back for bob")
    check(await blocklist(desk) == [], "empty")
    for c in (desk, phone, bob):
        await c.offline()
run(main)
`,
      { prefix },
      { timeoutMs: 45_000 },
    );
  });
});
