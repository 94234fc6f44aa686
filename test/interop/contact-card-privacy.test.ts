// The privacy matrix on the contact card and PEP (PRODUCT.md §2, docs/presence.md "Contact card
// and PEP filtering") end to end with slixmpp: alice sets a full vcard-temp card, publishes a
// vCard4 contact card (XEP-0292), a location (XEP-0080) and an avatar (XEP-0084); one watcher
// per level — Workgroup, Colleagues, External, Friends & Family, Everyone (a non-contact while
// alice is in privacy mode), Blocked — reads the vCard, retrieves the contact card and receives
// the notifications: each gets exactly the fields and nodes its column allows.
import { after, before, describe, test } from "node:test";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";

const SCRIPT = `
from interop import *
from slixmpp_client import ClientError
from presence_view import sync

NS_P = "urn:parley:presence:0"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_GEOLOC = "http://jabber.org/protocol/geoloc"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_META = "urn:xmpp:avatar:metadata"
NS_VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0"
NODE_VCARD4 = "urn:xmpp:vcard4"

LEVELS = ["everyone", "blocked", "external", "colleagues", "workgroup", "friends-family"]
# Marker text of each vCard field -> the levels that see it (PRODUCT.md §2 rows).
IDENTITY = {"everyone", "external", "colleagues", "workgroup", "friends-family"}
PROFILE = {"external", "colleagues", "workgroup", "friends-family"}
OFFICE = {"colleagues", "workgroup", "friends-family"}
MOBILE = {"workgroup", "friends-family"}
HOME = {"friends-family"}
FIELDS = {
    "Alice Example": IDENTITY, "alice@example.com": IDENTITY,
    "Engineer": PROFILE, "Example Corp": PROFILE, "iVBORw0KGgo=": PROFILE,
    "+1-555-0100": OFFICE, "Building 4": OFFICE,
    "+1-555-0101": MOBILE,
    "+1-555-0102": HOME, "1 Home Street": HOME,
}
VCARD_TEMP = ("<vCard xmlns='vcard-temp'><FN>Alice Example</FN><N><FAMILY>Example</FAMILY><GIVEN>Alice</GIVEN></N>"
    "<EMAIL><INTERNET/><USERID>alice@example.com</USERID></EMAIL><TITLE>Engineer</TITLE><ORG><ORGNAME>Example Corp</ORGNAME></ORG>"
    "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>"
    "<TEL><WORK/><VOICE/><NUMBER>+1-555-0100</NUMBER></TEL><TEL><CELL/><NUMBER>+1-555-0101</NUMBER></TEL>"
    "<TEL><HOME/><VOICE/><NUMBER>+1-555-0102</NUMBER></TEL>"
    "<ADR><WORK/><EXTADD>Building 4</EXTADD></ADR><ADR><HOME/><STREET>1 Home Street</STREET></ADR></vCard>")
def t(s):
    return f"<text>{s}</text>"
def typed(kind):
    return f"<parameters><type><text>{kind}</text></type></parameters>"
VCARD4 = (f"<vcard xmlns='{NS_VCARD4}'><fn>{t('Alice Example')}</fn><email>{t('alice@example.com')}</email>"
    f"<title>{t('Engineer')}</title><org>{t('Example Corp')}</org><photo><uri>data:image/png;base64,iVBORw0KGgo=</uri></photo>"
    f"<tel>{typed('work')}<uri>tel:+1-555-0100</uri></tel><tel>{typed('cell')}<uri>tel:+1-555-0101</uri></tel>"
    f"<tel>{typed('home')}<uri>tel:+1-555-0102</uri></tel>"
    f"<adr>{typed('work')}<ext>Building 4</ext></adr><adr>{typed('home')}<street>1 Home Street</street></adr></vcard>")

def texts(el):
    return " ".join("".join(el.itertext()).split()) if el is not None else ""

def check_fields(level, card, what):
    got = texts(card)
    for marker, levels in FIELDS.items():
        check((marker in got) == (level in levels), f"{what} for {level}: {marker} {'shown' if level in levels else 'hidden'}", got)

async def roster_level(owner, contact, level):
    r = await owner.iq("set", f"<query xmlns='jabber:iq:roster'><item jid='{contact}'><privacy xmlns='{NS_P}' level='{level}'/></item></query>")
    check(r["type"] == "result", f"roster level {level} for {contact}", r)

def caps_query(a):
    def match(s):
        return s.xml.tag == q("iq") and s.xml.get("type") == "get" and s.xml.get("from") == a["domain"] and s.xml.find("{%s}query" % NS_DISCO_INFO) is not None
    return match

async def ready(a, c, interest):
    await c.online(roster=True, presence=False)
    for ns in interest:
        c["xep_0163"].add_interest(ns)
    await sleep(0.5)
    c.send_presence()
    try:
        await c.wait_for("stanza", timeout=2, match=caps_query(a))
    except ClientError:
        pass
    await sync(c)
    await sleep(0.3)

def event(frm, node):
    def match(s):
        if s.xml.tag != q("message") or s.xml.get("from") != frm:
            return False
        items = s.xml.find("{%s}event/{%s}items" % (NS_EVENT, NS_EVENT))
        return items is not None and items.get("node") == node and items.find("{%s}item" % NS_EVENT) is not None
    return match

async def main(a):
    alice = C(a, "alice", "desk")
    w = {
        "everyone": C(a, "frank", "pc", plugins=("xep_0080", "xep_0084")),
        "blocked": C(a, "eve", "pc", plugins=("xep_0080", "xep_0084")),
        "external": C(a, "dave", "pc", plugins=("xep_0080", "xep_0084")),
        "colleagues": C(a, "carol", "pc", plugins=("xep_0080", "xep_0084")),
        "workgroup": C(a, "bob", "pc", plugins=("xep_0080", "xep_0084")),
        "friends-family": C(a, "fiona", "pc", plugins=("xep_0080", "xep_0084")),
    }
    await alice.online(roster=True, presence=True)
    await roster_level(alice, w["workgroup"].bare, "workgroup")
    await roster_level(alice, w["external"].bare, "external")
    await roster_level(alice, w["friends-family"].bare, "friends-family")
    await roster_level(alice, w["blocked"].bare, "blocked")
    r = await alice.iq("set", f"<settings xmlns='{NS_P}' privacy-mode='true'/>")
    check(r["type"] == "result", "privacy mode on (frank, not a contact, is Everyone)", r)
    r = await alice.iq("set", VCARD_TEMP)
    check(r["type"] == "result", "alice sets a full vCard", r)
    r = await alice.iq("get", "<vCard xmlns='vcard-temp'/>")
    check_fields("friends-family", r.xml.find("{vcard-temp}vCard"), "own vCard")  # the owner sees everything

    interest = [NS_GEOLOC, NS_AVATAR_META, NODE_VCARD4]
    for c in w.values():
        await ready(a, c, interest)

    # vcard-temp (XEP-0054) through alice's bare JID
    for level, c in w.items():
        r = await c.iq("get", "<vCard xmlns='vcard-temp'/>", to=alice.bare)
        if level == "blocked":
            check(r["type"] == "error" and error_condition(r) == "service-unavailable", "blocked: vCard request refused", r)
            continue
        check(r["type"] == "result", f"{level}: vCard result", r)
        check_fields(level, r.xml.find("{vcard-temp}vCard"), "vCard")

    # PEP: the contact card (open access: anyone may retrieve it), location, avatar
    for c in w.values():
        c.drain()
    opts = ("<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
            "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            "<field var='pubsub#access_model'><value>open</value></field></x></publish-options>")
    r = await alice.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE_VCARD4}'><item id='current'>{VCARD4}</item></publish>{opts}</pubsub>")
    check(r["type"] == "result", "alice publishes her vCard4 contact card", r)
    r = await alice.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_GEOLOC}'><item id='current'><geoloc xmlns='{NS_GEOLOC}'><text>Building 4, room 12</text></geoloc></item></publish></pubsub>")
    check(r["type"] == "result", "alice publishes a location", r)
    r = await alice.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_AVATAR_DATA}'><item id='abc123'><data xmlns='{NS_AVATAR_DATA}'>iVBORw0KGgo=</data></item></publish></pubsub>")
    check(r["type"] == "result", "alice publishes avatar data", r)
    r = await alice.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_AVATAR_META}'><item id='abc123'><metadata xmlns='{NS_AVATAR_META}'><info id='abc123' bytes='8' type='image/png'/></metadata></item></publish></pubsub>")
    check(r["type"] == "result", "alice publishes avatar metadata", r)

    SEES = {
        NODE_VCARD4: {"external", "colleagues", "workgroup", "friends-family"},  # subscribers that see name/email
        NS_GEOLOC: {"colleagues", "workgroup", "friends-family"},
        NS_AVATAR_META: {"external", "colleagues", "workgroup", "friends-family"},
    }
    for node, levels in SEES.items():
        for level, c in w.items():
            if level in levels:
                m = await c.expect(event(alice.bare, node), f"{level}: {node} notification")
                if node == NODE_VCARD4:
                    check_fields(level, m.xml.find(".//{%s}vcard" % NS_VCARD4), "vCard4 notification")
                if node == NS_GEOLOC:
                    check("Building 4, room 12" in texts(m.xml), f"{level}: the location", m)
    for node, levels in SEES.items():
        for level, c in w.items():
            if level not in levels:
                await c.expect_none(event(alice.bare, node), f"{level}: no {node} notification", within=0.3)

    # Retrieval of the contact card: everyone who may retrieve gets the fields of their level
    for level, c in w.items():
        r = await c.iq("get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NODE_VCARD4}'/></pubsub>", to=alice.bare)
        if level == "blocked":
            check(r["type"] == "error", "blocked: contact card retrieval refused", r)
            continue
        check(r["type"] == "result", f"{level}: contact card retrieved", r)
        check_fields(level, r.xml.find(".//{%s}vcard" % NS_VCARD4), "vCard4 retrieval")
        r = await c.iq("get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NS_GEOLOC}'/></pubsub>", to=alice.bare)
        got = r["type"] == "result" and "Building 4, room 12" in texts(r.xml)
        check(got == (level in SEES[NS_GEOLOC]), f"{level}: location retrieval {'shown' if level in SEES[NS_GEOLOC] else 'withheld'}", r)
    for c in [alice, *w.values()]:
        await c.offline()

run(main)
`;

describe("contact card and PEP under the privacy matrix", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_PRIVACY_ALLOW_PRIVACY_MODE: "true" } });
  });
  after(() => p?.stop());

  test("vCard, vCard4 and PEP events per level: exactly what PRODUCT.md's table allows", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob", "carol", "dave", "eve", "fiona", "frank"]);
    for (const c of ["bob", "carol", "dave", "eve", "fiona"]) await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}${c}@localhost`);
    const r = await scenario(parleyTarget(p), SCRIPT, { prefix }, { timeoutMs: 90_000 });
    if (process.env.PARLEY_TEST_DUMP) console.log(r.json.filter((e) => e.event === "check").map((e) => JSON.stringify(e)).join("\n"));
  });
});
