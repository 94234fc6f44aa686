// XEP-0054 vcard-temp and XEP-0153 vCard-based avatars end to end with slixmpp: one's own
// vCard (empty at first, set, read back), another user's through their bare JID, refusals
// (someone else's vCard, too large, bad photo), the photo hash the server puts into presence,
// and slixmpp's own xep_0153 avatar publishing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startParley, type TestParley } from "../support/parley.ts";
import { VcardServiceToken } from "../../src/modules/vcard/index.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix, newUsers } from "./support/scenario.ts";

// A 1×1 PNG and its SHA-1, as XEP-0153 computes it (over the decoded image, not the base64).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
const PNG_SHA1 = createHash("sha1").update(PNG).digest("hex");

const HELPERS = `
from interop import *
NS_VCARD = "vcard-temp"
NS_UPDATE = "vcard-temp:x:update"

def vcard_of(s):
    return s.xml.find("{%s}vCard" % NS_VCARD)

def photo_hash(s):
    x = s.xml.find("{%s}x" % NS_UPDATE)
    if x is None:
        return None
    p = x.find("{%s}photo" % NS_UPDATE)
    return "<no photo element>" if p is None else (p.text or "")

def avail(c, full=True):
    def match(s):
        return s.xml.tag == q("presence") and s.xml.get("type") is None and (s.xml.get("from") == c.full if full else s.xml.get("from", "").split("/")[0] == c.bare)
    return match
`;

