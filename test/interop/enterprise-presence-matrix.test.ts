// THE privacy matrix end to end (PRODUCT.md §2, docs/presence.md "The matrix"): one owner
// (alice) in a state that uses every attribute that travels in presence — availability,
// activity (a calendar meeting, from a real ICS feed on loopback), custom state with an end
// time, personal note, out-of-office note, last active, location, meeting subject and place,
// photo — and one slixmpp watcher per level: Everyone (a non-contact while alice is in privacy
// mode), Blocked, External, Colleagues, Workgroup, Friends & Family (levels set through the
// roster). Each watcher must receive exactly what its column allows, in <state/> and in the
// standard <show/>/<status/>; then the two IM rows (can send IM, reaches them on DND).
import { after, before, describe, test } from "node:test";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";

function icsStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const CUSTOM_STATES = [
  { id: "focus", availability: "busy", labels: { en: "Focusing", de: "Konzentriert" } },
  { id: "wfh", availability: "available", labels: { en: "Working from home", de: "Homeoffice" } },
];

const SCRIPT = `
from interop import *
from presence_view import *

LEVELS = ["everyone", "blocked", "external", "colleagues", "workgroup", "friends-family"]
# PRODUCT.md §2, the rows that reach a presence stanza (True = the level sees it).
MATRIX = {
    #                   everyone blocked external colleagues workgroup friends-family
    "availability":     [False,   False,  True,    True,      True,     True],
    "activity":         [False,   False,  False,   True,      True,     True],
    "photo":            [False,   False,  True,    True,      True,     True],
    "notes":            [False,   False,  False,   True,      True,     True],
    "meeting":          [False,   False,  False,   False,     True,     False],
    "dnd-breakthrough": [False,   False,  False,   False,     True,     False],
    "send-im":          [True,    False,  True,    True,      True,     True],
}
def sees(row, level):
    return MATRIX[row][LEVELS.index(level)]

async def roster_level(owner, contact, level):
    r = await owner.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{contact}'><privacy xmlns='{NS_P}' level='{level}'/></item></query>")
    check(r["type"] == "result", f"roster level {level} for {contact}", r)

def item_level(stanza, jid):
    query = stanza.xml.find(q("query", NS_ROSTER))
    for item in query.findall(q("item", NS_ROSTER)):
        if item.get("jid") == jid:
            p = item.find("{%s}privacy" % NS_P)
            return None if p is None else p.get("level")
    return "absent"

async def main(a):
    d = a["domain"]
    alice = C(a, "alice", "desk")
    w = {
        "everyone": C(a, "frank", "pc"),
        "blocked": C(a, "eve", "pc"),
        "external": C(a, "dave", "pc"),
        "colleagues": C(a, "carol", "pc"),
        "workgroup": C(a, "bob", "pc"),
        "friends-family": C(a, "fiona", "pc"),
    }
    await alice.online(roster=True, presence=False)
    for level, c in w.items():
        await c.online(roster=True, presence=False)
        # Carol reads presence in German (the xml:lang of her presence, docs/presence.md "Languages").
        c.raw("<presence xml:lang='de'/>" if level == "colleagues" else "<presence/>")
    await sync(*w.values())

    # Levels through the roster: blocked is the XEP-0191 blocklist.
    await roster_level(alice, w["workgroup"].bare, "workgroup")
    await roster_level(alice, w["external"].bare, "external")
    await roster_level(alice, w["friends-family"].bare, "friends-family")
    await roster_level(alice, w["blocked"].bare, "blocked")
    r = await alice.iq("get", "<blocklist xmlns='urn:xmpp:blocking'/>")
    check([i.get("jid") for i in r.xml.iter("{urn:xmpp:blocking}item")] == [w["blocked"].bare], "blocked level = the XEP-0191 blocklist", r)
    r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>")
    for level in ("workgroup", "external", "friends-family", "blocked"):
        check(item_level(r, w[level].bare) == level, f"roster item carries level {level}", r)
    check(item_level(r, w["colleagues"].bare) is None, "no element for the default level", r)

    # Privacy mode: only contacts see presence (frank is not one).
    r = await alice.iq("set", f"<settings xmlns='{NS_P}' privacy-mode='true'/>")
    check(r["type"] == "result" and r.xml.find("{%s}settings" % NS_P).get("privacy-mode") == "true", "privacy mode on", r)
    # Out of office (automatic replies) with a note.
    r = await alice.iq("set", f"<settings xmlns='{NS_P}'><ooo>Back Monday</ooo></settings>")
    check(r["type"] == "result", "automatic replies on", r)
    # A photo (XEP-0153 hash in presence).
    r = await alice.iq("set", "<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>")
    check(r["type"] == "result", "vCard with photo", r)
    # The calendar: a busy meeting now.
    r = await alice.iq("set", f"<feed xmlns='{NS_CAL}' url='{a['feed']}'/>", timeout=10)
    check(r["type"] == "result" and r.xml.find("{%s}feed" % NS_CAL).get("status") == "ok", "calendar feed fetched", r)

    # The state: custom "focus" (busy) until tomorrow, a note, a location, idle 6 minutes.
    until = stamp(86400)
    alice.raw(parley_presence({"custom": "focus", "until": until}, note="Heads down", device={"kind": "desktop"}, location="Building 4", idle_since=stamp(-360)))
    own = await alice.expect(pres_of(alice.full, ptype=None), "alice's own presence")
    await sync(alice)
    v = view(own)
    check(v.get("mode") == "busy" and v.get("custom") == "focus" and v.get("meeting", {}).get("subject") == "Budget review", "self sees everything", v)

    views = {}
    for level in ("external", "colleagues", "workgroup", "friends-family"):
        views[level] = await latest_view(w[level], alice.full, f"{level}: alice's presence (probe)")
        emit("view", level=level, view=views[level])

    for level, v in views.items():
        check(v["type"] is None and v["state"], f"{level}: available, with <state/>", v)
        # availability (+ the mobile hint, none here)
        check(v.get("availability") == "7500" and v.get("class") == "busy-idle", f"{level}: availability 7500 Busy (idle)", v)
        check(v["show"] == "dnd", f"{level}: <show>dnd</show> (Busy)", v)
        # activity row: activity, custom state, until
        if sees("activity", level):
            check(v.get("activity") == "in-a-meeting", f"{level}: activity in a meeting", v)
            check(v.get("custom") == "focus" and v.get("until") == until, f"{level}: custom state and until", v)
        else:
            check("activity" not in v and "custom" not in v and "until" not in v, f"{level}: no activity, custom state or until", v)
        # notes row: note, out-of-office note, last active (+ XEP-0319 idle), location
        if sees("notes", level):
            check(v.get("note") == "Heads down" and v.get("ooo") == "Back Monday", f"{level}: note and out-of-office note", v)
            check(v.get("location") == "Building 4", f"{level}: location", v)
            check(v.get("last-active") is not None and v["idle"] == v.get("last-active"), f"{level}: last active (and XEP-0319 idle)", v)
        else:
            for k in ("note", "ooo", "location", "last-active"):
                check(k not in v, f"{level}: no {k}", v)
            check(v["idle"] is None, f"{level}: no XEP-0319 idle", v)
        # meeting row
        if sees("meeting", level):
            check(v.get("meeting", {}).get("subject") == "Budget review" and v["meeting"].get("location") == "Room 5", f"{level}: meeting subject and place", v)
        else:
            check("meeting" not in v, f"{level}: no meeting details", v)
        # photo (profile row)
        check((v["photo"] is not None) == sees("photo", level), f"{level}: photo hash {'shown' if sees('photo', level) else 'hidden'}", v)
    # Standard <status/> per level (the language of each watcher first).
    check(views["external"]["status"] == "Busy", "external: status 'Busy' only", views["external"])
    check(views["colleagues"]["status"] == "Konzentriert — In einer Besprechung · Heads down", "colleagues (German): custom label, activity, note", views["colleagues"])
    check(views["colleagues"]["statuses"].get("en") == "Focusing — In a meeting · Heads down", "and the English status too", views["colleagues"])
    check(views["colleagues"].get("custom_labels", {}).get("de") == "Konzentriert", "custom label in German", views["colleagues"])
    check(views["workgroup"]["status"] == "Focusing — In a meeting · Heads down", "workgroup status", views["workgroup"])
    check(views["friends-family"]["status"] == "Focusing — In a meeting · Heads down", "friends & family status", views["friends-family"])

    # Blocked: always Offline — no available presence ever, probes unanswered.
    eve = w["blocked"]
    await latest_view_none(eve, alice)
    # Everyone: frank (not a contact, privacy mode on) gets directed presence as unavailable, no payload.
    frank = w["everyone"]
    frank.drain()
    alice.raw(f"<presence to='{frank.full}'><status>hello frank</status></presence>")
    s = await frank.expect(pres_of(alice.full), "everyone: directed presence")
    v = view(s)
    check(v["type"] == "unavailable" and not v["state"] and v["status"] is None and v["show"] is None, "everyone: unavailable with no payload", v)
    frank.raw(f"<presence type='probe' to='{alice.bare}'/>")
    await sync(frank)
    await frank.expect_none(pres_of(alice.full, ptype=None), "everyone: no availability from a probe", within=1.0)
    # Without privacy mode a non-contact of the organisation is a Colleague.
    r = await alice.iq("set", f"<settings xmlns='{NS_P}' privacy-mode='false'/>")
    check(r["type"] == "result", "privacy mode off", r)
    alice.raw(f"<presence to='{frank.full}'/>")
    v = view(await frank.expect(pres_of(alice.full, ptype=None), "directed presence without privacy mode"))
    check(v.get("activity") == "in-a-meeting" and v.get("note") == "Heads down" and "meeting" not in v, "non-contact without privacy mode = Colleagues", v)

    # --- IM rows ----------------------------------------------------------------------------------
    alice.drain()
    for level, c in w.items():
        c.send_message(mto=alice.bare, mbody=f"hi from {level}", mtype="chat")
    for level, c in w.items():
        if sees("send-im", level):
            await alice.expect(message_from(c.bare, f"hi from {level}"), f"send IM: {level} reaches alice")
        else:
            e = await c.expect(lambda s: s.xml.tag == q("message") and s.xml.get("type") == "error", f"{level}: IM refused")
            check(error_condition(e) == "service-unavailable", "blocked: service-unavailable", e)
    # Do Not Disturb: only Workgroup breaks through; the others are held (and told), Blocked refused.
    alice.raw(parley_presence({"availability": "dnd"}, device={"kind": "desktop"}))
    await alice.expect(lambda s: pres_of(alice.full, ptype=None)(s) and view(s).get("class") == "dnd", "alice on DND")
    wg = await latest_view(w["workgroup"], alice.full, "workgroup: alice's DND")
    check(wg.get("availability") == "6900" and wg.get("activity") == "urgent-interruptions-only", "workgroup sees DND as 6900 urgent interruptions only", wg)
    co = await latest_view(w["colleagues"], alice.full, "colleagues: alice's DND")
    check(co.get("availability") == "9500" and co.get("class") == "dnd", "colleagues see 9500 DND", co)
    alice.drain()
    for level, c in w.items():
        c.send_message(mto=alice.bare, mbody=f"dnd from {level}", mtype="chat")
    held = []
    for level, c in w.items():
        if sees("dnd-breakthrough", level):
            await alice.expect(message_from(c.bare, f"dnd from {level}"), f"{level} reaches alice on DND")
        elif sees("send-im", level):
            n = await c.expect(lambda s: s.xml.tag == q("message") and s.xml.find("{%s}held" % NS_P) is not None, f"{level}: told the message is held")
            check("Do Not Disturb" in (n["body"] or "") or "later" in (n["body"] or ""), f"{level}: a readable notice", n)
            held.append(level)
        else:
            e = await c.expect(lambda s: s.xml.tag == q("message") and s.xml.get("type") == "error", f"{level}: refused on DND too")
    await alice.expect_none(lambda s: s.xml.tag == q("message") and (s.xml.findtext(q("body")) or "").startswith("dnd from") and "workgroup" not in s.xml.findtext(q("body")), "held messages while on DND", within=1.0)
    # Leaving DND delivers the held ones, in order.
    alice.raw(parley_presence({"reset": "true"}, device={"kind": "desktop"}))
    got = []
    for level in held:
        m = await alice.expect(lambda s: s.xml.tag == q("message") and (s.xml.findtext(q("body")) or "").startswith("dnd from"), "a held message after DND")
        got.append(m.xml.findtext(q("body")))
    # Each watcher sent one message over its own connection at the same moment, so the order in
    # which the server received them (and delivers them) is not defined across senders; what
    # matters is that every held message arrives exactly once. (Per-sender order is covered by
    # the held-message tests in enterprise-presence.test.ts.)
    check(sorted(got) == sorted(f"dnd from {l}" for l in held), "every held message delivered once", got)
    for c in [alice, *w.values()]:
        await c.offline()

async def latest_view_none(eve, alice):
    eve.raw(f"<presence type='probe' to='{alice.bare}'/>")
    await sync(eve)
    await eve.expect_none(pres_of(alice.full, ptype=None), "blocked: any available presence from alice", within=1.0)
    ups = [s for s in list(eve._queues.get("stanza", [])) if pres_of(alice.full)(s)]
    check(all(view(s)["type"] == "unavailable" and view(s).get("availability") in (None, "18500") for s in ups), "blocked: only Offline", [str(s) for s in ups])

run(main)
`;

