// slixmpp scenarios shared by several test files: the Parley suites, the PostgreSQL run and
// the Prosody cross-check. Each is a Python script for scenario() (see interop.py); they only
// rely on RFC behaviour, not on Parley's particular choices, so a reference server passes them.

const rosterBasics = `
from interop import *
async def main(a):
    A = C(a, "alice", "a")
    B = C(a, "alice", "b")
    N = C(a, "alice", "n", name="alice/uninterested")
    for c in (A, B, N):
        await c.online(presence=False)
    bob = a["prefix"] + "bob@" + a["domain"]
    r = await A.iq("get", "<query xmlns='jabber:iq:roster'/>")
    check(r["type"] == "result" and roster_items(r) == {}, "empty roster", r)
    await B.iq("get", "<query xmlns='jabber:iq:roster'/>")  # B is now an interested resource; N never asks
    r = await A.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}' name='Bobby'><group>Friends</group><group>Work</group></item></query>")
    check(r["type"] == "result", "roster set", r)
    want = dict(subscription="none", name="Bobby", groups=["Friends", "Work"], ask=None)
    for c in (A, B):
        push = await c.expect(is_roster_push(bob, **want), "roster push for the new item")
        check(push.xml.get("from") in (None, c.bare), "push from the account's bare JID or no one", push)
    await N.expect_none(is_roster_push(), "push to a resource that never requested the roster")
    r = await A.iq("get", "<query xmlns='jabber:iq:roster'/>")
    check(roster_items(r) == {bob: {"subscription": "none", "ask": None, "approved": None, "name": "Bobby", "groups": ["Friends", "Work"]}}, "populated roster", r)
    # Update: new name, one group.
    r = await B.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}' name='Robert'><group>Work</group></item></query>")
    check(r["type"] == "result", "roster update", r)
    for c in (A, B):
        await c.expect(is_roster_push(bob, name="Robert", groups=["Work"]), "push for the update")
    # Remove: pushed as subscription='remove'.
    r = await A.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}' subscription='remove'/></query>")
    check(r["type"] == "result", "roster remove", r)
    for c in (A, B):
        await c.expect(is_roster_push(bob, subscription="remove"), "push subscription=remove")
    r = await A.iq("get", "<query xmlns='jabber:iq:roster'/>")
    check(roster_items(r) == {}, "empty again", r)
    r = await A.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}' subscription='remove'/></query>")
    check(r["type"] == "error" and error_condition(r) == "item-not-found", "removing a missing item → item-not-found", r)
    for c in (A, B, N):
        await c.offline()
run(main)
`;

const rosterVersioning = `
from interop import *
async def main(a):
    alice = C(a, "alice", "a")
    await alice.online(presence=False, roster=True)  # an interested resource (RFC 6121 §2.1.6): it gets pushes
    check("rosterver" in alice.features, "roster versioning advertised", sorted(alice.features))
    bob = a["prefix"] + "bob@" + a["domain"]
    carol = a["prefix"] + "carol@" + a["domain"]
    await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob}'/></query>")
    await alice.expect(is_roster_push(bob), "push")
    r = await alice.iq("get", "<query xmlns='jabber:iq:roster' ver=''/>")
    v1 = roster_ver(r)
    check(v1, "a version with the full roster", r)
    check(list(roster_items(r)) == [bob], "full roster for ver=''", r)
    r = await alice.iq("get", f"<query xmlns='jabber:iq:roster' ver='{v1}'/>")
    check(r["type"] == "result" and r.xml.find(q("query", NS_ROSTER)) is None, "up to date → empty result (RFC 6121 §2.6.3)", r)
    await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{carol}' name='C'/></query>")
    push = await alice.expect(is_roster_push(carol), "push with a version")
    v2 = roster_ver(push)
    check(v2 and v2 != v1, "the push carries a new version", push)
    r = await alice.iq("get", f"<query xmlns='jabber:iq:roster' ver='{v1}'/>")
    check(r["type"] == "result", "stale version answered", r)
    if r.xml.find(q("query", NS_ROSTER)) is not None:
        check(roster_ver(r) == v2, "the new version", r)
        check(sorted(roster_items(r)) == sorted([bob, carol]), "the full roster", r)
    else:
        # RFC 6121 §2.6.3 also allows an empty result followed by pushes of the changes.
        await alice.expect(is_roster_push(carol), "the change as a push")
    r = await alice.iq("get", f"<query xmlns='jabber:iq:roster' ver='{v2}'/>")
    check(r["type"] == "result" and r.xml.find(q("query", NS_ROSTER)) is None, "up to date again → empty result", r)
    await alice.offline()
run(main)
`;

