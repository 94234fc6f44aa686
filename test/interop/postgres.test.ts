// The core end-to-end scenarios on PostgreSQL storage (login with each SASL mechanism, roster,
// subscriptions, chat, offline storage). PostgreSQL is mandatory: if it is unreachable,
// startParley fails and so do these tests (see test/support/databases.ts).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { xml, type Element } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { parleyTarget, scenario, newUsers } from "./support/scenario.ts";
import { SCENARIOS } from "./support/scenarios.ts";
import { until, within, xmppjs } from "./support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

describe("core scenarios on PostgreSQL", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ database: "postgres" });
    assert.equal(p.server.config.database.kind, "postgres");
  });
  after(() => p?.stop());

  const users = (...names: string[]) => newUsers(p, ...names);

  test("postgres: slixmpp login with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN; wrong password refused", async () => {
    await scenario(
      parleyTarget(p),
      `
      from interop import *
      async def main(a):
          for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"):
              c = C(a, "alice", mech, mechanism=mech)
              await c.online(presence=False)
              await c.offline()
          bad = C(a, "alice", "bad", password="wrong")
          out = await bad.connect_and_wait(timeout=5)
          check(out["event"] == "auth_failed" and out.get("condition") == "not-authorized", "wrong password", out)
      run(main)
      `,
      { prefix: await users("alice") },
    );
  });

  test("postgres: roster get/set/push/remove", async () => {
    await scenario(parleyTarget(p), SCENARIOS.rosterBasics, { prefix: await users("alice", "bob") });
  });

  test("postgres: roster versioning", async () => {
    await scenario(parleyTarget(p), SCENARIOS.rosterVersioning, { prefix: await users("alice", "bob", "carol") });
  });

  test("postgres: subscription handshake", async () => {
    await scenario(parleyTarget(p), SCENARIOS.subscriptionHandshake, { prefix: await users("alice", "bob") });
  });

  test("postgres: stored subscription request delivered at login", async () => {
    await scenario(parleyTarget(p), SCENARIOS.subscribeOffline, { prefix: await users("alice", "bob") });
  });

  test("postgres: chat to the bare JID by priority", async () => {
    await scenario(parleyTarget(p), SCENARIOS.bareJidPriorities, { prefix: await users("alice", "bob") });
  });

  test("postgres: 20 offline messages in order with delay stamps", async () => {
    await scenario(parleyTarget(p), SCENARIOS.offlineOrder, { prefix: await users("alice", "bob"), count: 20 });
  });

  test("postgres: @xmpp/client chat and offline delivery", async (t) => {
    const prefix = await users("alice", "bob");
    const B = `${prefix}bob@localhost`;
    const alice = xmppjs(p.port, prefix + "alice", "alicepw", "js", "SCRAM-SHA-1");
    t.after(() => alice.stop().catch(() => {}));
    await within(alice.start(), 15_000, "xmpp.js login");
    await alice.send(xml("presence"));
    await alice.send(xml("message", { to: B, type: "chat" }, xml("body", {}, "stored in postgres")));
    await alice.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000);
    const bob = xmppjs(p.port, prefix + "bob", "bobpw", "js", "PLAIN");
    t.after(() => bob.stop().catch(() => {}));
    const got: Element[] = [];
    bob.on("stanza", (s: Element) => {
      if (s.is("message") && s.getChildText("body")) got.push(s);
    });
    await within(bob.start(), 15_000, "xmpp.js login");
    await bob.send(xml("presence"));
    await until(() => got.length === 1, 5000, "the offline message");
    assert.equal(got[0].getChildText("body"), "stored in postgres");
    assert.ok(got[0].getChild("delay", "urn:xmpp:delay"), got[0].toString());
    await alice.send(xml("message", { to: B, type: "chat" }, xml("body", {}, "live")));
    await until(() => got.length === 2, 5000, "the live message");
    assert.equal(got[1].getChild("delay", "urn:xmpp:delay"), undefined);
    await alice.stop();
    await bob.stop();
  });
});
