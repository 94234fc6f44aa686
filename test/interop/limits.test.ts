// Abuse limits (issue #3) over real sockets from 127.0.0.1: failed-authentication blocks per
// account and per address, the exempt list, the per-address connection cap shared by TCP,
// direct TLS and WebSocket, and inbound rate shaping. Loopback is exempt by default, so the
// servers that must show a limit biting start with `limits.exemptAddresses: none`.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { Element } from "@xmpp/xml";
import { startParley, type TestParley } from "../support/parley.ts";
import { NS_SASL, RawClient } from "./support/raw-client.ts";
import { xmppjs, within } from "./support/xmppjs.ts";

const USERS: Array<[string, string]> = [
  ["alice", "alicepw"],
  ["bob", "bobpw"],
  ["carol", "carolpw"],
  ["dave", "davepw"],
];

/** A client at the SASL stage: stream, STARTTLS, restarted stream. */
async function preAuth(server: TestParley, t: { after(fn: () => unknown): void }): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  t.after(() => c.destroy());
  await c.openStream();
  await c.startTls();
  await c.openStream();
  return c;
}

/** The SASL outcome: "success", or the failure condition with its text. */
function outcome(e: Element): { condition: string; text: string | undefined } {
  assert.equal(e.attrs.xmlns, NS_SASL);
  if (e.name === "success") return { condition: "success", text: undefined };
  const cond = e.getChildElements().find((c) => c.name !== "text");
  return { condition: cond?.name ?? "(none)", text: e.getChildText("text") ?? undefined };
}

/** `count` PLAIN attempts, at most four per connection (the fifth failure ends a stream). */
async function attempts(server: TestParley, t: { after(fn: () => unknown): void }, user: string, password: string, count: number) {
  const results: Array<{ condition: string; text: string | undefined }> = [];
  let c: RawClient | undefined;
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) {
      c?.destroy();
      c = await preAuth(server, t);
    }
    results.push(outcome(await c!.authPlain(user, password)));
  }
  c?.destroy();
  return results;
}

