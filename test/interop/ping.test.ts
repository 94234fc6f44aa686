// XEP-0199 server-to-client pings (dead-peer detection), with small limits: a client silent for
// limits.pingIntervalSeconds is pinged; one that answers (result, or even an error, §4.2) stays,
// one that answers nothing is disconnected with connection-timeout after pingTimeoutSeconds.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";
import { RawClient } from "./support/raw-client.ts";
import { Jid } from "../../src/jid/jid.ts";

const isPing = (e: { is(n: string): boolean; attrs: Record<string, string>; getChild(n: string, ns?: string): unknown }) =>
  e.is("iq") && e.attrs.type === "get" && e.attrs.from === "localhost" && e.getChild("ping", "urn:xmpp:ping") !== undefined;

describe("XEP-0199: the server pings silent clients", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_LIMITS_PING_INTERVAL_SECONDS: "1", PARLEY_LIMITS_PING_TIMEOUT_SECONDS: "1" } });
  });
  after(() => p?.stop());

  test("slixmpp answers the pings and stays connected", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    await scenario(
      parleyTarget(p),
      `
from interop import *
def ping_from_server(a):
    def match(s):
        return s.xml.tag == q("iq") and s.xml.get("type") == "get" and s.xml.get("from") == a["domain"] and s.xml.find("{urn:xmpp:ping}ping") is not None
    return match

async def main(a):
    c = C(a, "alice", "desk", plugins=("xep_0199",))
    await c.online()
    await c.expect(ping_from_server(a), "a first ping from the server", timeout=4)
    await c.expect(ping_from_server(a), "a second ping", timeout=4)
    await c.expect(ping_from_server(a), "a third ping", timeout=4)
    check(c.transport is not None, "still connected after answering")
    r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=a["domain"])
    check(r["type"] == "result", "the stream still works", r)
    await c.offline()
run(main)
`,
      { prefix },
    );
  });

  test("a client that never answers is disconnected with connection-timeout", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["mute"]);
    const c = await RawClient.connect(p.port);
    try {
      const full = await c.login(`${prefix}mute`, "mutepw", "desk");
      const started = Date.now();
      const ping = await c.next(isPing, 4000, "a ping from the server");
      assert.equal(ping.attrs.to, full);
      assert.equal(await c.streamError(4000), "connection-timeout");
      await c.waitClosed(3000);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900, `not before the timeout (${elapsed} ms)`);
      assert.equal(p.server.host.sessions.get(Jid.parse(full)), undefined);
    } finally {
      c.destroy();
    }
  });

  test("an error reply counts as an answer (§4.2); so does other traffic", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["err"]);
    const c = await RawClient.connect(p.port);
    try {
      const full = await c.login(`${prefix}err`, "errpw", "desk");
      for (let i = 0; i < 3; i++) {
        const ping = await c.next(isPing, 4000, `ping ${i + 1}`);
        c.send(`<iq type='error' id='${ping.attrs.id}' to='localhost'><ping xmlns='urn:xmpp:ping'/><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
      }
      // Instead of answering, send something else: a presence.
      await c.next(isPing, 4000, "ping 4");
      c.send("<presence/>");
      await c.next(isPing, 4000, "ping 5");
      assert.equal(c.closed, false);
      assert.ok(p.server.host.sessions.get(Jid.parse(full)), "still bound");
      assert.equal(c.all.filter((e) => e.name === "stream:error").length, 0);
    } finally {
      await c.close();
    }
  });
});
