// Tests of the interop helpers themselves: the slixmpp runner and wrapper, checked against a
// private Prosody. On CI (CI=true) missing Debian packages fail the run; elsewhere these tests
// are skipped with the reason (run `bash .ci/run` or install python3-slixmpp and prosody).

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describeRun, events, lastEvent, parseJsonLines, runSlixmpp, slixmppAvailable } from "./slixmpp.ts";
import { prosodyAvailable, startProsody } from "./prosody.ts";
import type { ProsodyInstance } from "./prosody.ts";

function need(what: string, ok: boolean): string | false {
  if (ok) return false;
  if (process.env.CI) assert.fail(`${what} is not installed (.ci/run installs it)`);
  return `${what} is not installed`;
}
const noSlixmpp = need("python3-slixmpp", slixmppAvailable());
const noProsody = noSlixmpp || need("prosody", prosodyAvailable());

test("parseJsonLines keeps only JSON objects with an event", () => {
  assert.deepEqual(parseJsonLines('noise\n{"event":"a","x":1}\n[1]\n{"no":"event"}\n{bad\n  {"event":"b"}  \n'), [
    { event: "a", x: 1 },
    { event: "b" },
  ]);
});

test("runSlixmpp: the wrapper imports, args arrive, JSON lines come back", { skip: noSlixmpp }, async () => {
  const r = await runSlixmpp(
    `
    import slixmpp
    from slixmpp_client import Client, emit, run
    async def main(a):
        emit("hello", version=slixmpp.__version__, name=a["name"], n=a["n"])
        c = Client("alice@localhost", "pw", "127.0.0.1", 1)
        assert c["feature_mechanisms"].use_mechs == ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
        forced = Client("bob@localhost", "pw", mechanism="PLAIN", tls="direct")
        assert forced["feature_mechanisms"].use_mech == "PLAIN" and forced["feature_mechanisms"].unencrypted_plain
        return {"ok": True}
    run(main)
    `,
    { name: "x", n: 3 },
    { timeoutMs: 20_000 },
  );
  assert.equal(r.code, 0, describeRun(r));
  const hello = lastEvent(r, "hello");
  assert.match(String(hello?.version), /^1\./);
  assert.equal(hello?.name, "x");
  assert.equal(hello?.n, 3);
  assert.deepEqual(lastEvent(r, "done")?.result, { ok: true });
});

