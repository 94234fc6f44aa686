// XEP-0280 Message Carbons end to end with slixmpp: one user on three resources (two with
// carbons enabled, one without) talking to a contact; sent and received copies, the private
// hint, disabling, and @xmpp/client enabling carbons and reading a copy.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { xml, type Element } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { parleyTarget, scenario, newUsers } from "./support/scenario.ts";
import { until, xmppjs } from "./support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

/** Python helpers shared by the scenarios below. */
const HELPERS = `
from interop import *
NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"

def forwarded(s, kind):
    w = s.xml.find("{%s}%s" % (NS_CARBONS, kind))
    return None if w is None else w.find("{%s}forwarded/{jabber:client}message" % NS_FORWARD)

def carbon(kind, body=None):
    def match(s):
        if s.xml.tag != q("message"):
            return False
        inner = forwarded(s, kind)
        return inner is not None and (body is None or inner.findtext(q("body")) == body)
    return match

def plain(sender, body):
    def match(s):
        return s.xml.tag == q("message") and s.xml.get("from") == sender and s.xml.findtext(q("body")) == body
    return match

def own_presence(c, full, priority=None):
    def match(s):
        if s.xml.tag != q("presence") or s.xml.get("from") != full or s.xml.get("type") is not None:
            return False
        return priority is None or s.xml.findtext(q("priority")) == str(priority)
    return match

async def three_resources(a):
    desk = C(a, "alice", "desk")
    phone = C(a, "alice", "phone")
    tablet = C(a, "alice", "tablet")
    bob = C(a, "bob", "pc")
    for c in (phone, tablet, bob):
        await c.online()
    await desk.online(presence=False)
    desk.send_presence(ppriority=5)
    # Every resource has seen every other one's presence: all are available, desk is the
    # highest-priority resource (messages to the bare JID go to it alone).
    for c in (desk, phone, tablet):
        for other in (desk, phone, tablet):
            await c.expect(own_presence(c, other.full, 5 if other is desk else None), f"presence of {other.full}")
    for c in (desk, phone):
        r = await c.iq("set", "<enable xmlns='urn:xmpp:carbons:2'/>")
        check(r["type"] == "result", "carbons enabled", r)
    return desk, phone, tablet, bob
`;

