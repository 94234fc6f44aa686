// Enterprise presence end to end with slixmpp (issue #5's scenario, then the details): Alice has
// a desktop and a phone signed in, a meeting in her calendar (a real ICS feed on loopback) and
// a note. Bob (Workgroup) sees "In a meeting" with the subject and reaches her on Do Not
// Disturb; Carol (Colleague, a standard client) sees "Busy — In a meeting" and the note but no
// subject; Dave (External) sees "Busy"; Eve (Blocked) sees Offline and cannot message her.
// When the desktop goes idle and the phone goes to the background, everyone sees Inactive
// and then Away on time (idle thresholds of 3 s here).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix, newUsers } from "./support/scenario.ts";
import { PresenceEvents } from "../../src/modules/presence/service.ts";

function icsStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function meetingFeed(subject: string, location: string, start: number, end: number): string {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Parley scenario//EN",
    "BEGIN:VEVENT",
    `UID:${subject.replace(/\W/g, "")}@example.com`,
    "DTSTAMP:20250101T000000Z",
    `DTSTART:${icsStamp(start)}`,
    `DTEND:${icsStamp(end)}`,
    `SUMMARY:${subject}`,
    `LOCATION:${location}`,
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");
}

const HELPERS = `
from interop import *
from presence_view import *
import time

async def roster_level(owner, contact, level):
    r = await owner.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{contact}'><privacy xmlns='{NS_P}' level='{level}'/></item></query>")
    check(r["type"] == "result", f"roster level {level} for {contact}", r)

def alice_pres(alice_bare, cls=None):
    def match(s):
        if not pres_of(alice_bare, full=False)(s):
            return False
        return cls is None or view(s).get("class") == cls
    return match

def held_notice(s):
    return s.xml.tag == q("message") and s.xml.find("{%s}held" % NS_P) is not None

def error_msg(s):
    return s.xml.tag == q("message") and s.xml.get("type") == "error"
`;

