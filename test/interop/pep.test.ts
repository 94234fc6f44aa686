// XEP-0163 Personal Eventing end to end with slixmpp (xep_0163, xep_0060, xep_0080 geoloc,
// xep_0084 avatars, xep_0115 caps): publish with auto-create, notifications filtered by
// +notify and by presence access, the last published item for resources coming online,
// retrieval and its errors, retraction, publish-options and their preconditions, node
// configuration and deletion, disco, blocking; and a PostgreSQL-backed run of the basics.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { PepEvents, PepServiceToken } from "../../src/modules/pep/index.ts";
import { CapsServiceToken } from "../../src/modules/caps/index.ts";
import { x } from "../../src/xml/element.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";

const HELPERS = `
from interop import *
from slixmpp_client import ClientError
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_OWNER = "http://jabber.org/protocol/pubsub#owner"
NS_PS_ERRORS = "http://jabber.org/protocol/pubsub#errors"
NS_GEOLOC = "http://jabber.org/protocol/geoloc"
NS_AVATAR_DATA = "urn:xmpp:avatar:data"
NS_AVATAR_META = "urn:xmpp:avatar:metadata"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"

def caps_query(a):
    def match(s):
        return s.xml.tag == q("iq") and s.xml.get("type") == "get" and s.xml.get("from") == a["domain"] and s.xml.find("{%s}query" % NS_DISCO_INFO) is not None
    return match

async def settle(*clients):
    for c in clients:
        r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=c.boundjid.domain)
        check(r["type"] == "result", "ping", r)

async def ready(a, c, presence=True, interest=()):
    """Online with the final caps (slixmpp updates them asynchronously after binding), and
    the server has learnt them (it asks once per ver). interest: extra +notify namespaces."""
    await c.online(presence=False)
    for ns in interest:
        c["xep_0163"].add_interest(ns)
    await sleep(0.5)
    if presence:
        c.send_presence()
        try:
            await c.wait_for("stanza", timeout=2, match=caps_query(a))
        except ClientError:
            pass  # a 'ver' the server already knows: no query
        await settle(c)
        await sleep(0.3)

def event(frm, node, kind="item", item_id=None):
    """Matches a PEP notification from frm: an item / retract in <items node>, or <delete>/<purge>."""
    def match(s):
        if s.xml.tag != q("message") or s.xml.get("from") != frm:
            return False
        ev = s.xml.find("{%s}event" % NS_EVENT)
        if ev is None:
            return False
        if kind in ("item", "retract"):
            items = ev.find("{%s}items" % NS_EVENT)
            if items is None or items.get("node") != node:
                return False
            el = items.find("{%s}%s" % (NS_EVENT, kind))
            return el is not None and (item_id is None or el.get("id") == item_id)
        el = ev.find("{%s}%s" % (NS_EVENT, kind))
        return el is not None and el.get("node") == node
    return match

def any_event(frm):
    def match(s):
        return s.xml.tag == q("message") and s.xml.get("from") == frm and s.xml.find("{%s}event" % NS_EVENT) is not None
    return match

def geoloc_text(s):
    return s.xml.findtext(".//{%s}geoloc/{%s}text" % (NS_GEOLOC, NS_GEOLOC))

def pubsub_condition(s):
    err = s.xml.find(q("error"))
    if err is None:
        return None
    for c in err:
        if c.tag.startswith("{%s}" % NS_PS_ERRORS):
            return c.tag.split("}", 1)[1]
    return None

def item_ids(r, node):
    items = r.xml.find("{%s}pubsub/{%s}items" % (NS_PUBSUB, NS_PUBSUB))
    check(items is not None and items.get("node") == node, "an <items node='%s'/> result" % node, r)
    return [i.get("id") for i in items.findall("{%s}item" % NS_PUBSUB)]

async def get_items(c, owner, node, extra="", inner=""):
    return await c.iq("get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{node}'{extra}>{inner}</items></pubsub>", to=owner)

def options_form(c, **fields):
    form = c["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    for k, v in fields.items():
        form.add_field(var="pubsub#" + k, value=v)
    return form

async def publish_raw(c, node, item_id, payload, options=""):
    r = await c.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{node}'><item id='{item_id}'>{payload}</item></publish>{options}</pubsub>")
    return r

def raw_options(**fields):
    f = "".join(f"<field var='pubsub#{k}'><value>{v}</value></field>" for k, v in fields.items())
    return ("<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
            "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>" + f + "</x></publish-options>")
`;