describe("XEP-0280 message carbons", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  const users = (...names: string[]) => newUsers(p, ...names);
  const run = async (body: string, prefix: string) => scenario(parleyTarget(p), HELPERS + body, { prefix }, { timeoutMs: 45_000 });

  test("the server advertises urn:xmpp:carbons:2; enable and disable are idempotent", async () => {
    await run(
      `
async def main(a):
    alice = C(a, "alice", "desk")
    await alice.online()
    r = await alice.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=a["domain"])
    feats = [f.get("var") for f in r.xml.iter("{http://jabber.org/protocol/disco#info}feature")]
    check("urn:xmpp:carbons:2" in feats, "carbons feature on the server", feats)
    for payload in ("<enable xmlns='urn:xmpp:carbons:2'/>", "<enable xmlns='urn:xmpp:carbons:2'/>", "<disable xmlns='urn:xmpp:carbons:2'/>", "<disable xmlns='urn:xmpp:carbons:2'/>"):
        r = await alice.iq("set", payload)
        check(r["type"] == "result", f"{payload} → result", r)
    r = await alice.iq("get", "<enable xmlns='urn:xmpp:carbons:2'/>")
    check(r["type"] == "error", "enable as a get is an error", r)
    await alice.offline()
run(main)
`,
      await users("alice"),
    );
  });

  test("sent and received copies across three resources (two enabled, one not)", async () => {
    await run(
      `
async def main(a):
    desk, phone, tablet, bob = await three_resources(a)
    alice = desk.bare

    # Sent (§8): desk → bob. phone gets a <sent/> copy; desk itself and tablet (not enabled) do not.
    desk.send_message(mto=bob.bare, mbody="s1", mtype="chat")
    await bob.expect(plain(desk.full, "s1"), "the message itself")
    c = await phone.expect(carbon("sent", "s1"), "sent copy")
    check(c.xml.get("from") == alice and c.xml.get("to") == phone.full and c.xml.get("type") == "chat", "wrapper from the bare JID to the resource, same type", c)
    inner = forwarded(c, "sent")
    check(inner.get("from") == desk.full and inner.get("to") == bob.bare, "inner message as sent", c)
    await desk.expect_none(carbon("sent"), "copy of its own message")
    await tablet.expect_none(carbon("sent"), "copy on a resource without carbons")

    # Also from a resource without carbons (§8: irrespective of the sender's state).
    tablet.send_message(mto=bob.bare, mbody="s2", mtype="chat")
    await bob.expect(plain(tablet.full, "s2"), "tablet's message")
    for c in (desk, phone):
        await c.expect(carbon("sent", "s2"), "sent copy of tablet's message")

    # Received to a full JID (§7): bob → alice/phone. desk gets a <received/> copy; phone
    # gets only the original; tablet nothing.
    bob.send_message(mto=phone.full, mbody="r1", mtype="chat")
    await phone.expect(plain(bob.full, "r1"), "the message itself")
    c = await desk.expect(carbon("received", "r1"), "received copy")
    check(c.xml.get("from") == alice and c.xml.get("to") == desk.full, "wrapper addresses", c)
    inner = forwarded(c, "received")
    check(inner.get("from") == bob.full and inner.get("to") == phone.full, "inner message as received", c)
    await phone.expect_none(carbon("received"), "a copy of what it got itself")
    await tablet.expect_none(message_from(bob.bare), "anything on a resource without carbons")

    # Received to the bare JID: delivered to desk (priority 5); phone gets the copy.
    bob.send_message(mto=alice, mbody="r2", mtype="chat")
    await desk.expect(plain(bob.full, "r2"), "bare-JID message on the top-priority resource")
    await phone.expect(carbon("received", "r2"), "received copy of the bare-JID message")
    await desk.expect_none(carbon("received", "r2"), "a copy on the resource that got it")

    # Normal messages with a body are copied; chat states alone (chat type) too; headlines are not.
    bob.send_message(mto=phone.full, mbody="n1", mtype="normal")
    await desk.expect(carbon("received", "n1"), "copy of a normal message with a body")
    bob.raw(f"<message to='{phone.full}' type='chat' id='cs1'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
    c = await desk.expect(carbon("received"), "copy of a chat state")
    check(forwarded(c, "received").find("{http://jabber.org/protocol/chatstates}composing") is not None, "chat state inside", c)
    bob.send_message(mto=phone.full, mbody="h1", mtype="headline")
    await phone.expect(plain(bob.full, "h1"), "the headline itself")
    await desk.expect_none(carbon("received", "h1"), "copy of a headline")

    # Disabling stops the copies for that resource only.
    r = await phone.iq("set", "<disable xmlns='urn:xmpp:carbons:2'/>")
    check(r["type"] == "result", "disabled", r)
    bob.send_message(mto=tablet.full, mbody="r3", mtype="chat")
    await tablet.expect(plain(bob.full, "r3"), "the message itself")
    await desk.expect(carbon("received", "r3"), "desk still gets copies")
    await phone.expect_none(carbon("received", "r3"), "copy after disabling")
    for c in (desk, phone, tablet, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("<private/> and <no-copy/> keep a message off the other resources, both ways", async () => {
    await run(
      `
async def main(a):
    desk, phone, tablet, bob = await three_resources(a)
    private = "<private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/>"

    desk.raw(f"<message to='{bob.bare}' type='chat' id='p1'><body>secret out</body>{private}</message>")
    m = await bob.expect(plain(desk.full, "secret out"), "the private message")
    check(m.xml.find("{urn:xmpp:carbons:2}private") is None, "the receiving server removed <private/> (§9)", m)
    await phone.expect_none(carbon("sent", "secret out"), "sent copy of a private message")

    bob.raw(f"<message to='{desk.full}' type='chat' id='p2'><body>secret in</body>{private}</message>")
    await desk.expect(plain(bob.full, "secret in"), "the private message")
    await phone.expect_none(carbon("received", "secret in"), "received copy of a private message")

    # <private/> alone (removed before delivery, still honoured) and <no-copy/> alone.
    bob.raw(f"<message to='{desk.full}' type='chat' id='p4'><body>private only</body><private xmlns='urn:xmpp:carbons:2'/></message>")
    m = await desk.expect(plain(bob.full, "private only"), "the message")
    check(m.xml.find("{urn:xmpp:carbons:2}private") is None, "<private/> removed", m)
    await phone.expect_none(carbon("received", "private only"), "received copy of a <private/> message")

    bob.raw(f"<message to='{desk.full}' type='chat' id='p3'><body>hint only</body><no-copy xmlns='urn:xmpp:hints'/></message>")
    await desk.expect(plain(bob.full, "hint only"), "the message")
    await phone.expect_none(carbon("received", "hint only"), "copy of a no-copy message")

    # A normal message afterwards is copied again.
    bob.send_message(mto=desk.full, mbody="public", mtype="chat")
    await phone.expect(carbon("received", "public"), "copy of an ordinary message")
    for c in (desk, phone, tablet, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("messages to one's own account: the other enabled resources get one copy each", async () => {
    await run(
      `
async def main(a):
    desk, phone, tablet, bob = await three_resources(a)
    desk.send_message(mto=tablet.full, mbody="note to self", mtype="chat")
    await tablet.expect(plain(desk.full, "note to self"), "the message itself")
    await phone.expect(carbon("received", "note to self"), "one copy on the other enabled resource")
    await phone.expect_none(carbon("sent", "note to self"), "a second (sent) copy")
    await desk.expect_none(carbon("received", "note to self"), "a copy on the sender")
    for c in (desk, phone, tablet, bob):
        await c.offline()
run(main)
`,
      await users("alice", "bob"),
    );
  });

  test("@xmpp/client: enable carbons and receive a <sent/> copy", async (t) => {
    const prefix = await users("alice", "bob");
    const a1 = xmppjs(p.port, prefix + "alice", "alicepw", "one");
    const a2 = xmppjs(p.port, prefix + "alice", "alicepw", "two");
    t.after(async () => {
      await a1.stop().catch(() => {});
      await a2.stop().catch(() => {});
    });
    const copies: Element[] = [];
    a2.on("stanza", (s: Element) => {
      if (s.is("message") && s.getChild("sent", "urn:xmpp:carbons:2")) copies.push(s);
    });
    await a1.start();
    await a2.start();
    await a2.iqCaller.set(xml("enable", { xmlns: "urn:xmpp:carbons:2" }));
    await a1.send(xml("message", { to: `${prefix}bob@localhost`, type: "chat", id: "js1" }, xml("body", {}, "from xmpp.js")));
    await until(() => copies.length > 0, 5000, "a sent carbon on the second resource");
    const inner = copies[0].getChild("sent")!.getChild("forwarded", "urn:xmpp:forward:0")!.getChild("message")!;
    assert.equal(copies[0].attrs.from, `${prefix}alice@localhost`);
    assert.equal(inner.attrs.id, "js1");
    assert.equal(inner.getChildText("body"), "from xmpp.js");
  });
});