const subscriptionHandshake = `
from interop import *
async def main(a):
    alice, bob = C(a, "alice", "a"), C(a, "bob", "b")
    await alice.online(roster=True)
    await bob.online(roster=True)
    A, B = alice.bare, bob.bare
    alice.send_presence(pto=B, ptype="subscribe")
    await alice.expect(is_roster_push(B, subscription="none", ask="subscribe"), "alice: none + ask=subscribe")
    req = await bob.expect(presence_from(A, "subscribe"), "bob gets the request")
    check(req.xml.get("from") == A, "the request comes from alice's bare JID (RFC 6121 §3.1.3)", req)
    await bob.expect_none(is_roster_push(A), "no roster item for bob before he answers", within=0.5)
    bob.send_presence(pto=A, ptype="subscribed")
    await bob.expect(is_roster_push(A, subscription="from", ask=None), "bob: from")
    await alice.expect(is_roster_push(B, subscription="to", ask=None), "alice: to")
    await alice.expect(presence_from(B, "subscribed"), "alice gets subscribed")
    await alice.expect(presence_from(bob.full, None, full=True), "alice gets bob's presence after approval")
    bob.send_presence(pshow="dnd", pstatus="busy now")
    p = await alice.expect(lambda s: presence_from(B)(s) and s["status"] == "busy now", "bob's status change reaches alice")
    check(p["show"] == "dnd", "with show", p)
    alice.send_presence(pstatus="alice here")
    await bob.expect_none(presence_from(A), "bob gets no presence from alice (his subscription is only 'from')")
    for c, other, sub in ((alice, B, "to"), (bob, A, "from")):
        r = await c.iq("get", "<query xmlns='jabber:iq:roster'/>")
        item = roster_items(r).get(other, {})
        check(item.get("subscription") == sub and item.get("ask") is None, f"{c.name}'s roster: {sub}", r)
    await alice.offline()
    await bob.offline()
run(main)
`;

const subscribeOffline = `
from interop import *
async def main(a):
    alice = C(a, "alice", "a")
    await alice.online(roster=True)
    B = a["prefix"] + "bob@" + a["domain"]
    alice.send_presence(pto=B, ptype="subscribe", pstatus="please add me")
    await alice.expect(is_roster_push(B, ask="subscribe"), "alice: pending out")
    await sleep(0.3)
    bob = C(a, "bob", "b")
    await bob.online(roster=True)
    req = await bob.expect(presence_from(alice.bare, "subscribe"), "the stored request arrives after bob's initial presence")
    check(req["status"] == "please add me", "with its status text", req)
    await bob.offline()
    # Not answered yet: it comes again at the next login (RFC 6121 §3.1.3).
    bob2 = C(a, "bob", "b2")
    await bob2.online(roster=True)
    await bob2.expect(presence_from(alice.bare, "subscribe"), "the request again at the next login")
    bob2.send_presence(pto=alice.bare, ptype="subscribed")
    await alice.expect(presence_from(B, "subscribed"), "alice gets subscribed")
    await alice.expect(is_roster_push(B, subscription="to", ask=None), "alice: to")
    await bob2.offline()
    bob3 = C(a, "bob", "b3")
    await bob3.online(roster=True)
    await bob3.expect_none(presence_from(alice.bare, "subscribe"), "an answered request is not delivered again")
    await bob3.offline()
    await alice.offline()
run(main)
`;

const bareJidPriorities = `
from interop import *
async def main(a):
    high, low, alice = C(a, "bob", "high"), C(a, "bob", "low"), C(a, "alice", "a")
    for c in (high, low, alice):
        await c.online(presence=False)
    high.send_presence(ppriority=10)
    low.send_presence(ppriority=1)
    await high.expect(presence_from(low.full, None, full=True), "bob/high sees bob/low: both available")
    await low.expect(presence_from(high.full, None, full=True), "bob/low sees bob/high")
    alice.send_message(mto=high.bare, mbody="to the bare JID", mtype="chat")
    m = await high.expect(message_from(alice.full, "to the bare JID"), "the highest priority resource gets it")
    await low.expect_none(message_from(alice.full, "to the bare JID"), "the lower priority resource does not")
    alice.send_message(mto=low.full, mbody="to bob/low", mtype="chat")
    await low.expect(message_from(alice.full, "to bob/low"), "a full JID reaches that resource")
    await high.expect_none(message_from(alice.full, "to bob/low"), "and only that one", within=0.3)
    for c in (high, low, alice):
        await c.offline()
run(main)
`;

const offlineOrder = `
from interop import *
async def main(a):
    alice = C(a, "alice", "a")
    await alice.online()
    B = a["prefix"] + "bob@" + a["domain"]
    n = int(a.get("count", 20))
    for i in range(n):
        alice.send_message(mto=B, mbody=f"offline #{i:02d}", mtype="chat")
    # Ask the server something and wait for the answer: everything before it has been handled.
    await alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=a["domain"])
    await sleep(0.3)
    bob = C(a, "bob", "b")
    await bob.online(roster=True)
    got = []
    for i in range(n):
        m = await bob.expect(message_from(alice.bare), f"offline message {i}", timeout=5)
        got.append(m["body"])
        delay = m.xml.find(q("delay", NS_DELAY))
        check(delay is not None and delay.get("stamp"), f"message {i} has a XEP-0203 delay stamp", m)
        check(m.xml.get("from") == alice.full, "from alice's full JID", m)
    check(got == [f"offline #{i:02d}" for i in range(n)], "in the order sent", got)
    await bob.offline()
    bob2 = C(a, "bob", "b2")
    await bob2.online(roster=True)
    await bob2.expect_none(message_from(alice.bare), "delivered messages are not delivered again")
    await bob2.offline()
    await alice.offline()
run(main)
`;

export const SCENARIOS = {
  rosterBasics,
  rosterVersioning,
  subscriptionHandshake,
  subscribeOffline,
  bareJidPriorities,
  offlineOrder,
} as const;