describe("XEP-0163 personal eventing", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley();
  });
  after(() => p?.stop());

  /** Creates the users; alice is a mutual contact of each name in `contacts`. */
  const users = async (names: string[], contacts: string[], target = p) => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(target, prefix, names);
    for (const c of contacts) await target.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}${c}@localhost`);
    return prefix;
  };
  const run = (body: string, prefix: string, target = p) => scenario(parleyTarget(target), HELPERS + body, { prefix }, { timeoutMs: 60_000 });

  test("location (XEP-0080): contacts with +notify get it, live and as the last item on login; others do not and cannot fetch it; retraction", async () => {
    await run(
      `
async def main(a):
    desk = C(a, "alice", "desk", plugins=("xep_0080",))
    await ready(a, desk)

    # disco#info on one's own account: PEP identity and features (XEP-0163 §6.1).
    r = await desk.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=desk.bare)
    ids = [(i.get("category"), i.get("type")) for i in r.xml.iter("{%s}identity" % NS_DISCO_INFO)]
    feats = [f.get("var") for f in r.xml.iter("{%s}feature" % NS_DISCO_INFO)]
    check(("pubsub", "pep") in ids and ("account", "registered") in ids, "pubsub/pep identity on the account", ids)
    for f in ("publish", "publish-options", "auto-create", "access-presence", "last-published", "filtered-notifications", "retrieve-items", "retract-items"):
        check(NS_PUBSUB + "#" + f in feats, "feature " + f, feats)

    # Publish with auto-create (slixmpp xep_0080: item id 'current', no 'to').
    r = await desk["xep_0080"].publish_location(lat=48.8566, lon=2.3522, text="Paris office", timeout=5)
    check(r["type"] == "result", "publish result", r)
    check(r.xml.find("{%s}pubsub/{%s}publish/{%s}item" % (NS_PUBSUB, NS_PUBSUB, NS_PUBSUB)).get("id") == "current", "the item id is echoed", r)
    s = await desk.expect(event(desk.bare, NS_GEOLOC, "item", "current"), "own notification (the owner's resource has +notify)")
    check(geoloc_text(s) == "Paris office", "payload in the notification", s)
    check(s.xml.get("type") == "headline", "headline", s)

    # bob (contact, +notify) comes online: the last published item, with a delay stamp.
    bob = C(a, "bob", "pc", plugins=("xep_0080",))
    await ready(a, bob)
    s = await bob.expect(event(desk.bare, NS_GEOLOC, "item", "current"), "the last published location on login")
    check(geoloc_text(s) == "Paris office", "the last location", s)
    check(s.xml.find("{%s}delay" % NS_DELAY) is not None, "a delay stamp on the last published item", s)

    # carol (+notify, not a contact) and dave (a contact without geoloc+notify) come online.
    carol = C(a, "carol", "pc", plugins=("xep_0080",))
    dave = C(a, "dave", "pc", plugins=("xep_0084",))
    await ready(a, carol)
    await ready(a, dave)

    # A second publish: alice and bob get it live; carol and dave do not.
    r = await desk["xep_0080"].publish_location(lat=52.52, lon=13.405, text="Berlin office", timeout=5)
    check(r["type"] == "result", "second publish", r)
    s = await bob.expect(lambda s: event(desk.bare, NS_GEOLOC)(s) and geoloc_text(s) == "Berlin office", "bob: the new location")
    check(s.xml.find("{%s}delay" % NS_DELAY) is None, "a live notification has no delay", s)
    check(s.xml.get("to") == bob.full, "addressed to bob's full JID", s)
    await desk.expect(lambda s: event(desk.bare, NS_GEOLOC)(s) and geoloc_text(s) == "Berlin office", "alice: her own notification")
    await carol.expect_none(any_event(desk.bare), "PEP events for a non-contact", within=1.5)
    await dave.expect_none(any_event(desk.bare), "geoloc events for a contact without geoloc+notify", within=0.5)

    # Retrieval: the owner and contacts may; a stranger may not (XEP-0060 §6.5.9).
    for c in (desk, bob, dave):
        r = await get_items(c, desk.bare, NS_GEOLOC)
        check(r["type"] == "result" and item_ids(r, NS_GEOLOC) == ["current"], f"{c.name} retrieves the item", r)
    r = await get_items(bob, desk.bare, NS_GEOLOC, inner="<item id='current'/>")
    check(r["type"] == "result" and "Berlin office" in str(r), "retrieval by id", r)
    r = await get_items(carol, desk.bare, NS_GEOLOC)
    check(r["type"] == "error" and error_condition(r) == "not-authorized" and pubsub_condition(r) == "presence-subscription-required", "stranger: not-authorized + presence-subscription-required", r)
    r = await get_items(carol, desk.bare, "urn:example:nothing")
    check(r["type"] == "error" and error_condition(r) == "not-authorized", "stranger: the same answer for a node that does not exist", r)
    r = await get_items(desk, desk.bare, "urn:example:nothing")
    check(r["type"] == "error" and error_condition(r) == "item-not-found", "owner: item-not-found for a missing node", r)
    r = await carol.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_GEOLOC}'><item id='x'><geoloc xmlns='{NS_GEOLOC}'/></item></publish></pubsub>", to=desk.bare)
    check(r["type"] == "error" and error_condition(r) == "forbidden", "publishing to another account's PEP is forbidden", r)

    # disco#items lists the owner's nodes.
    r = await desk.iq("get", f"<query xmlns='{NS_DISCO_ITEMS}'/>", to=desk.bare)
    nodes = [i.get("node") for i in r.xml.iter("{%s}item" % NS_DISCO_ITEMS)]
    check(NS_GEOLOC in nodes, "disco#items lists the geoloc node", r)

    # Retract with notify: bob and alice see <retract/>; the node is empty afterwards.
    r = await desk["xep_0060"].retract(None, NS_GEOLOC, "current", notify=True, timeout=5)
    check(r["type"] == "result", "retract", r)
    await bob.expect(event(desk.bare, NS_GEOLOC, "retract", "current"), "bob: retract notification")
    await desk.expect(event(desk.bare, NS_GEOLOC, "retract", "current"), "alice: retract notification")
    await carol.expect_none(any_event(desk.bare), "a retraction for a non-contact", within=0.5)
    r = await get_items(bob, desk.bare, NS_GEOLOC)
    check(r["type"] == "result" and item_ids(r, NS_GEOLOC) == [], "no items after the retraction", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><retract node='{NS_GEOLOC}'><item id='current'/></retract></pubsub>")
    check(r["type"] == "error" and error_condition(r) == "item-not-found", "retracting a missing item: item-not-found", r)

    # A later login gets nothing (no item left).
    bob2 = C(a, "bob", "phone", plugins=("xep_0080",))
    await ready(a, bob2)
    await bob2.expect_none(any_event(desk.bare), "a last item after the retraction", within=0.8)
    for c in (desk, bob, bob2, carol, dave):
        await c.offline()
run(main)
`,
      await users(["alice", "bob", "carol", "dave"], ["bob", "dave"]),
    );
  });

  test("avatars (XEP-0084) with publish-options: open data node, presence metadata, precondition-not-met, configuration, deletion", async () => {
    await run(
      `
import base64, hashlib
async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0084",))
    bob = C(a, "bob", "pc", plugins=("xep_0084",))
    carol = C(a, "carol", "pc", plugins=("xep_0084",))
    for c in (alice, bob, carol):
        await ready(a, c)

    data = bytes(range(256)) * 8
    avatar_id = hashlib.sha1(data).hexdigest()
    r = await alice["xep_0084"].publish_avatar(data, options=options_form(alice, access_model="open", max_items="1"), timeout=5)
    check(r["type"] == "result", "avatar data published with publish-options", r)
    r = await alice["xep_0084"].publish_avatar_metadata({"id": avatar_id, "type": "image/png", "bytes": len(data)}, options=options_form(alice, access_model="open"), timeout=5)
    check(r["type"] == "result", "avatar metadata published", r)
    s = await bob.expect(event(alice.bare, NS_AVATAR_META, "item", avatar_id), "bob: metadata notification")
    info = s.xml.find(".//{%s}info" % NS_AVATAR_META)
    check(info is not None and info.get("bytes") == str(len(data)), "the metadata payload", s)
    await bob.expect_none(event(alice.bare, NS_AVATAR_DATA), "data notifications (nobody asks for data+notify)", within=0.3)
    await carol.expect_none(any_event(alice.bare), "notifications for a non-contact, even on an open node", within=0.8)

    # An open node: anyone may retrieve (XEP-0084 §4.3), here carol, by item id.
    r = await carol["xep_0084"].retrieve_avatar(alice.bare, avatar_id, timeout=5)
    got = r.xml.find(".//{%s}data" % NS_AVATAR_DATA)
    check(r["type"] == "result" and got is not None and base64.b64decode(got.text) == data, "carol fetches the avatar data", r)

    # Preconditions: the same options pass, different ones fail with precondition-not-met.
    r = await publish_raw(alice, NS_AVATAR_META, avatar_id, f"<metadata xmlns='{NS_AVATAR_META}'/>", raw_options(access_model="open", persist_items="true"))
    check(r["type"] == "result", "matching publish-options", r)
    r = await publish_raw(alice, NS_AVATAR_META, avatar_id, f"<metadata xmlns='{NS_AVATAR_META}'/>", raw_options(access_model="whitelist"))
    check(r["type"] == "error" and error_condition(r) == "conflict" and pubsub_condition(r) == "precondition-not-met", "conflict + precondition-not-met", r)
    r = await publish_raw(alice, NS_AVATAR_META, avatar_id, f"<metadata xmlns='{NS_AVATAR_META}'/>", raw_options(access_model="authorize"))
    check(r["type"] == "error" and pubsub_condition(r) == "precondition-not-met", "an unsupported access model cannot be met", r)
    r = await publish_raw(alice, NS_AVATAR_META, avatar_id, f"<metadata xmlns='{NS_AVATAR_META}'/>", raw_options(max_items="lots"))
    check(r["type"] == "error" and error_condition(r) == "bad-request", "a malformed option: bad-request", r)

    # What clients do next (XEP-0402 style): configure the node, then publish again.
    cfg = await alice["xep_0060"].get_node_config(alice.bare, NS_AVATAR_META, timeout=5)
    form = cfg.xml.find("{%s}pubsub/{%s}configure/{jabber:x:data}x" % (NS_OWNER, NS_OWNER))
    values = {f.get("var"): f.findtext("{jabber:x:data}value") for f in form.findall("{jabber:x:data}field")}
    check(values.get("pubsub#access_model") == "open" and values.get("FORM_TYPE") == "http://jabber.org/protocol/pubsub#node_config", "node configuration form", values)
    new = alice["xep_0004"].make_form(ftype="submit")
    new.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#node_config")
    new.add_field(var="pubsub#access_model", value="presence")
    r = await alice["xep_0060"].set_node_config(alice.bare, NS_AVATAR_META, new, timeout=5)
    check(r["type"] == "result", "set node configuration", r)
    r = await get_items(carol, alice.bare, NS_AVATAR_META)
    check(r["type"] == "error" and error_condition(r) == "not-authorized", "presence access now: carol may not fetch the metadata", r)
    r = await get_items(bob, alice.bare, NS_AVATAR_META)
    check(r["type"] == "result" and item_ids(r, NS_AVATAR_META) == [avatar_id], "bob still may", r)

    # Delete the data node: gone for everyone (owner: item-not-found; stranger: the usual answer).
    r = await alice["xep_0060"].delete_node(alice.bare, NS_AVATAR_DATA, timeout=5)
    check(r["type"] == "result", "node deleted", r)
    r = await get_items(alice, alice.bare, NS_AVATAR_DATA)
    check(r["type"] == "error" and error_condition(r) == "item-not-found", "the node is gone", r)
    r = await alice.iq("set", f"<pubsub xmlns='{NS_OWNER}'><delete node='{NS_AVATAR_DATA}'/></pubsub>")
    check(r["type"] == "error" and error_condition(r) == "item-not-found", "deleting it again: item-not-found", r)
    r = await bob.iq("set", f"<pubsub xmlns='{NS_OWNER}'><delete node='{NS_AVATAR_META}'/></pubsub>", to=alice.bare)
    check(r["type"] == "error" and error_condition(r) == "forbidden", "only the owner deletes", r)
    # Deleting the metadata node tells bob (he has metadata+notify).
    r = await alice.iq("set", f"<pubsub xmlns='{NS_OWNER}'><delete node='{NS_AVATAR_META}'/></pubsub>")
    check(r["type"] == "result", "metadata node deleted", r)
    await bob.expect(event(alice.bare, NS_AVATAR_META, "delete"), "bob: delete notification")
    for c in (alice, bob, carol):
        await c.offline()
run(main)
`,
      await users(["alice", "bob", "carol"], ["bob"]),
    );
  });

  test("several resources, many items, max_items, retrieval order, create/purge, whitelist, bad requests", async () => {
    await run(
      `
NODE = "urn:example:notes"
def note(n):
    return f"<note xmlns='{NODE}'>{n}</note>"

async def main(a):
    # The node namespace's +notify comes from a custom interest.
    desk = C(a, "alice", "desk", plugins=("xep_0163",))
    phone = C(a, "alice", "phone", plugins=("xep_0163",))
    bob = C(a, "bob", "pc", plugins=("xep_0163",))
    for c in (desk, phone, bob):
        await ready(a, c, interest=(NODE,))

    for i in range(5):
        r = await publish_raw(desk, NODE, f"n{i}", note(i), raw_options(max_items="3") if i == 0 else "")
        check(r["type"] == "result", f"publish n{i}", r)
    for c in (phone, bob):
        for i in range(5):
            await c.expect(event(desk.bare, NODE, "item", f"n{i}"), f"{c.name}: notification n{i}")
    r = await get_items(bob, desk.bare, NODE)
    check(item_ids(r, NODE) == ["n2", "n3", "n4"], "max_items=3 keeps the newest three, oldest first", r)
    r = await get_items(bob, desk.bare, NODE, extra=" max_items='2'")
    check(item_ids(r, NODE) == ["n3", "n4"], "max_items on retrieval: the newest two", r)
    r = await get_items(bob, desk.bare, NODE, inner="<item id='n4'/><item id='n0'/><item id='n2'/>")
    check(item_ids(r, NODE) == ["n4", "n2"], "by id, in the order asked, missing ids skipped", r)
    # Re-publishing an id replaces the item and makes it the newest.
    r = await publish_raw(desk, NODE, "n2", note("again"))
    r = await get_items(bob, desk.bare, NODE)
    check(item_ids(r, NODE) == ["n3", "n4", "n2"] and "again" in str(r), "a re-published id moves to the end", r)

    # Items without ids get one from the server.
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE}'><item>{note('anon')}</item></publish></pubsub>")
    new_id = r.xml.find("{%s}pubsub/{%s}publish/{%s}item" % (NS_PUBSUB, NS_PUBSUB, NS_PUBSUB)).get("id")
    check(r["type"] == "result" and new_id, "a generated item id", r)
    await bob.expect(event(desk.bare, NODE, "item", new_id), "notification with the generated id")

    # A new resource of the owner gets the node's last item, and only that one (XEP-0163 §4.3.4).
    tablet = C(a, "alice", "tablet", plugins=("xep_0163",))
    await ready(a, tablet, interest=(NODE,))
    s = await tablet.expect(event(desk.bare, NODE, "item", new_id), "the owner's new resource: the last item")
    check(s.xml.find("{%s}delay" % NS_DELAY) is not None, "with a delay stamp", s)
    await tablet.expect_none(lambda s: event(desk.bare, NODE)(s) and not event(desk.bare, NODE, "item", new_id)(s), "older items", within=0.5)
    await tablet.offline()

    # Bad requests.
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish><item>{note(1)}</item></publish></pubsub>")
    check(error_condition(r) == "bad-request" and pubsub_condition(r) == "nodeid-required", "publish without a node", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE}'/></pubsub>")
    check(error_condition(r) == "bad-request" and pubsub_condition(r) == "item-required", "publish without an item", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE}'><item id='x'/></publish></pubsub>")
    check(error_condition(r) == "bad-request" and pubsub_condition(r) == "payload-required", "an item without payload", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NODE}'><item id='x'>{note(1)}{note(2)}</item></publish></pubsub>")
    check(error_condition(r) == "bad-request" and pubsub_condition(r) == "invalid-payload", "two payloads", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><subscribe node='{NODE}' jid='{desk.bare}'/></pubsub>")
    check(error_condition(r) == "feature-not-implemented" and pubsub_condition(r) == "unsupported", "explicit subscriptions are not offered", r)

    # Purge: items gone, node kept, subscribers told.
    r = await desk.iq("set", f"<pubsub xmlns='{NS_OWNER}'><purge node='{NODE}'/></pubsub>")
    check(r["type"] == "result", "purge", r)
    await bob.expect(event(desk.bare, NODE, "purge"), "purge notification")
    r = await get_items(desk, desk.bare, NODE)
    check(r["type"] == "result" and item_ids(r, NODE) == [], "empty after purge", r)

    # Explicit create with configuration: a whitelist node (private, like XEP-0402 bookmarks).
    PRIV = "urn:example:private"
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><create node='{PRIV}'/><configure><x xmlns='jabber:x:data' type='submit'>"
                             "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"
                             "<field var='pubsub#access_model'><value>whitelist</value></field>"
                             "<field var='pubsub#send_last_published_item'><value>never</value></field></x></configure></pubsub>")
    check(r["type"] == "result", "create-and-configure", r)
    r = await desk.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><create node='{PRIV}'/></pubsub>")
    check(error_condition(r) == "conflict", "creating it again: conflict", r)
    r = await publish_raw(desk, PRIV, "b1", f"<secret xmlns='{PRIV}'>s</secret>")
    check(r["type"] == "result", "publish to the private node", r)
    r = await get_items(bob, desk.bare, PRIV)
    check(error_condition(r) == "not-allowed" and pubsub_condition(r) == "closed-node", "whitelist: not-allowed + closed-node for a contact", r)
    r = await get_items(phone, desk.bare, PRIV)
    check(item_ids(r, PRIV) == ["b1"], "the owner reads the private node", r)
    r = await bob.iq("get", f"<query xmlns='{NS_DISCO_ITEMS}'/>", to=desk.bare)
    nodes = [i.get("node") for i in r.xml.iter("{%s}item" % NS_DISCO_ITEMS)]
    check(NODE in nodes and PRIV not in nodes, "a contact's disco#items shows only accessible nodes", nodes)
    await bob.expect_none(event(desk.bare, PRIV), "notifications of a whitelist node for a contact", within=0.3)
    # send_last_published_item=never (XEP-0402 style): a new resource gets nothing.
    tablet = C(a, "alice", "tablet2", plugins=("xep_0163",))
    await ready(a, tablet, interest=(PRIV,))
    await tablet.expect_none(event(desk.bare, PRIV), "the last item of a 'never' node", within=0.8)
    await tablet.offline()
    for c in (desk, phone, bob):
        await c.offline()
