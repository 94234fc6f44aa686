// XEP-0077 In-Band Registration end to end: off by default (no stream feature, requests get
// service-unavailable); when enabled, offered after STARTTLS only, slixmpp's xep_0077 creates an
// account and logs in with it, changes its password and cancels its registration; conflicts,
// one account per stream and the per-address hourly limit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";
import { RawClient, stanzaErrorCondition } from "./support/raw-client.ts";

const NS_REGISTER = "jabber:iq:register";
const NS_FEATURE = "http://jabber.org/features/iq-register";

/** Opens a stream, upgrades it to TLS and returns the features offered then. */
async function securedStream(port: number): Promise<{ c: RawClient; features: Awaited<ReturnType<RawClient["openStream"]>> }> {
  const c = await RawClient.connect(port);
  await c.openStream();
  await c.startTls();
  return { c, features: await c.openStream() };
}

function registerSet(id: string, username: string, password: string): string {
  return `<iq type='set' id='${id}'><query xmlns='${NS_REGISTER}'><username>${username}</username><password>${password}</password></query></iq>`;
}

describe("XEP-0077 in-band registration: disabled (the default)", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_REGISTRATION_ALLOW_ACCOUNT_CHANGES: "false" } });
  });
  after(() => p?.stop());

  test("not offered; get and set answered with service-unavailable; the stream still works", async () => {
    const prefix = uniquePrefix();
    await p.addUsers([[`${prefix}alice`, "alicepw"]]);
    const { c, features } = await securedStream(p.port);
    try {
      assert.equal(features.getChild("register", NS_FEATURE), undefined);
      const g = await c.iq(`<iq type='get' id='g1'><query xmlns='${NS_REGISTER}'/></iq>`, "g1");
      assert.equal(g.attrs.type, "error");
      assert.equal(stanzaErrorCondition(g), "service-unavailable");
      const s = await c.iq(registerSet("s1", `${prefix}eve`, "evepw"), "s1");
      assert.equal(stanzaErrorCondition(s), "service-unavailable");
      assert.equal(await p.server.accounts.exists(`${prefix}eve`), false);
      // Authentication on the same stream goes on as usual.
      const a = await c.authPlain(`${prefix}alice`, "alicepw");
      assert.equal(a.name, "success");
      await c.openStream();
      await c.bind("r");
      // registration.allowAccountChanges is off here: no password change, no removal.
      const pw = await c.iq(`<iq type='set' id='pw1'><query xmlns='${NS_REGISTER}'><username>${prefix}alice</username><password>x</password></query></iq>`, "pw1");
      assert.equal(stanzaErrorCondition(pw), "not-allowed");
      assert.ok(!pw.toString().includes("<password>"), "the password is not echoed back");
      const rm = await c.iq(`<iq type='set' id='rm1'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`, "rm1");
      assert.equal(stanzaErrorCondition(rm), "not-allowed");
      assert.equal(await p.server.accounts.exists(`${prefix}alice`), true);
    } finally {
      await c.close();
    }
  });
});