describe("XEP-0054 vcard-temp and XEP-0153 avatars", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_VCARD_MAX_BYTES: "20000" } });
  });
  after(() => p?.stop());

  const users = (...names: string[]) => newUsers(p, ...names);
  const run = async (body: string, prefix: string, extra: Record<string, string> = {}) =>
    scenario(parleyTarget(p), HELPERS + body, { prefix, png: PNG.toString("base64"), png_sha1: PNG_SHA1, ...extra }, { timeoutMs: 40_000 });

  test("own vCard: empty at first, set, read back; another user reads it through the bare JID", async () => {
    const prefix = await users("alice", "bob");
    await run(
      `
async def main(a):
    alice = C(a, "alice", "desk")
    bob = C(a, "bob", "pc")
    await alice.online()
    await bob.online()
    r = await alice.iq("get", "<vCard xmlns='vcard-temp'/>")
    check(r["type"] == "result" and vcard_of(r) is not None and len(list(vcard_of(r))) == 0, "no vCard yet: an empty one", r)

    card = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN></N>"
            "<NICKNAME>al</NICKNAME><EMAIL><INTERNET/><USERID>alice@example.com</USERID></EMAIL>"
            f"<PHOTO><TYPE>image/png</TYPE><BINVAL>{a['png']}</BINVAL></PHOTO></vCard>")
    r = await alice.iq("set", card)
    check(r["type"] == "result", "vCard set", r)

    for who, to in ((alice, None), (alice, alice.bare), (bob, alice.bare)):
        r = await who.iq("get", "<vCard xmlns='vcard-temp'/>", to=to)
        check(r["type"] == "result", f"{who.name} reads alice's vCard (to={to})", r)
        v = vcard_of(r)
        check(v.findtext("{vcard-temp}FN") == "Alice Liddell", "FN", r)
        check(v.findtext("{vcard-temp}N/{vcard-temp}GIVEN") == "Alice", "N/GIVEN", r)
        check(v.findtext("{vcard-temp}PHOTO/{vcard-temp}BINVAL") == a["png"], "photo data", r)
        if to == alice.bare and who is bob:
            check(r["from"] == alice.bare, "answered from alice's bare JID", r)

    # Replacing it (whole vCard each time, XEP-0054 §3.2).
    r = await alice.iq("set", "<vCard xmlns='vcard-temp'><FN>Alice L.</FN></vCard>")
    check(r["type"] == "result", "vCard replaced", r)
    r = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=alice.bare)
    check(vcard_of(r).findtext("{vcard-temp}FN") == "Alice L." and vcard_of(r).find("{vcard-temp}PHOTO") is None, "the new vCard only", r)

    # Someone else's vCard cannot be changed; a user without a vCard, or no user at all: item-not-found.
    r = await bob.iq("set", "<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>", to=alice.bare)
    check(error_condition(r) == "forbidden", "setting another user's vCard → forbidden", r)
    r = await alice.iq("get", "<vCard xmlns='vcard-temp'/>", to=bob.bare)
    check(error_condition(r) == "item-not-found", "no vCard → item-not-found", r)
    r = await alice.iq("get", "<vCard xmlns='vcard-temp'/>", to="nobody-" + a["prefix"] + "@" + a["domain"])
    check(error_condition(r) == "item-not-found", "no such user → the same item-not-found", r)

    # An empty vCard deletes it.
    r = await alice.iq("set", "<vCard xmlns='vcard-temp'/>")
    check(r["type"] == "result", "empty vCard set", r)
    r = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=alice.bare)
    check(error_condition(r) == "item-not-found", "deleted", r)

    # Too large (vcard.maxBytes is 20000 here) and a photo that is not base64.
    big = "A" * 24000
    r = await alice.iq("set", f"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>{big}</BINVAL></PHOTO></vCard>")
    check(error_condition(r) == "not-acceptable", "a vCard over the size limit → not-acceptable", r)
    r = await alice.iq("set", "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>not*base64</BINVAL></PHOTO></vCard>")
    check(error_condition(r) == "bad-request", "a photo that is not base64 → bad-request", r)
    check(alice.transport is not None, "still connected")

    # The server advertises vcard-temp.
    r = await alice.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=a["domain"])
    feats = [f.get("var") for f in r.xml.iter("{http://jabber.org/protocol/disco#info}feature")]
    check("vcard-temp" in feats, "vcard-temp on the server's disco#info", feats)
    await alice.offline()
    await bob.offline()
run(main)
`,
      prefix,
    );
  });

  test("the server puts the photo hash into presence: a contact sees it, without the client's help", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@${p.domain}`, `${prefix}bob@${p.domain}`);
    await run(
      `
async def main(a):
    alice = C(a, "alice", "desk")
    bob = C(a, "bob", "pc")
    await bob.online()
    await alice.online(presence=False)
    alice.send_presence()
    s = await bob.expect(avail(alice), "alice's first presence")
    check(photo_hash(s) == "", "no photo yet: an empty <photo/> (no image)", s)
    check(photo_hash(await alice.expect(avail(alice), "own presence")) == "", "own reflection too")

    # A client that knows nothing of XEP-0153 uploads a photo, then sends presence.
    r = await alice.iq("set", f"<vCard xmlns='vcard-temp'><FN>A</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>{a['png']}</BINVAL></PHOTO></vCard>")
    check(r["type"] == "result", "vCard with photo set", r)
    alice.send_presence(pshow="away")
    s = await bob.expect(avail(alice), "alice's next presence")
    check(photo_hash(s) == a["png_sha1"], "the contact gets the SHA-1 of the image", s)
    check(len(s.xml.findall("{vcard-temp:x:update}x")) == 1, "exactly one update element", s)

    # A stale hash from the client is replaced; an empty <x/> (client not ready) is filled in.
    alice.raw("<presence><show>dnd</show><x xmlns='vcard-temp:x:update'><photo>0000000000000000000000000000000000000000</photo></x></presence>")
    s = await bob.expect(avail(alice), "presence with a stale hash")
    check(photo_hash(s) == a["png_sha1"], "stale hash replaced", s)
    alice.raw("<presence><x xmlns='vcard-temp:x:update'/></presence>")
    s = await bob.expect(avail(alice), "presence with an empty update element")
    check(photo_hash(s) == a["png_sha1"], "empty <x/> filled in", s)
    # XEP-0398 §4: an explicit empty <photo/> from the client is left alone.
    alice.raw("<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>")
    s = await bob.expect(avail(alice), "presence with an empty photo")
    check(photo_hash(s) == "", "client's empty <photo/> kept", s)

    # Directed presence gets the hash too; a second resource logging in has it in its first presence.
    phone = C(a, "alice", "phone")
    await phone.online(presence=False)
    phone.send_presence()
    s = await bob.expect(avail(phone), "the phone's first presence")
    check(photo_hash(s) == a["png_sha1"], "hash known at login (cached, not from the client)", s)
    await alice.offline()
    await phone.offline()
    await bob.offline()
run(main)
`,
      prefix,
    );
    // The service sees the same hash (cache gone with the sessions: read from storage).
    assert.equal(await p.server.modules.get(VcardServiceToken).photoHash(`${prefix}alice@${p.domain}`), PNG_SHA1);
  });

  test("slixmpp's own xep_0153 publishes an avatar; the contact fetches it", async () => {
    const prefix = await users("alice", "bob");
    await p.server.roster.addMutual(`${prefix}alice@${p.domain}`, `${prefix}bob@${p.domain}`);
    await run(
      `
import base64
async def main(a):
    alice = C(a, "alice", "desk", plugins=("xep_0054", "xep_0153"))
    bob = C(a, "bob", "pc", plugins=("xep_0054", "xep_0153"))
    await bob.online()
    await alice.online()
    await bob.expect(avail(alice), "alice online")
    bob.drain()
    await alice["xep_0153"].set_avatar(avatar=base64.b64decode(a["png"]), mtype="image/png", timeout=5)
    s = await bob.expect(lambda s: avail(alice)(s) and photo_hash(s) == a["png_sha1"], "presence announcing the new avatar")
    r = await bob["xep_0054"].get_vcard(alice.bare, timeout=5)
    check(r["vcard_temp"]["PHOTO"]["BINVAL"] == base64.b64decode(a["png"]), "bob fetched the image from alice's vCard", r)
    check(r["vcard_temp"]["PHOTO"]["TYPE"] == "image/png", "with its type", r)
    await alice.offline()
    await bob.offline()
run(main)
`,
      prefix,
    );
  });
});

describe("XEP-0054/0153 on PostgreSQL", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ database: "postgres" });
  });
  after(() => p?.stop());

  test("set, read through the bare JID, hash in the contact's presence", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice", "bob"]);
    await p.server.roster.addMutual(`${prefix}alice@${p.domain}`, `${prefix}bob@${p.domain}`);
    await scenario(
      parleyTarget(p),
      HELPERS +
        `
async def main(a):
    alice = C(a, "alice", "desk")
    bob = C(a, "bob", "pc")
    await bob.online()
    await alice.online(presence=False)
    r = await alice.iq("set", f"<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>{a['png']}</BINVAL></PHOTO></vCard>")
    check(r["type"] == "result", "vCard set", r)
    alice.send_presence()
    s = await bob.expect(avail(alice), "alice's presence")
    check(photo_hash(s) == a["png_sha1"], "hash in presence", s)
    r = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=alice.bare)
    check(vcard_of(r).findtext("{vcard-temp}PHOTO/{vcard-temp}BINVAL") == a["png"], "photo read back", r)
    await alice.offline()
    await bob.offline()
run(main)
`,
      { prefix, png: PNG.toString("base64"), png_sha1: PNG_SHA1 },
      { timeoutMs: 40_000 },
    );
  });
});