run(main)
`,
      await users(["alice", "bob"], ["bob"]),
    );
  });

  test("a contact gets the last item when entitled; blocked contacts get nothing; the privacy hook decides", async () => {
    const prefix = await users(["alice", "bob", "erin", "frank"], ["bob", "frank"]);
    // The enterprise-presence hook point: frank may not see alice's location.
    const denied = `${prefix}frank@localhost`;
    const queries: string[] = [];
    p.server.host.hooks.on(PepEvents.mayDeliver, (v, q) => {
      if (q.owner.startsWith(prefix)) queries.push(`${q.action}:${q.watcher.split("@")[0].slice(prefix.length)}:${q.node}`);
      return q.watcher === denied && q.node === "http://jabber.org/protocol/geoloc" ? false : v;
    });
    await run(
      `
async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0080",))
    bob = C(a, "bob", "pc", plugins=("xep_0080",))
    erin = C(a, "erin", "pc", plugins=("xep_0080",))
    frank = C(a, "frank", "pc", plugins=("xep_0080",))
    for c in (alice, bob, erin, frank):
        await ready(a, c)
    r = await alice["xep_0080"].publish_location(text="Room 4.12", timeout=5)
    check(r["type"] == "result", "publish", r)
    await bob.expect(event(alice.bare, NS_GEOLOC), "bob: notification")
    await frank.expect_none(any_event(alice.bare), "frank: the privacy hook withholds the location", within=1.0)
    r = await get_items(frank, alice.bare, NS_GEOLOC)
    check(r["type"] == "result" and item_ids(r, NS_GEOLOC) == [], "frank's retrieval shows no items", r)

    # erin becomes a contact: she gets the last item at once (new subscription).
    erin.send_presence(pto=alice.bare, ptype="subscribe")
    await alice.expect(lambda s: s.xml.tag == q("presence") and s.xml.get("type") == "subscribe", "subscription request")
    alice.send_presence(pto=erin.bare, ptype="subscribed")
    s = await erin.expect(event(alice.bare, NS_GEOLOC), "erin: the last item once entitled")
    check(geoloc_text(s) == "Room 4.12", "the last location", s)

    # alice blocks bob (XEP-0191): no more notifications for him.
    r = await alice.iq("set", f"<block xmlns='urn:xmpp:blocking'><item jid='{bob.bare}'/></block>")
    check(r["type"] == "result", "block", r)
    await sleep(0.3)
    bob.drain()
    r = await alice["xep_0080"].publish_location(text="Room 5.01", timeout=5)
    await erin.expect(lambda s: event(alice.bare, NS_GEOLOC)(s) and geoloc_text(s) == "Room 5.01", "erin: the new location")
    await bob.expect_none(any_event(alice.bare), "notifications for a blocked contact", within=1.0)
    for c in (alice, bob, erin, frank):
        await c.offline()