describe("XEP-0077 in-band registration: enabled", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_REGISTRATION_ENABLED: "true", PARLEY_REGISTRATION_MAX_PER_ADDRESS_PER_HOUR: "2" } });
  });
  after(() => p?.stop());
  const prefix = uniquePrefix();

  test("offered after STARTTLS only; before TLS a request gets not-authorized", async () => {
    const c = await RawClient.connect(p.port);
    try {
      const plain = await c.openStream();
      assert.equal(plain.getChild("register", NS_FEATURE), undefined, "not offered on a plaintext stream");
      const g = await c.iq(`<iq type='get' id='g0'><query xmlns='${NS_REGISTER}'/></iq>`, "g0");
      assert.equal(stanzaErrorCondition(g), "not-authorized");
      await c.startTls();
      const secured = await c.openStream();
      assert.ok(secured.getChild("register", NS_FEATURE), "offered once TLS is up");
      const form = await c.iq(`<iq type='get' id='g1' to='localhost'><query xmlns='${NS_REGISTER}'/></iq>`, "g1");
      assert.equal(form.attrs.type, "result");
      assert.equal(form.attrs.from, "localhost");
      const q = form.getChild("query", NS_REGISTER)!;
      assert.ok(q.getChild("username") && q.getChild("password") && q.getChild("instructions"));
    } finally {
      await c.close();
    }
  });

  test("slixmpp registers, logs in, changes its password and cancels its registration", async () => {
    await scenario(
      parleyTarget(p),
      `
from interop import *

def registering(a, who, password):
    c = C(a, who, "r", password=password, plugins=("xep_0004", "xep_0066", "xep_0077"))
    # slixmpp 1.8.3 holds back every IQ sent before its session starts (XMLStream.send
    # queues it), which includes xep_0077's own registration IQs; this lets them through.
    c._always_send_everything = True
    async def on_register(form):
        fields = form["register"]["fields"]
        emit("form", fields=sorted(fields))
        resp = c.Iq()
        resp["type"] = "set"
        resp["register"]["username"] = c.boundjid.user
        resp["register"]["password"] = password
        await resp.send(timeout=5)
        emit("registered", user=c.boundjid.user)
    c.add_event_handler("register", on_register)
    return c

async def main(a):
    c = registering(a, "newbie", "first-pw")
    out = await c.connect_and_wait()
    check(out["event"] == "session_start", "registered and logged in with the new account", out)
    r = await c["xep_0077"].change_password("second-pw", jid=a["domain"], timeout=5)
    check(r["type"] == "result", "password changed", r)
    await c.offline()

    old = C(a, "newbie", "r", password="first-pw")
    out = await old.connect_and_wait()
    check(out["event"] == "auth_failed", "the old password no longer works", out)
    new = C(a, "newbie", "r", password="second-pw")
    await new.online()
    r = await new.iq("get", "<query xmlns='jabber:iq:register'/>")
    check(r.xml.find("{jabber:iq:register}query/{jabber:iq:register}registered") is not None, "get says <registered/>", r)
    r = await new.iq("set", "<query xmlns='jabber:iq:register'><username>someone-else</username><password>x</password></query>")
    check(error_condition(r) == "bad-request", "another username → bad-request", r)
    r = await new.iq("set", "<query xmlns='jabber:iq:register'><remove/></query>")
    check(r["type"] == "result", "registration cancelled", r)
    err = await new.wait_for("stream_error", timeout=5)
    check(err["condition"] == "not-authorized", "then the stream ends with not-authorized", err)

    gone = C(a, "newbie", "r", password="second-pw")
    out = await gone.connect_and_wait()
    check(out["event"] == "auth_failed", "the account is gone", out)
run(main)
`,
      { prefix },
      { timeoutMs: 40_000 },
    );
    assert.equal(await p.server.accounts.exists(`${prefix}newbie`), false);
  });

});

describe("XEP-0077 in-band registration: refusals and limits", () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_REGISTRATION_ENABLED: "true", PARLEY_REGISTRATION_MAX_PER_ADDRESS_PER_HOUR: "2" } });
  });
  after(() => p?.stop());
  const prefix = uniquePrefix();

  test("conflict, missing fields, bad usernames, one account per stream, then the per-address hourly limit", async () => {
    await p.addUsers([[`${prefix}taken`, "takenpw"]]);
    await p.server.accounts.create(`${prefix}first`, "x"); // not in-band: does not count
    const { c: b } = await securedStream(p.port);
    try {
      const ok = await b.iq(registerSet("b1", `${prefix}zeroth`, "zerothpw"), "b1");
      assert.equal(ok.attrs.type, "result", "first in-band registration of this address");
    } finally {
      await b.close();
    }
    const { c } = await securedStream(p.port);
    try {
      const conflict = await c.iq(registerSet("c1", `${prefix}taken`, "x"), "c1");
      assert.equal(stanzaErrorCondition(conflict), "conflict");
      const missing = await c.iq(`<iq type='set' id='c2'><query xmlns='${NS_REGISTER}'><username>${prefix}nopw</username></query></iq>`, "c2");
      assert.equal(stanzaErrorCondition(missing), "not-acceptable");
      const bad = await c.iq(registerSet("c3", "bad@name", "x"), "c3");
      assert.equal(stanzaErrorCondition(bad), "not-acceptable");
      const ok = await c.iq(registerSet("c4", `${prefix}second`, "secondpw"), "c4");
      assert.equal(ok.attrs.type, "result");
      const again = await c.iq(registerSet("c5", `${prefix}third`, "thirdpw"), "c5");
      assert.equal(stanzaErrorCondition(again), "not-acceptable", "one account per stream");
      // The new account logs in on this very stream.
      assert.equal((await c.authPlain(`${prefix}second`, "secondpw")).name, "success");
    } finally {
      await c.close();
    }
    const { c: d } = await securedStream(p.port);
    try {
      const limited = await d.iq(registerSet("d1", `${prefix}fourth`, "fourthpw"), "d1");
      assert.equal(stanzaErrorCondition(limited), "policy-violation");
      assert.equal(limited.getChild("error")?.attrs.type, "wait");
      assert.equal(await p.server.accounts.exists(`${prefix}fourth`), false);
    } finally {
      await d.close();
    }
  });
});