describe("abuse limits", { concurrency: true }, () => {
  let strict: TestParley; // nothing exempt: failed-authentication blocks
  let exempt: TestParley; // the default exempt list (loopback), small limits
  let capped: TestParley; // nothing exempt: 3 connections per address
  let shaped: TestParley; // nothing exempt: 64 KiB/s with a 16 KiB burst
  before(async () => {
    const small = {
      PARLEY_LIMITS_AUTH_FAILURES_PER_ACCOUNT: "3",
      PARLEY_LIMITS_AUTH_FAILURES_PER_ADDRESS: "8",
      PARLEY_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: "3",
    };
    [strict, exempt, capped, shaped] = await Promise.all([
      startParley({ users: USERS, env: { ...small, PARLEY_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: "0", PARLEY_LIMITS_EXEMPT_ADDRESSES: "none" } }),
      startParley({ users: USERS, env: small }),
      startParley({ users: USERS, env: { ...small, PARLEY_LIMITS_EXEMPT_ADDRESSES: "none" } }),
      startParley({
        users: USERS,
        env: { PARLEY_LIMITS_EXEMPT_ADDRESSES: "none", PARLEY_LIMITS_C2S_BYTES_PER_SECOND: "65536", PARLEY_LIMITS_C2S_BURST_BYTES: "16384" },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([strict?.stop(), exempt?.stop(), capped?.stop(), shaped?.stop()]);
  });

  test("not exempt: after 3 failures an account gets temporary-auth-failure even with the right password; the address only at its own limit", async (t) => {
    const failed = await attempts(strict, t, "alice", "wrong", 3);
    assert.deepEqual(failed.map((r) => r.condition), ["not-authorized", "not-authorized", "not-authorized"]);

    const c = await preAuth(strict, t);
    const blocked = outcome(await c.authPlain("alice", "alicepw"));
    assert.equal(blocked.condition, "temporary-auth-failure");
    assert.match(blocked.text ?? "", /^Too many failed authentication attempts for this account; try again after (\S+Z) \(in \d+ s\)\.$/);
    const until = Date.parse(/after (\S+Z)/.exec(blocked.text!)![1]);
    assert.ok(until > Date.now() + 250_000 && until <= Date.now() + 300_000, "blocked for one 300 s window");

    // SCRAM (xmpp.js, an independent implementation) is refused the same way.
    const x = xmppjs(strict.port, "alice", "alicepw", "scram", "SCRAM-SHA-1");
    const err = (await x.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as { condition?: string; text?: string } | undefined;
    await x.stop().catch(() => {});
    assert.equal(err?.condition, "temporary-auth-failure");
    assert.match(err?.text ?? "", /for this account; try again after/);

    // Another account from the same address is fine (3 failures < 8 for the address) …
    assert.equal(outcome(await c.authPlain("bob", "bobpw")).condition, "success");
    // … until the address reaches its own limit: 5 more failures over other accounts.
    const more = [...(await attempts(strict, t, "carol", "wrong", 2)), ...(await attempts(strict, t, "dave", "wrong", 3))];
    assert.deepEqual(more.map((r) => r.condition), Array(5).fill("not-authorized"));
    const d = await preAuth(strict, t);
    const byAddress = outcome(await d.authPlain("bob", "bobpw"));
    assert.equal(byAddress.condition, "temporary-auth-failure");
    assert.match(byAddress.text ?? "", /from this address/);
  });

  test("loopback exempt (the default): 50 failures never block", async (t) => {
    const failed = await attempts(exempt, t, "alice", "wrong", 50);
    assert.deepEqual(new Set(failed.map((r) => r.condition)), new Set(["not-authorized"]));
    const c = await preAuth(exempt, t);
    assert.equal(outcome(await c.authPlain("alice", "alicepw")).condition, "success");
  });

  test("not exempt: the 4th connection from 127.0.0.1 is closed, on STARTTLS, direct TLS and WebSocket alike", async (t) => {
    const open: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(i === 1 ? capped.tlsPort : capped.port, { tls: i === 1 });
      t.after(() => c.destroy());
      await c.openStream();
      open.push(c);
    }
    const fourth = await RawClient.connect(capped.port);
    t.after(() => fourth.destroy());
    await fourth.waitClosed(3000);
    assert.equal(fourth.text, "", "closed without a byte of XMPP");

    await assert.rejects(RawClient.connect(capped.tlsPort, { tls: true, timeoutMs: 3000 }), "direct TLS is closed before the handshake");

    const ws = new WebSocket(`ws://127.0.0.1:${capped.server.ports.http}/xmpp-websocket`, ["xmpp"]);
    ws.on("error", () => {});
    const code = await within(new Promise<number>((r) => ws.on("close", (c) => r(c))), 3000, "WebSocket close");
    assert.equal(code, 1008, "WebSocket counts against the same cap (policy violation)");

    // When one closes, a new connection is accepted again.
    open[0].destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await RawClient.connect(capped.port);
    t.after(() => again.destroy());
    const f = await again.openStream();
    assert.equal(f.name, "stream:features");
  });

  test("loopback exempt: more connections than the cap are all served", async (t) => {
    for (let i = 0; i < 6; i++) {
      const c = await RawClient.connect(exempt.port);
      t.after(() => c.destroy());
      assert.equal((await c.openStream()).name, "stream:features");
    }
  });

  test("shaping: 256 KiB of stanzas at 64 KiB/s (16 KiB burst) take ≈ 3.75 s, and none is lost", async (t) => {
    const c = await RawClient.connect(shaped.port);
    t.after(() => c.destroy());
    const jid = await c.login("alice", "alicepw", "shaped");
    const body = "x".repeat(1000);
    const count = 256;
    let batch = "";
    for (let i = 0; i < count; i++) batch += `<message to='${jid}' id='m${i}' type='chat'><body>${body}</body></message>`;
    const bytes = Buffer.byteLength(batch);
    assert.ok(bytes > 256 * 1024);
    const started = Date.now();
    c.send(batch);
    const pong = await c.iq("<iq type='get' id='after' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "after", 20_000);
    const elapsed = (Date.now() - started) / 1000;
    assert.equal(pong.attrs.type, "result");
    const expected = (bytes - 16384) / 65536;
    assert.ok(elapsed >= expected * 0.8, `took ${elapsed.toFixed(2)} s; the shaper should need ≈ ${expected.toFixed(2)} s`);
    const echoed = c.all.filter((e) => e.is("message") && /^m\d+$/.test(e.attrs.id ?? "")).length;
    assert.equal(echoed, count, "every message was delivered: shaping delays, it never drops");
  });
});