run(main)
`,
      prefix,
    );
    assert.ok(queries.some((q) => q === "publish:frank:http://jabber.org/protocol/geoloc"), queries.join(", "));
    assert.ok(queries.some((q) => q.startsWith("retrieve:frank:")), queries.join(", "));
    assert.ok(queries.some((q) => q.startsWith("last-published:erin:")), queries.join(", "));
    assert.ok(!queries.some((q) => q.includes(":alice:")), "the owner is never asked about");
  });

  test("server-side publishing through PepService reaches clients", async () => {
    const prefix = await users(["alice", "bob"], ["bob"]);
    const pep = p.server.modules.get(PepServiceToken);
    const r = scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    bob = C(a, "bob", "pc", plugins=("xep_0108",))
    await ready(a, bob)
    emit("bob_ready")
    s = await bob.expect(event(a["prefix"] + "alice@" + a["domain"], "http://jabber.org/protocol/activity"), "activity notification", timeout=15)
    check("in-a-meeting" in str(s) or "meeting" in str(s), "the activity payload", s)
    await bob.offline()
run(main)
`,
      { prefix },
      { timeoutMs: 40_000 },
    );
    // Publish once bob is online and the server knows he wants activity notifications.
    const alice = `${prefix}alice@localhost`;
    const caps = p.server.modules.get(CapsServiceToken);
    const deadline = Date.now() + 20_000;
    const ready = () => p.server.host.sessions.resources(`${prefix}bob@localhost`).some((s) => s.presence !== undefined && caps.hasFeature(s.full, "http://jabber.org/protocol/activity+notify"));
    while (!ready() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(ready(), "bob's caps became known");
    const id = await pep.publish(alice, "http://jabber.org/protocol/activity", x("activity", { xmlns: "http://jabber.org/protocol/activity" }, x("relaxing", null, x("partying")), x("text", null, "in-a-meeting")));
    assert.ok(id);
    await r;
    assert.equal((await pep.lastItem(alice, "http://jabber.org/protocol/activity"))?.id, id);
    assert.equal(await pep.mayDeliver({ owner: alice, watcher: `${prefix}bob@localhost`, watcherFull: undefined, node: "http://jabber.org/protocol/activity", item: undefined, action: "retrieve" }), true);
    assert.equal(await pep.mayDeliver({ owner: alice, watcher: "stranger@localhost", watcherFull: undefined, node: "http://jabber.org/protocol/activity", item: undefined, action: "retrieve" }), false);
  });
});

describe("XEP-0163 on PostgreSQL", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ database: "postgres" });
  });
  after(() => p?.stop());

  test("publish, notify, last item on login, retrieval", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob"]);
    await p.server.roster.addMutual(`${prefix}alice@localhost`, `${prefix}bob@localhost`);
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0080",))
    await ready(a, alice)
    r = await alice["xep_0080"].publish_location(text="Lisbon", timeout=5)
    check(r["type"] == "result", "publish", r)
    await alice.offline()
    bob = C(a, "bob", "pc", plugins=("xep_0080",))
    await ready(a, bob)
    s = await bob.expect(event(alice.bare, NS_GEOLOC), "the last item of an offline owner")
    check(geoloc_text(s) == "Lisbon", "payload", s)
    r = await get_items(bob, alice.bare, NS_GEOLOC)
    check(item_ids(r, NS_GEOLOC) == ["current"], "retrieval from PostgreSQL", r)
    await bob.offline()
run(main)
`,
      { prefix },
      { timeoutMs: 45_000 },
    );
  });
});
