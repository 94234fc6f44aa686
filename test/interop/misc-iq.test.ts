// Small server-answered IQs end to end with slixmpp's own plugins: XEP-0092 Software Version
// (name, version from package.json, no OS unless version.showOs), XEP-0202 Entity Time and
// XEP-0199 pings to the server, and their disco#info features.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";
import { events } from "../support/slixmpp.ts";

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const SCRIPT = `
from interop import *
import datetime

async def main(a):
    c = C(a, "alice", "desk", plugins=("xep_0030", "xep_0092", "xep_0199", "xep_0202"))
    await c.online()
    r = await c["xep_0092"].get_version(a["domain"], timeout=5)
    v = r["software_version"]
    emit("version", name=v["name"], version=v["version"], os=v["os"])

    r = await c["xep_0202"].get_entity_time(a["domain"], timeout=5)
    # Read from the XML: slixmpp 1.8.3's stanza getter appends a second 'Z' to <utc/>.
    t = datetime.datetime.fromisoformat(r.xml.findtext("{urn:xmpp:time}time/{urn:xmpp:time}utc"))
    now = datetime.datetime.now(datetime.timezone.utc)
    skew = abs((t - now).total_seconds())
    check(skew < 5, "server time within 5 s of ours", (str(t), str(now)))
    emit("time", utc=r.xml.findtext("{urn:xmpp:time}time/{urn:xmpp:time}utc"), tzo=r.xml.findtext("{urn:xmpp:time}time/{urn:xmpp:time}tzo"))

    rtt = await c["xep_0199"].ping(a["domain"], timeout=5)
    check(rtt >= 0, "ping to the server answered", rtt)
    r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>")
    check(r["type"] == "result", "ping to one's own account answered by the server", r)

    info = await c["xep_0030"].get_info(jid=a["domain"], timeout=5)
    feats = info["disco_info"]["features"]
    for f in ("jabber:iq:version", "urn:xmpp:time", "urn:xmpp:ping", "vcard-temp"):
        check(f in feats, f + " advertised", feats)

    # Version and time of another user's bare JID are not the server's to answer.
    r = await c.iq("get", "<query xmlns='jabber:iq:version'/>", to="nobody-" + a["prefix"] + "@" + a["domain"])
    check(r["type"] == "error", "version of a bare JID: an error", r)
    await c.offline()
run(main)
`;

describe("XEP-0092 version, XEP-0202 time, XEP-0199 ping to the server", () => {
  let p: TestParley;
  let withOs: TestParley;
  before(async () => {
    p = await startParley();
    withOs = await startParley({ env: { PARLEY_VERSION_SHOW_OS: "true" } });
  });
  after(async () => {
    await p?.stop();
    await withOs?.stop();
  });

  test("answers with Parley, the package version and no OS; the time; pings", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    const r = await scenario(parleyTarget(p), SCRIPT, { prefix });
    const [v] = events(r, "version");
    assert.equal(v.name, "Parley");
    assert.equal(v.version, PACKAGE_VERSION);
    assert.ok(v.os === "" || v.os === null, `no OS by default, got ${String(v.os)}`);
    const [t] = events(r, "time");
    assert.match(String(t.utc), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.match(String(t.tzo), /^[+-]\d\d:\d\d$/);
  });

  test("version.showOs adds the operating system", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(withOs, prefix, ["alice"]);
    const r = await scenario(parleyTarget(withOs), SCRIPT, { prefix });
    const [v] = events(r, "version");
    assert.ok(typeof v.os === "string" && v.os.length > 0, `an OS, got ${String(v.os)}`);
  });
});