describe("enterprise presence: the privacy matrix end to end", () => {
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
        PARLEY_PRESENCE_LANGUAGES: "en,de",
        PARLEY_PRESENCE_CUSTOM_STATES: JSON.stringify(CUSTOM_STATES),
        PARLEY_PRIVACY_ALLOW_PRIVACY_MODE: "true",
      },
    });
  });
  after(async () => {
    await p?.stop();
    feeds?.closeAllConnections();
    await new Promise((r) => feeds?.close(r));
  });

  test("each level × each attribute row: exactly what PRODUCT.md's table allows", async () => {
    const prefix = uniquePrefix();
    const names = ["alice", "bob", "carol", "dave", "eve", "fiona", "frank"];
    await addPrefixedUsers(p, prefix, names);
    for (const c of ["bob", "carol", "dave", "eve", "fiona"]) await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}${c}@localhost`);
    const now = Date.now();
    const lines = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Parley matrix//EN",
      "BEGIN:VEVENT",
      "UID:matrix-1@example.com",
      "DTSTAMP:20250101T000000Z",
      `DTSTART:${icsStamp(now - 10 * 60_000)}`,
      `DTEND:${icsStamp(now + 50 * 60_000)}`,
      "SUMMARY:Budget review",
      "LOCATION:Room 5",
      "END:VEVENT",
      "END:VCALENDAR",
      "",
    ];
    bodies.set(`/feeds/${prefix}alice.ics`, lines.join("\r\n"));
    const r = await scenario(parleyTarget(p), SCRIPT, { prefix, feed: `${base}/feeds/${prefix}alice.ics` }, { timeoutMs: 90_000 });
    if (process.env.PARLEY_TEST_DUMP) console.log(r.json.filter((e) => e.event === "check" || e.event === "view").map((e) => JSON.stringify(e)).join("\n"));
  });
});