test("runSlixmpp: a failing script reports an error event and exit 1", { skip: noSlixmpp }, async () => {
  const r = await runSlixmpp("from slixmpp_client import run\nasync def main(a):\n    raise RuntimeError('boom')\nrun(main)\n", {}, { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(String(lastEvent(r, "error")?.error), /RuntimeError: boom/);
});

test("runSlixmpp: a script that hangs is killed at the time-out", { skip: noSlixmpp }, async () => {
  const r = await runSlixmpp("import time\nprint('{\"event\":\"started\"}', flush=True)\ntime.sleep(60)\n", {}, { timeoutMs: 1500 });
  assert.equal(r.timedOut, true);
  assert.equal(r.code, null);
  assert.equal(r.signal, "SIGKILL");
  assert.equal(events(r, "started").length, 1);
});

test("runSlixmpp: connection refused is an outcome, not a hang", { skip: noSlixmpp }, async () => {
  const r = await runSlixmpp(
    `
    from slixmpp_client import Client, run
    async def main(a):
        c = Client("alice@localhost", "pw", "127.0.0.1", int(a["port"]))
        return (await c.connect_and_wait(timeout=5))["event"]
    run(main)
    `,
    { port: 1 },
    { timeoutMs: 20_000 },
  );
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(lastEvent(r, "done")?.result, "connection_failed");
});

// One Prosody for the cross-checks below.
const LOGIN = `
from slixmpp_client import Client, run
async def main(a):
    c = Client(a["jid"], a["password"], a["host"], int(a["port"]), tls=a["tls"], mechanism=a.get("mech") or None)
    out = await c.connect_and_wait(timeout=10)
    await c.offline()
    return out
run(main)
`;

test("against a private Prosody: mechanisms, TLS modes, failures and a message", { skip: noProsody }, async (t) => {
  let p: ProsodyInstance | undefined;
  t.after(() => p?.stop());
  p = await startProsody({ users: [{ user: "alice", password: "secret" }, { user: "bob", password: "hunter2" }] });
  const prosody = p;
  assert.ok(existsSync(prosody.configPath));
  const base = { jid: `alice@${prosody.domain}`, password: "secret", host: prosody.host };
  const login = (args: Record<string, string>) => runSlixmpp(LOGIN, { ...base, ...args }, { timeoutMs: 30_000 });

  await t.test("SCRAM-SHA-1 over STARTTLS", async () => {
    const r = await login({ port: String(prosody.c2sPort), tls: "starttls", mech: "SCRAM-SHA-1" });
    assert.equal(r.code, 0, describeRun(r));
    const out = lastEvent(r, "done")?.result as { event: string; jid: string; tls: { fingerprint: string; version: string } };
    assert.equal(out.event, "session_start", describeRun(r));
    assert.match(out.jid, new RegExp(`^alice@${prosody.domain}/`));
    assert.equal(out.tls.fingerprint, prosody.fingerprint);
    assert.match(out.tls.version, /^TLSv1\.[23]$/);
  });

  await t.test("PLAIN over direct TLS (XEP-0368)", async () => {
    const r = await login({ port: String(prosody.directTlsPort), tls: "direct", mech: "PLAIN" });
    assert.equal((lastEvent(r, "done")?.result as { event: string }).event, "session_start", describeRun(r));
  });

  await t.test("default mechanism choice", async () => {
    const r = await login({ port: String(prosody.c2sPort), tls: "starttls" });
    assert.equal((lastEvent(r, "done")?.result as { event: string }).event, "session_start", describeRun(r));
  });

  await t.test("a wrong password is auth_failed with the condition", async () => {
    const r = await login({ port: String(prosody.c2sPort), tls: "starttls", mech: "SCRAM-SHA-1", password: "wrong" });
    const out = lastEvent(r, "done")?.result as { event: string; condition: string; mechanism: string };
    assert.equal(out.event, "auth_failed", describeRun(r));
    assert.equal(out.condition, "not-authorized");
  });

  await t.test("a mechanism the server does not offer is auth_failed", async () => {
    const r = await login({ port: String(prosody.c2sPort), tls: "starttls", mech: "SCRAM-SHA-512" });
    const out = lastEvent(r, "done")?.result as { event: string; offered: string[] };
    assert.equal(out.event, "auth_failed", describeRun(r));
    assert.ok(out.offered.includes("SCRAM-SHA-1"), describeRun(r));
  });

  await t.test("two clients exchange a message", async () => {
    const r = await runSlixmpp(
      `
      from slixmpp_client import Client, emit, run
      async def main(a):
          alice = Client(a["alice"], "secret", a["host"], int(a["port"]), name="alice")
          bob = Client(a["bob"], "hunter2", a["host"], int(a["port"]), name="bob")
          await alice.online()
          await bob.online()
          alice.send_message(mto=str(bob.boundjid), mbody="hello bob", mtype="chat")
          got = await bob.wait_for("message", timeout=5, match=lambda m: m["body"] == "hello bob")
          await alice.offline()
          await bob.offline()
          return got
      run(main)
      `,
      { alice: `alice@${prosody.domain}`, bob: `bob@${prosody.domain}`, host: prosody.host, port: prosody.c2sPort },
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    const got = lastEvent(r, "done")?.result as Record<string, string>;
    assert.equal(got.body, "hello bob");
    assert.equal(got.type, "chat");
    assert.match(got.from, new RegExp(`^alice@${prosody.domain}/`));
    assert.equal(events(r, "session_start").length, 2);
  });

  await t.test("accounts can be added while it runs", async () => {
    prosody.register("carol", "pw3");
    const r = await login({ port: String(prosody.c2sPort), tls: "starttls", jid: `carol@${prosody.domain}`, password: "pw3" });
    assert.equal((lastEvent(r, "done")?.result as { event: string }).event, "session_start", describeRun(r));
  });
});
