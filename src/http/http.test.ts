import { test } from "node:test";
import assert from "node:assert/strict";
import { hostMetaJson, hostMetaXml, websocketUrl, REL_WEBSOCKET } from "./host-meta.ts";
import { runReadiness } from "./health.ts";
import { forwardedInsecure, offersXmpp } from "./http-server.ts";

test("host-meta XRD and JSON carry the WebSocket link", () => {
  const links = [{ rel: REL_WEBSOCKET, href: "wss://chat.example.com/xmpp-websocket?a=1&b='2'" }];
  assert.equal(
    hostMetaXml(links),
    "<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n" +
      "  <Link rel='urn:xmpp:alt-connections:websocket' href='wss://chat.example.com/xmpp-websocket?a=1&amp;b=&apos;2&apos;'/>\n</XRD>\n",
  );
  assert.deepEqual(hostMetaJson(links), { links: [{ rel: "urn:xmpp:alt-connections:websocket", href: links[0].href }] });
});

test("the advertised WebSocket URL: configured, else the request's origin; a bad Host falls back to the domain", () => {
  assert.equal(websocketUrl("wss://x.example/ws", false, "evil", "d.example"), "wss://x.example/ws");
  assert.equal(websocketUrl("", true, "chat.example.com:5281", "d.example"), "wss://chat.example.com:5281/xmpp-websocket");
  assert.equal(websocketUrl("", false, "127.0.0.1:5280", "d.example"), "ws://127.0.0.1:5280/xmpp-websocket");
  assert.equal(websocketUrl("", false, "[::1]:5280", "d.example"), "ws://[::1]:5280/xmpp-websocket");
  for (const bad of [undefined, "", "a b", "x'/><evil/>", "host/path", "-bad"]) {
    assert.equal(websocketUrl("", true, bad, "d.example"), "wss://d.example/xmpp-websocket", String(bad));
  }
});

test("readiness: all checks pass → ready; failures and timeouts give reasons", async () => {
  const ok = await runReadiness([{ name: "a", run: () => 1 }, { name: "b", run: async () => {} }], 200);
  assert.equal(ok.ready, true);
  assert.equal(ok.reason, undefined);
  assert.deepEqual(Object.keys(ok.checks), ["a", "b"]);

  const bad = await runReadiness(
    [
      { name: "db", run: async () => { throw new Error("database is closed"); } },
      { name: "slow", run: () => new Promise(() => {}) },
      { name: "sync", run: () => { throw new Error("down"); } },
      { name: "fine", run: () => undefined },
    ],
    50,
  );
  assert.equal(bad.ready, false);
  assert.equal(bad.reason, "db: database is closed; slow: no answer within 50 ms; sync: down");
  assert.equal(bad.checks.fine.ok, true);
  assert.equal(bad.checks.slow.ok, false);
});

test("subprotocol and forwarded-protocol header parsing", () => {
  assert.equal(offersXmpp("xmpp"), true);
  assert.equal(offersXmpp("foo, xmpp"), true);
  assert.equal(offersXmpp(["foo", "xmpp"]), true);
  assert.equal(offersXmpp("xmpp-framing"), false);
  assert.equal(offersXmpp(""), false);
  assert.equal(offersXmpp(undefined), false);

  assert.equal(forwardedInsecure({}), false);
  assert.equal(forwardedInsecure({ "x-forwarded-proto": "https" }), false);
  assert.equal(forwardedInsecure({ "x-forwarded-proto": "http" }), true);
  assert.equal(forwardedInsecure({ "x-forwarded-proto": "HTTP, https" }), true);
  assert.equal(forwardedInsecure({ forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43" }), true);
  assert.equal(forwardedInsecure({ forwarded: 'for=192.0.2.60; proto="https"' }), false);
});