describe("enterprise presence end to end", { concurrency: true }, () => {
  let p: TestParley;
  let feeds: http.Server;
  let base: string;
  const bodies = new Map<string, string>();

  before(async () => {
    feeds = http.createServer((req, res) => {
      const body = bodies.get(req.url ?? "");
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/calendar; charset=utf-8" }).end(body);
    });
    await new Promise<void>((r) => feeds.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(feeds.address() as AddressInfo).port}`;
    p = await startParley({
      env: {
        PARLEY_CALENDAR_ENABLED: "true",
        PARLEY_CALENDAR_ALLOWED_URL_PREFIXES: `${base}/feeds/`,
        PARLEY_CALENDAR_ALLOW_PRIVATE_NETWORKS: "true",
        PARLEY_CALENDAR_TIMEOUT_SECONDS: "5",
        PARLEY_PRESENCE_IDLE_INACTIVE_AFTER_MINUTES: "0.05",
        PARLEY_PRESENCE_IDLE_AWAY_AFTER_MINUTES: "0.05",
        PARLEY_PRESENCE_CUSTOM_STATES: JSON.stringify([
          { id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice", fr: "Télétravail" } },
          { id: "interview", availability: "dnd", labels: { en: "Interviewing" } },
        ]),
      },
    });
  });
  after(async () => {
    await p?.stop();
    feeds?.closeAllConnections();
    await new Promise((r) => feeds?.close(r));
  });

  const users = (...names: string[]) => newUsers(p, ...names);
  const mutual = (prefix: string, a: string, b: string) => p.server.roster.addMutual(`${prefix}${a}@localhost`, `${prefix}${b}@localhost`);

  test("the issue's scenario: desktop + phone, meeting, note; four watchers; DND; idle → Inactive → Away on time", async () => {
    const prefix = await users("alice", "bob", "carol", "dave", "eve");
    for (const c of ["bob", "carol", "dave", "eve"]) await mutual(prefix, "alice", c);
    const now = Date.now();
    bodies.set(`/feeds/${prefix}alice.ics`, meetingFeed("Budget review", "Room 5", now - 10 * 60_000, now + 50 * 60_000));
    const changes: Array<{ cls: string; at: number }> = [];
    p.server.host.hooks.on(PresenceEvents.changed, ({ user, state }) => {
      if (user === `${prefix}alice@localhost`) changes.push({ cls: state.class, at: Date.now() });
    });
    const r = await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    desk = C(a, "alice", "desk")
    phone = C(a, "alice", "phone", plugins=("xep_0352",))
    bob, carol, dave, eve = C(a, "bob", "pc"), C(a, "carol", "pc"), C(a, "dave", "pc"), C(a, "eve", "pc")
    for c in (bob, carol, dave, eve):
        await c.online(roster=True)
    await desk.online(roster=True, presence=False)
    await phone.online(roster=True, presence=False)
    A = desk.bare
    await roster_level(desk, bob.bare, "workgroup")
    await roster_level(desk, dave.bare, "external")
    await roster_level(desk, eve.bare, "blocked")
    r = await desk.iq("set", f"<feed xmlns='{NS_CAL}' url='{a['feed']}'/>", timeout=10)
    check(r["type"] == "result", "calendar feed set", r)

    # Alice: desktop (a Parley client) with her note, and her phone.
    desk.raw(parley_presence(note="Heads down today", device={"kind": "desktop"}))
    phone.raw(parley_presence(device={"kind": "mobile"}))
    await sync(desk, phone)

    v = await latest_view(bob, desk.full, "bob: alice")
    check(v.get("class") == "busy" and v.get("activity") == "in-a-meeting", "bob (workgroup): Busy, in a meeting", v)
    check(v.get("meeting", {}).get("subject") == "Budget review" and v["meeting"].get("location") == "Room 5", "bob: with subject and place", v)
    carol.drain()
    carol.raw(f"<presence type='probe' to='{A}'/>")
    s = await carol.expect(pres_of(desk.full), "carol: alice")
    check(s["show"] == "dnd" and s["status"] == "Busy — In a meeting · Heads down today", "carol (standard client): show dnd, 'Busy — In a meeting · Heads down today'", s)
    check("meeting" not in view(s) and view(s).get("note") == "Heads down today", "carol: her note, no subject", view(s))
    v = await latest_view(dave, desk.full, "dave: alice")
    check(v["show"] == "dnd" and v["status"] == "Busy" and "activity" not in v and "note" not in v, "dave (external): Busy only", v)
    eve.raw(f"<presence type='probe' to='{A}'/>")
    await sync(eve)
    await eve.expect_none(pres_of(A, full=False, ptype=None), "eve (blocked): any available presence from alice", within=0.5)

    # Do Not Disturb: Bob reaches her, Carol's message is held (she is told), Eve is refused.
    desk.raw(parley_presence({"availability": "dnd"}, device={"kind": "desktop"}))
    v = view(await bob.expect(lambda s: alice_pres(A)(s) and view(s).get("availability") == "6900", "bob: alice on DND (urgent interruptions only)"))
    check(v.get("availability") == "6900" and v.get("activity") == "urgent-interruptions-only", "bob sees 6900 urgent interruptions only", v)
    v = view(await carol.expect(alice_pres(A, "dnd"), "carol: alice on DND"))
    check(v["show"] == "dnd" and v["status"] == "Do not disturb · Heads down today", "carol sees Do not disturb", v)
    desk.drain()
    bob.send_message(mto=A, mbody="urgent: the server is down", mtype="chat")
    await desk.expect(message_from(bob.bare, "urgent: the server is down"), "bob's message reaches alice on DND")
    carol.send_message(mto=A, mbody="lunch?", mtype="chat")
    n = await carol.expect(held_notice, "carol: told her message is held")
    check("Do Not Disturb" in n["body"], "carol: a readable notice", n)
    eve.send_message(mto=A, mbody="hello?", mtype="chat")
    e = await eve.expect(error_msg, "eve: refused")
    check(error_condition(e) == "service-unavailable", "eve: service-unavailable", e)
    await desk.expect_none(message_from(carol.bare), "carol's message while alice is on DND", within=0.5)
    desk.raw(parley_presence({"reset": "true"}, device={"kind": "desktop"}))
    await desk.expect(message_from(carol.bare, "lunch?"), "carol's message when alice leaves DND")

    # The meeting ends (the feed is removed): Available.
    r = await desk.iq("set", f"<remove xmlns='{NS_CAL}'/>")
    check(r["type"] == "result", "feed removed", r)
    await dave.expect(alice_pres(A, "available"), "dave: alice available again")
    await sync(desk, phone, bob, carol, dave)
    for c in (bob, carol, dave):
        c.drain()

    # Idle: the desktop has had no input since now, the phone goes to the background.
    desk.raw(parley_presence(device={"kind": "desktop"}, idle_since=stamp(0)))
    await sync(desk)
    t0 = time.time()
    phone.plugin["xep_0352"].send_inactive()
    await sync(phone)
    seen = {}
    for c in (bob, carol, dave):
        s = await c.expect(alice_pres(A, "available-idle"), f"{c.name}: alice Inactive", timeout=8)
        seen[c.name] = {"inactive": time.time() - t0, "inactive_view": view(s)}
    for c in (bob, carol, dave):
        s = await c.expect(alice_pres(A, "away"), f"{c.name}: alice Away", timeout=8)
        seen[c.name]["away"] = time.time() - t0
        seen[c.name]["away_view"] = view(s)
    emit("idle", seen=seen)
    for name, t in seen.items():
        check(2.5 <= t["inactive"] <= 5.0, f"{name}: Inactive after 3 s of no input", t)
        check(5.5 <= t["away"] <= 8.0, f"{name}: Away after 3 + 3 s", t)
    cv = seen[carol.name]
    check(cv["inactive_view"]["show"] == "away" and cv["inactive_view"]["status"] == "Inactive · Heads down today", "carol (standard): Inactive = away", cv)
    check(cv["away_view"]["show"] == "xa" and cv["away_view"]["status"] == "Heads down today", "carol (standard): Away = xa with the note", cv)
    check(cv["away_view"].get("last-active") is not None, "carol: last active while away", cv)
    dv = seen[dave.name]
    check(dv["inactive_view"]["status"] == "Inactive" and dv["away_view"]["status"] == "Away" and dv["away_view"]["idle"] is None, "dave: Inactive, Away, no last active", dv)
    # Input again (the phone comes back): Available at once.
    phone.plugin["xep_0352"].send_active()
    await bob.expect(alice_pres(A, "available"), "bob: alice available when the phone is used")
    for c in (desk, phone, bob, carol, dave, eve):
        await c.offline()
run(main)
`,
      { prefix, feed: `${base}/feeds/${prefix}alice.ics` },
      { timeoutMs: 90_000 },
    );
    // The server-side transitions happened once each, in order, on the shared scheduler.
    const idle = changes.filter((c) => c.cls === "available-idle" || c.cls === "away").map((c) => c.cls);
    assert.deepEqual(idle, ["available-idle", "away"], JSON.stringify(changes));
    const gap = changes.find((c) => c.cls === "away")!.at - changes.find((c) => c.cls === "available-idle")!.at;
    assert.ok(gap >= 2900 && gap <= 3600, `Away 3 s after Inactive (${gap} ms)`);
    assert.ok(r.json.some((e) => e.event === "idle"));
  });

  test("custom states: listed in the requester's language, chosen with <set custom/>, shown with their label", async () => {
    const prefix = await users("alice", "bob");
    await mutual(prefix, "alice", "bob");
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    alice, bob = C(a, "alice", "desk"), C(a, "bob", "pc")
    await bob.online(roster=True)
    await alice.online(roster=True)
    r = await alice.iq("get", f"<states xmlns='{NS_P}' xml:lang='de'/>", to=a["domain"])
    states = [(s.get("id"), s.get("class"), s.get(XML_LANG), s.text) for s in r.xml.iter("{%s}state" % NS_P)]
    check(states == [("wfh", "available", "de", "Homeoffice"), ("interview", "dnd", "en", "Interviewing")], "custom states in German (fallback English)", states)
    check(r.xml.find("{%s}states" % NS_P).get("max") == "4", "the limit is told", r)
    r = await alice.iq("get", f"<states xmlns='{NS_P}'/>", to=a["domain"])
    check([s.text for s in r.xml.iter("{%s}state" % NS_P)] == ["Working from home", "Interviewing"], "default language", r)

    alice.raw(parley_presence({"custom": "wfh"}, note="call my mobile"))
    s = await bob.expect(lambda s: pres_of(alice.full)(s) and view(s).get("custom") == "wfh", "bob: alice working from home")
    check(s["show"] == "" and s["status"] == "Working from home · call my mobile", "standard view of a custom state", s)
    # An unknown custom state, an idle number, a state in the past: presence errors with a text.
    for attrs, cond, text in ((" custom='nope'", "item-not-found", "no custom state"), (" availability='5000'", "bad-request", "idle state"),
                              (f" availability='busy' until='{stamp(-60)}'", "bad-request", "not in the future"), (" custom='wfh' availability='dnd'", "bad-request", "bound to")):
        alice.raw(f"<presence><set xmlns='{NS_P}'{attrs}/></presence>")
        e = await alice.expect(lambda s: s.xml.tag == q("presence") and s.xml.get("type") == "error", f"error for {attrs}")
        check(error_condition(e) == cond and text in (e.xml.findtext("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}text") or ""), f"{cond}: {text}", e)
    v = await latest_view(bob, alice.full, "bob: unchanged after errors")
    check(v.get("custom") == "wfh", "errors changed nothing", v)
    for c in (alice, bob):
        await c.offline()
run(main)
`,
      { prefix },
    );
  });

  test("roster levels and XEP-0191 stay consistent both ways; level changes re-send presence at the new level", async () => {
    const prefix = await users("alice", "bob");
    await mutual(prefix, "alice", "bob");
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
def push_level(jid, level):
    def match(s):
        if s.xml.tag != q("iq") or s.xml.get("type") != "set":
            return False
        for item in s.xml.iter("{jabber:iq:roster}item"):
            if item.get("jid") == jid:
                pv = item.find("{%s}privacy" % NS_P)
                return (pv.get("level") if pv is not None else None) == level
        return False
    return match

async def main(a):
    alice, bob = C(a, "alice", "desk"), C(a, "bob", "pc")
    await bob.online(roster=True)
    await alice.online(roster=True, presence=False)
    alice.raw(parley_presence(note="secret note", device={"kind": "desktop"}))
    v = view(await bob.expect(pres_of(alice.full, ptype=None), "bob: alice (colleagues)"))
    check(v.get("note") == "secret note", "colleague sees the note", v)
    # External: presence again at once, without the note.
    await roster_level(alice, bob.bare, "external")
    await alice.expect(push_level(bob.bare, "external"), "roster push with the level")
    v = view(await bob.expect(lambda s: pres_of(alice.full, ptype=None)(s) and "note" not in view(s), "bob: re-sent as external"))
    check(v["status"] == "Available", "external sees Available only", v)
    # A XEP-0191 block shows as level blocked in a roster push; bob sees alice go offline.
    r = await alice.iq("set", f"<block xmlns='urn:xmpp:blocking'><item jid='{bob.bare}'/></block>")
    check(r["type"] == "result", "block", r)
    await alice.expect(push_level(bob.bare, "blocked"), "roster push: blocked")
    await bob.expect(pres_of(alice.full, ptype="unavailable"), "bob: alice offline")
    r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>")
    check(push_level(bob.bare, "blocked")(type("S", (), {"xml": r.xml})()) or True, "roster get", r)
    levels = [i.find("{%s}privacy" % NS_P).get("level") for i in r.xml.iter("{jabber:iq:roster}item") if i.get("jid") == bob.bare]
    check(levels == ["blocked"], "roster get says blocked", levels)
    # Another level unblocks (XEP-0191 unblock push) and bob gets the presence for that level.
    r = await alice.iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>")
    await roster_level(alice, bob.bare, "workgroup")
    await alice.expect(lambda s: s.xml.tag == q("iq") and s.xml.find("{urn:xmpp:blocking}unblock") is not None, "XEP-0191 unblock push")
    await alice.expect(push_level(bob.bare, "workgroup"), "roster push: workgroup")
    v = view(await bob.expect(pres_of(alice.full, ptype=None), "bob: alice again"))
    check(v.get("note") == "secret note", "workgroup sees the note", v)
    r = await alice.iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>")
    check(list(r.xml.iter("{urn:xmpp:blocking}item")) == [], "blocklist empty", r)
    # 'default' removes the level; a bad level is refused.
    await roster_level(alice, bob.bare, "default")
    await alice.expect(push_level(bob.bare, None), "roster push without a level")
    r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob.bare}'><privacy xmlns='{NS_P}' level='boss'/></item></query>")
    check(r["type"] == "error" and error_condition(r) == "bad-request", "bad level refused", r)
    # A standard client's roster set (no <privacy/>) keeps the level.
    await roster_level(alice, bob.bare, "friends-family")
    r = await alice.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{bob.bare}' name='Bobby'/></query>")
    await alice.expect(lambda s: push_level(bob.bare, "friends-family")(s) and any(i.get("name") == "Bobby" for i in s.xml.iter("{jabber:iq:roster}item")), "rename keeps the level")
    for c in (alice, bob):
        await c.offline()
run(main)
`,
      { prefix },
    );
  });

  test("a client whose XEP-0115 identity is a phone counts as a mobile device (and WebSocket-less defaults to desktop)", async () => {
    const prefix = await users("alice", "bob");
    await mutual(prefix, "alice", "bob");
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    bob = C(a, "bob", "pc")
    await bob.online(roster=True)
    desk = C(a, "alice", "desk")
    await desk.online()
    v = view(await bob.expect(pres_of(desk.full, ptype=None), "alice/desk"))
    check("mobile" not in v, "a desktop: no mobile hint", v)
    await desk.offline()
    await bob.expect(pres_of(desk.full, ptype="unavailable"), "alice/desk gone")
    phone = C(a, "alice", "phone", plugins=("xep_0030", "xep_0115"))
    phone["xep_0030"].add_identity(category="client", itype="phone", name="Parley test phone")
    await phone.online()
    await phone["xep_0115"].update_caps()
    s = await bob.expect(lambda s: pres_of(phone.full, ptype=None)(s) and view(s).get("mobile") == "true", "alice is on her phone only: mobile", timeout=8)
    check(view(s).get("class") == "available", "available, mobile", view(s))
    await phone.offline()
    await bob.offline()
run(main)
`,
      { prefix },
      { timeoutMs: 40_000 },
    );
  });

  test("privacy mode needs the organisation's permission; settings IQ", async () => {
    const prefix = await users("alice");
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    alice = C(a, "alice", "desk")
    await alice.online()
    r = await alice.iq("get", f"<settings xmlns='{NS_P}'/>")
    st = r.xml.find("{%s}settings" % NS_P)
    check(st.get("privacy-mode") == "false" and st.get("privacy-mode-allowed") == "false", "settings", r)
    r = await alice.iq("set", f"<settings xmlns='{NS_P}' privacy-mode='true'/>")
    check(r["type"] == "error" and error_condition(r) == "not-allowed", "privacy mode not allowed here", r)
    r = await alice.iq("set", f"<settings xmlns='{NS_P}'><ooo start='{stamp(-60)}' end='{stamp(3600)}'>Back soon</ooo></settings>")
    o = r.xml.find("{%s}settings/{%s}ooo" % (NS_P, NS_P))
    check(o is not None and o.text == "Back soon", "automatic replies set", r)
    own = await alice.expect(lambda s: pres_of(alice.full, ptype=None)(s) and view(s).get("ooo") == "Back soon", "own presence with the out-of-office note")
    check(view(own).get("activity") == "out-of-office", "out of office is the activity", view(own))
    r = await alice.iq("set", f"<settings xmlns='{NS_P}'><ooo enabled='false'/></settings>")
    check(r.xml.find("{%s}settings/{%s}ooo" % (NS_P, NS_P)) is None, "automatic replies off", r)
    r = await alice.iq("set", f"<settings xmlns='{NS_P}'><ooo start='yesterday'/></settings>")
    check(error_condition(r) == "bad-request", "bad date refused", r)
    await alice.offline()
run(main)
`,
      { prefix },
    );
  });

  test("held messages are never lost: signing out on DND keeps them held until the user is back and leaves DND, in order", async () => {
    const prefix = await users("alice", "carol");
    await mutual(prefix, "alice", "carol");
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    alice, carol = C(a, "alice", "desk"), C(a, "carol", "pc")
    await carol.online(roster=True)
    await alice.online(roster=True, presence=False)
    alice.raw(parley_presence({"availability": "dnd"}, device={"kind": "desktop"}))
    await carol.expect(alice_pres(alice.bare, "dnd"), "alice on DND")
    for i in range(3):
        carol.send_message(mto=alice.bare, mbody=f"held {i}", mtype="chat")
        await carol.expect(held_notice, f"notice {i}")
    await alice.offline()
    await sync(carol)
    # Alice comes back (DND is still set: it is stored) — nothing yet; reset → in order.
    alice2 = C(a, "alice", "desk2")
    await alice2.online(roster=True, presence=False)
    alice2.raw(parley_presence(device={"kind": "desktop"}))
    own = await alice2.expect(pres_of(alice2.full, ptype=None), "own presence")
    check(view(own).get("class") == "dnd", "still on DND (the manual state is stored)", view(own))
    await alice2.expect_none(lambda s: s.xml.tag == q("message") and (s.xml.findtext(q("body")) or "").startswith("held"), "held messages while still on DND", within=1.0)
    carol.send_message(mto=alice.bare, mbody="held 3", mtype="chat")
    await carol.expect(held_notice, "notice 3")
    alice2.raw(parley_presence({"reset": "true"}, device={"kind": "desktop"}))
    got = []
    for i in range(4):
        m = await alice2.expect(lambda s: s.xml.tag == q("message") and (s.xml.findtext(q("body")) or "").startswith("held"), f"held {i}")
        got.append(m["body"])
        check(m.xml.find("{urn:xmpp:delay}delay") is not None, "with a delay stamp", m)
    check(got == ["held 0", "held 1", "held 2", "held 3"], "in order", got)
    for c in (alice2, carol):
        await c.offline()
run(main)
`,
      { prefix },
    );
  });
});

describe("Do Not Disturb policies", { concurrency: true }, () => {
  for (const policy of ["refuse", "deliver-silently"] as const) {
    test(`presence.dndPolicy: ${policy}`, async () => {
      const p = await startParley({ env: { PARLEY_PRESENCE_DND_POLICY: policy } });
      try {
        const prefix = uniquePrefix();
        await addPrefixedUsers(p, prefix, ["alice", "carol"]);
        await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}carol@localhost`);
        await scenario(
          parleyTarget(p),
          HELPERS +
            `
async def main(a):
    alice, carol = C(a, "alice", "desk"), C(a, "carol", "pc")
    await carol.online(roster=True)
    await alice.online(roster=True, presence=False)
    alice.raw(parley_presence({"availability": "dnd"}, device={"kind": "desktop"}))
    await carol.expect(alice_pres(alice.bare, "dnd"), "alice on DND")
    carol.send_message(mto=alice.bare, mbody="ping", mtype="chat")
    if a["policy"] == "refuse":
        e = await carol.expect(error_msg, "refused")
        check(error_condition(e) == "policy-violation" and e.xml.find("{jabber:client}error").get("type") == "wait", "policy-violation (wait)", e)
        check("Do Not Disturb" in (e.xml.findtext("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}text") or ""), "with a text", e)
        await alice.expect_none(message_from(carol.bare), "the refused message", within=0.5)
    else:
        m = await alice.expect(message_from(carol.bare, "ping"), "delivered")
        check(m.xml.find("{%s}silent" % NS_P) is not None, "with the no-notify hint", m)
        n = await carol.expect(lambda s: s.xml.tag == q("message") and s.xml.find("{%s}silenced" % NS_P) is not None, "carol told")
    for c in (alice, carol):
        await c.offline()
run(main)
`,
          { prefix, policy },
        );
      } finally {
        await p.stop();
      }
    });
  }
});
