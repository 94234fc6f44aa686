// Streams (RFC 6120 §4-§7, XEP-0368) end to end: STARTTLS policy, each SASL mechanism with
// two independent clients (slixmpp, @xmpp/client), resource binding and conflicts, direct TLS,
// whitespace keepalive, idle time-out, TCP_NODELAY. Byte-level checks use the raw client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import tls from "node:tls";
import { xml, type Element, type XmppClient } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { PYTHON } from "../support/slixmpp.ts";
import { NS_SASL, NS_TLS, RawClient } from "./support/raw-client.ts";
import { addPrefixedUsers, parleyTarget, scenario, uniquePrefix } from "./support/scenario.ts";
import { within, xmppjs as makeXmppjs } from "./support/xmppjs.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

const mechanisms = (features: Element): string[] => (features.getChild("mechanisms", NS_SASL)?.getChildren("mechanism") ?? []).map((m) => m.text());

describe("streams", { concurrency: true }, () => {
  let p: TestParley;
  let idle: TestParley;
  let optionalTls: TestParley;
  before(async () => {
    [p, idle, optionalTls] = await Promise.all([
      startParley({ users: [["alice", "alicepw"]] }),
      startParley({ users: [["alice", "alicepw"]], env: { PARLEY_LIMITS_IDLE_TIMEOUT_SECONDS: "1" } }),
      startParley({ users: [["alice", "alicepw"]], env: { PARLEY_C2S_REQUIRE_TLS: "false" } }),
    ]);
  });
  after(async () => {
    await Promise.all([p?.stop(), idle?.stop(), optionalTls?.stop()]);
  });

  // --- STARTTLS policy (raw) --------------------------------------------------------------
  test("STARTTLS is required: <required/>, no mechanisms before TLS, auth → encryption-required", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    const f1 = await c.openStream();
    const starttls = f1.getChild("starttls", NS_TLS);
    assert.ok(starttls, f1.toString());
    assert.ok(starttls.getChild("required"), "starttls must carry <required/>: " + f1.toString());
    assert.equal(f1.getChild("mechanisms", NS_SASL), undefined, "no SASL before TLS: " + f1.toString());
    c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from("\0alice\0alicepw").toString("base64")}</auth>`);
    const fail = await c.next((e) => e.attrs.xmlns === NS_SASL);
    assert.equal(fail.name, "failure");
    assert.ok(fail.getChild("encryption-required"), fail.toString());
    // The stream survives the refusal: STARTTLS still works, then all mechanisms appear.
    await c.startTls();
    const f2 = await c.openStream();
    assert.equal(f2.getChild("starttls", NS_TLS), undefined, "no STARTTLS offer on a TLS stream");
    assert.deepEqual(mechanisms(f2).sort(), ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"]);
    assert.equal((await c.authPlain("alice", "alicepw")).name, "success");
  });

  test("PLAIN is offered only after TLS (server with TLS optional)", async (t) => {
    const c = await RawClient.connect(optionalTls.port);
    t.after(() => c.destroy());
    const f1 = await c.openStream();
    const starttls = f1.getChild("starttls", NS_TLS);
    assert.ok(starttls && !starttls.getChild("required"), f1.toString());
    assert.deepEqual(mechanisms(f1).sort(), ["SCRAM-SHA-1", "SCRAM-SHA-256"]);
    const fail = await c.authPlain("alice", "alicepw");
    assert.equal(fail.name, "failure");
    assert.ok(fail.getChild("invalid-mechanism"), fail.toString());
    await c.startTls();
    const f2 = await c.openStream();
    assert.ok(mechanisms(f2).includes("PLAIN"), f2.toString());
    assert.equal((await c.authPlain("alice", "alicepw")).name, "success");
  });

  // --- SASL with slixmpp -----------------------------------------------------------------
  for (const mech of ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]) {
    test(`slixmpp logs in with ${mech} over STARTTLS`, async () => {
      const prefix = uniquePrefix();
      await addPrefixedUsers(p, prefix, ["alice"]);
      await scenario(
        parleyTarget(p),
        `
        from interop import *
        async def main(a):
            c = C(a, "alice", "sasl", mechanism=a["mech"])
            out = await c.online(presence=False)
            check(c["feature_mechanisms"].mech.name == a["mech"], "mechanism used", c["feature_mechanisms"].mech.name)
            check(out["tls"].get("version", "").startswith("TLS"), "stream is encrypted", out["tls"])
            check(c.full == a["prefix"] + "alice@localhost/sasl", "bound JID", c.full)
            await c.offline()
        run(main)
        `,
        { mech, prefix },
      );
    });
  }

  test("slixmpp: wrong password and unknown user → not-authorized (each mechanism)", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    await scenario(
      parleyTarget(p),
      `
      from interop import *
      async def main(a):
          for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"):
              for who, pw in (("alice", "wrong"), ("nobody", "nobodypw")):
                  c = C(a, who, "x", password=pw, mechanism=mech, name=f"{who}-{mech}")
                  out = await c.connect_and_wait(timeout=5)
                  check(out["event"] == "auth_failed", f"{who}/{mech} refused", out)
                  check(out.get("condition") == "not-authorized", f"{who}/{mech} condition", out)
                  await c.offline()
      run(main)
      `,
      { prefix },
    );
  });

  test("slixmpp: resource binding, client-chosen and server-generated", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    await scenario(
      parleyTarget(p),
      `
      from interop import *
      async def main(a):
          chosen = C(a, "alice", "my-laptop")
          await chosen.online(presence=False)
          check(chosen.boundjid.resource == "my-laptop", "client-chosen resource kept", chosen.full)
          gen = C(a, "alice", None, name="generated")
          await gen.online(presence=False)
          check(gen.boundjid.bare == a["prefix"] + "alice@localhost", "bare JID", gen.full)
          check(len(gen.boundjid.resource) >= 4, "server generated a resource", gen.full)
          check(gen.boundjid.resource != "my-laptop", "a different resource", gen.full)
          gen2 = C(a, "alice", None, name="generated2")
          await gen2.online(presence=False)
          check(gen2.boundjid.resource != gen.boundjid.resource, "generated resources are unique", gen2.full)
          for c in (chosen, gen, gen2):
              await c.offline()
      run(main)
      `,
      { prefix },
    );
  });

  test("slixmpp: resource conflict — the second login with the same resource kicks the first with <conflict/>", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    await scenario(
      parleyTarget(p),
      `
      from interop import *
      async def main(a):
          first = C(a, "alice", "same", name="first")
          await first.online()
          second = C(a, "alice", "same", name="second")
          await second.online()
          err = await first.wait_for("stream_error", timeout=5)
          check(err["condition"] == "conflict", "first got conflict", err)
          await first.wait_for("disconnected", timeout=5)
          check(second.full == first.full, "same full JID", second.full)
          r = await second.iq("get", "<ping xmlns='urn:xmpp:ping'/>")
          check(r["type"] == "result", "the new session works", r)
          await second.offline()
      run(main)
      `,
      { prefix },
    );
  });

  test("slixmpp: direct TLS (XEP-0368) login", async () => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    await scenario(
      parleyTarget(p),
      `
      from interop import *
      async def main(a):
          for mech in ("SCRAM-SHA-256", "PLAIN"):
              c = C(a, "alice", "dtls-" + mech, tls="direct", mechanism=mech)
              out = await c.online()
              check(out["tls"].get("version", "").startswith("TLS"), "TLS from the first byte", out)
              r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>")
              check(r["type"] == "result", "ping over direct TLS", r)
              await c.offline()
      run(main)
      `,
      { prefix },
    );
  });

  test("raw direct TLS: ALPN xmpp-client, no STARTTLS offered, PLAIN offered", async (t) => {
    const c = await RawClient.connect(p.tlsPort, { tls: true });
    t.after(() => c.destroy());
    assert.equal((c.socket as tls.TLSSocket).alpnProtocol, "xmpp-client");
    const f = await c.openStream();
    assert.equal(f.getChild("starttls", NS_TLS), undefined);
    assert.ok(mechanisms(f).includes("PLAIN"), f.toString());
    assert.equal((await c.authPlain("alice", "alicepw")).name, "success");
    await c.openStream();
    assert.equal(await c.bind("raw-dtls"), "alice@localhost/raw-dtls");
  });

  // --- @xmpp/client -------------------------------------------------------------------------
  const xmppjs = (username: string, password: string, resource: string, mechanism?: string): XmppClient =>
    makeXmppjs(p.port, username, password, resource, mechanism);

  for (const mech of ["SCRAM-SHA-1", "PLAIN"]) {
    test(`@xmpp/client logs in with ${mech} (STARTTLS) and pings`, async (t) => {
      const prefix = uniquePrefix();
      await addPrefixedUsers(p, prefix, ["alice"]);
      const c = xmppjs(prefix + "alice", "alicepw", "js", mech);
      t.after(() => c.stop().catch(() => {}));
      const jid = await within(c.start(), 15000, "xmpp.js start");
      assert.equal(String(jid), `${prefix}alice@localhost/js`);
      const r = await c.iqCaller.request(xml("iq", { type: "get", id: "ping1" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000);
      assert.equal(r.attrs.type, "result");
      await c.stop();
    });
  }

  test("@xmpp/client logs in over direct TLS (xmpps://, XEP-0368)", async (t) => {
    const prefix = uniquePrefix();
    await addPrefixedUsers(p, prefix, ["alice"]);
    const c = makeXmppjs(p.tlsPort, prefix + "alice", "alicepw", "jstls", "PLAIN", { directTls: true });
    t.after(() => c.stop().catch(() => {}));
    const jid = await within(c.start(), 15000, "xmpp.js start");
    assert.equal(String(jid), `${prefix}alice@localhost/jstls`);
    const r = await c.iqCaller.request(xml("iq", { type: "get", id: "ping2" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000);
    assert.equal(r.attrs.type, "result");
    await c.stop();
  });

  test("@xmpp/client: wrong password → SASL not-authorized", async () => {
    const c = xmppjs("alice", "nope", "js-bad", "SCRAM-SHA-1");
    const err = await within(c.start().then(() => undefined, (e: any) => e), 15000, "xmpp.js start");
    assert.ok(err, "login must fail");
    assert.equal(err.condition, "not-authorized", String(err));
    await c.stop().catch(() => {});
  });

  // --- keepalive, idle time-out, socket options -------------------------------------------
  test("whitespace keepalives between and inside stanzas are accepted", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    await c.login("alice", "alicepw", "ws");
    for (let i = 0; i < 5; i++) {
      c.send(" ");
      c.send("\n");
      c.send(`\t<iq type='get' id='ka${i}'>\n  <ping xmlns='urn:xmpp:ping'/>\n</iq>\r\n `);
      assert.equal((await c.next((e) => e.attrs.id === `ka${i}`)).attrs.type, "result");
    }
    assert.equal(c.closed, false);
    assert.equal(c.all.some((e) => e.name === "stream:error"), false, c.text);
  });

  test("idle time-out → connection-timeout; whitespace keeps a stream alive", async (t) => {
    // PARLEY_LIMITS_IDLE_TIMEOUT_SECONDS=1; the listener sweeps every 5 s, so allow up to 8 s.
    const silent = await RawClient.connect(idle.port);
    const chatty = await RawClient.connect(idle.port);
    t.after(() => {
      silent.destroy();
      chatty.destroy();
    });
    await Promise.all([silent.login("alice", "alicepw", "silent"), chatty.login("alice", "alicepw", "chatty")]);
    const ticker = setInterval(() => chatty.send(" "), 300);
    t.after(() => clearInterval(ticker));
    const started = Date.now();
    assert.equal(await silent.streamError(8000), "connection-timeout");
    await silent.waitClosed();
    assert.ok(Date.now() - started >= 900, "not before the time-out");
    clearInterval(ticker);
    assert.equal(chatty.closed, false, "the stream that sent whitespace is still open");
    chatty.send("<iq type='get' id='still'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert.equal((await chatty.next((e) => e.attrs.id === "still")).attrs.type, "result");
  });

  test("TCP_NODELAY is set on accepted sockets (STARTTLS and direct TLS ports)", async (t) => {
    // Node cannot read a socket option back; a Python helper duplicates this process's socket
    // with pidfd_getfd(2) and reads TCP_NODELAY with getsockopt(2).
    const plain = await RawClient.connect(p.port);
    const direct = await RawClient.connect(p.tlsPort, { tls: true });
    t.after(() => {
      plain.destroy();
      direct.destroy();
    });
    await plain.login("alice", "alicepw", "nodelay");
    await direct.openStream();
    for (const [c, port] of [[plain, p.port], [direct, p.tlsPort]] as const) {
      const r = await sockopt(port, c.socket.localPort!);
      if ("error" in r) {
        t.skip(`cannot inspect the server socket: ${r.error}`);
        return;
      }
      assert.equal(r.nodelay, 1, `TCP_NODELAY on the server side of port ${port}`);
    }
  });
});

function sockopt(serverPort: number, clientPort: number): Promise<{ nodelay: number } | { error: string }> {
  const script = fileURLToPath(new URL("./support/sockopt.py", import.meta.url));
  return new Promise((resolve) => {
    execFile(PYTHON, [script, String(process.pid), String(serverPort), String(clientPort)], { timeout: 10_000 }, (err, stdout) => {
      try {
        resolve(JSON.parse(stdout.trim()));
      } catch {
        resolve({ error: err ? err.message : `unexpected output ${stdout}` });
      }
    });
  });
}
