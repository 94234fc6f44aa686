// Router.request(): server-originated IQs and their replies, matched by id and sender.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HookBus } from "../hooks/hooks.ts";
import { SessionRegistry } from "../session/registry.ts";
import { Session, type SessionSink } from "../session/session.ts";
import { Router, IqTimeoutError } from "./router.ts";
import { Jid } from "../../jid/jid.ts";
import { createLogger } from "../log/logger.ts";
import { x, type Element } from "../../xml/element.ts";
import { StreamParser } from "../../xml/stream-parser.ts";

function setup() {
  const hooks = new HookBus((err) => {
    throw err;
  });
  const sessions = new SessionRegistry();
  const router = new Router("example.com", hooks, sessions, createLogger("silent"));
  const written: Element[] = [];
  const parser = new StreamParser(
    { streamStart: () => {}, stanza: (el) => void written.push(el), streamEnd: () => {}, error: (e) => assert.fail(e) },
    {},
  );
  parser.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  const sink: SessionSink = { write: (d) => parser.write(d), close: () => {}, transportKind: "test", secure: true, remoteAddress: "127.0.0.1" };
  const session = new Session(Jid.parse("juliet@example.com/balcony"), sink);
  sessions.add(session);
  return { router, session, written };
}

const ping = (to: string) => x("iq", { type: "get", to }, x("ping", { xmlns: "urn:xmpp:ping" }));

test("the reply from the addressee resolves the request and is consumed", async () => {
  const { router, session, written } = setup();
  const pending = router.request(ping(session.full), 1000);
  assert.equal(written.length, 1);
  const sent = written[0];
  assert.equal(sent.attrs.from, "example.com");
  assert.match(sent.attrs.id, /^parley-/);
  assert.equal(router.pendingRequests, 1);
  // Another client cannot answer for juliet: its reply does not match (it is routed on).
  const other = new Session(Jid.parse("romeo@example.com/orchard"), { write: () => {}, close: () => {}, transportKind: "test", secure: true, remoteAddress: "x" });
  await router.routeFromClient(x("iq", { type: "result", id: sent.attrs.id, to: "example.com", from: other.full }), other);
  assert.equal(router.pendingRequests, 1);
  await router.routeFromClient(x("iq", { type: "error", id: sent.attrs.id, to: "example.com", from: session.full }), session);
  const reply = await pending;
  assert.equal(reply.attrs.type, "error");
  assert.equal(router.pendingRequests, 0);
  assert.equal(written.length, 1, "nothing bounced back to the client");
});

test("no reply: IqTimeoutError; a reply after that is ignored", async () => {
  const { router, session, written } = setup();
  await assert.rejects(router.request(ping(session.full), 30), IqTimeoutError);
  assert.equal(router.pendingRequests, 0);
  await router.routeFromClient(x("iq", { type: "result", id: written[0].attrs.id, to: "example.com", from: session.full }), session);
  assert.equal(written.length, 1);
});

test("a request to a full JID with no session comes back as an error reply", async () => {
  const { router } = setup();
  const reply = await router.request(ping("juliet@example.com/gone"), 1000);
  assert.equal(reply.attrs.type, "error");
  assert.ok(reply.getChild("error")?.getChild("service-unavailable"));
});

test("only get/set IQs with a 'to' can be requested", () => {
  const { router } = setup();
  assert.throws(() => router.request(x("iq", { type: "result", to: "a@example.com" }), 10), TypeError);
  assert.throws(() => router.request(x("iq", { type: "get" }, x("ping")), 10), TypeError);
});
