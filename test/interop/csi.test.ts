// XEP-0352 Client State Indication end to end with slixmpp (its xep_0352 plugin): an inactive
// client does not see its contacts' presence changes until it is active again, then gets only
// the latest per contact; a message with a body flushes what is held, ahead of itself.
import { after, before, describe, test } from "node:test";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";

const HELPERS = `
from interop import *

def pres_from(c, show=None):
    def match(s):
        return s.xml.tag == q("presence") and s.xml.get("from") == c.full and s.xml.get("type") is None and (show is None or s.xml.findtext(q("show")) == show)
    return match

class Log:
    """Every stanza a client receives, in arrival order (tag, from, show/body)."""
    def __init__(self, c):
        self.items = []
        c.add_filter("in", self._in)
    def _in(self, s):
        x = s.xml
        self.items.append((x.tag.split("}")[-1], x.get("from"), x.findtext(q("show")) or x.findtext(q("body")) or x.get("type")))
        return s
    def since(self, n):
        return self.items[n:]

async def setup(a):
    phone = C(a, "alice", "phone", plugins=("xep_0352",))
    bob = C(a, "bob", "pc")
    carol = C(a, "carol", "pc")
    await bob.online()
    await carol.online()
    await phone.online()
    check(phone.plugin["xep_0352"].enabled, "CSI offered as a stream feature after authentication", sorted(phone.features))
    await phone.expect(pres_from(bob), "bob's presence")
    await phone.expect(pres_from(carol), "carol's presence")
    return phone, bob, carol

async def go_inactive(c):
    c.plugin["xep_0352"].send_inactive()
    # Nonzas have no answer; an IQ after it is processed after it (XEP-0352 §6).
    r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=c.boundjid.domain)
    check(r["type"] == "result", "ping after <inactive/>", r)
    c.drain()

async def settle(*clients):
    """Waits until each client's own last presence went round (the server processed it)."""
    for c in clients:
        r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=c.boundjid.domain)
        check(r["type"] == "result", "ping", r)
`;

describe("XEP-0352 client state indication", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  const users = async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob", "carol"]);
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}carol@localhost`);
    return prefix;
  };
  const run = async (body: string, prefix: string) => scenario(parleyTarget(p), HELPERS + body, { prefix }, { timeoutMs: 40_000 });

  test("presence changes are held while inactive and only the latest per contact arrives on <active/>", async () => {
    await run(
      `
async def main(a):
    phone, bob, carol = await setup(a)
    log = Log(phone)
    await go_inactive(phone)
    n = len(log.items)
    bob.send_presence(pshow="away")
    bob.send_presence(pshow="dnd")
    bob.send_presence(pshow="xa", pstatus="latest")
    carol.send_presence(pshow="away")
    await settle(bob, carol)  # (slixmpp queues send() but writes raw() at once: keep the order)
    bob.raw(f"<message to='{phone.bare}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
    await settle(bob)
    await phone.expect_none(lambda s: s.xml.tag in (q("presence"), q("message")), "presence or chat state while inactive", within=1.5)
    check(log.since(n) == [], "nothing at all reached the inactive client", log.since(n))

    phone.plugin["xep_0352"].send_active()
    p = await phone.expect(pres_from(bob), "bob's presence after <active/>")
    check(p.xml.findtext(q("show")) == "xa" and p.xml.findtext(q("status")) == "latest", "only bob's latest presence", p)
    await phone.expect(pres_from(carol, "away"), "carol's presence after <active/>")
    await phone.expect(lambda s: s.xml.tag == q("message") and s.xml.find("{http://jabber.org/protocol/chatstates}composing") is not None, "the held chat state")
    await phone.expect_none(pres_from(bob), "a second (stale) presence from bob", within=1.0)
    got = [i for i in log.since(n) if i[0] in ("presence", "message")]
    check(got == [("presence", bob.full, "xa"), ("presence", carol.full, "away"), ("message", bob.full, "chat")], "held stanzas in order, coalesced", got)

    # Active again: presence flows at once.
    bob.send_presence(pshow="chat")
    await phone.expect(pres_from(bob, "chat"), "live presence once active", timeout=3)
    for c in (phone, bob, carol):
        await c.offline()
run(main)
`,
      await users(),
    );
  });

  test("a message with a body flushes the held presence ahead of itself", async () => {
    await run(
      `
async def main(a):
    phone, bob, carol = await setup(a)
    log = Log(phone)
    await go_inactive(phone)
    n = len(log.items)
    carol.send_presence(pshow="away")
    bob.send_presence(pshow="dnd")
    await settle(bob, carol)
    await phone.expect_none(lambda s: s.xml.tag == q("presence"), "presence while inactive", within=1.0)
    bob.send_message(mto=phone.bare, mbody="wake up", mtype="chat")
    await phone.expect(message_from(bob.bare, "wake up"), "the message")
    got = [i for i in log.since(n) if i[0] in ("presence", "message")]
    check(got == [("presence", carol.full, "away"), ("presence", bob.full, "dnd"), ("message", bob.full, "wake up")], "held presence first, then the message", got)

    # Still inactive afterwards: the next presence change is held again, a subscription
    # request (important) flushes it.
    n = len(log.items)
    phone.drain()
    bob.send_presence(pshow="away")
    await settle(bob)
    await phone.expect_none(pres_from(bob), "presence while still inactive", within=1.0)
    dave = a["prefix"] + "dave@" + a["domain"]
    r = await phone.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{dave}'/></query>")
    check(r["type"] == "result", "roster set (its result is important)", r)
    got = [i for i in log.since(n) if i[0] in ("presence", "iq")]
    check(got[:1] == [("presence", bob.full, "away")], "held presence flushed before the IQ result", got)
    for c in (phone, bob, carol):
        await c.offline()
run(main)
`,
      await users(),
    );
  });

  test("a client that disconnects while inactive loses nothing important", async () => {
    await run(
      `
async def main(a):
    phone, bob, carol = await setup(a)
    await go_inactive(phone)
    bob.send_presence(pshow="away")
    await settle(bob)
    await phone.offline()
    # The message sent while alice is offline is stored and delivered at the next login.
    bob.send_message(mto=phone.bare, mbody="while you were away", mtype="chat")
    await settle(bob)
    again = C(a, "alice", "phone2")
    await again.online()
    await again.expect(message_from(bob.bare, "while you were away"), "offline message")
    await again.expect(pres_from(bob, "away"), "bob's current presence (probe answer)")
    for c in (again, bob, carol):
        await c.offline()
run(main)
`,
      await users(),
    );
  });
});
