// The WebSocket transport driven through a fake socket: framing of what the stream machine
// writes, refusals, keepalive pings and close handling. test/interop/websocket.test.ts runs
// real clients over a real socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { frameForClient, WebSocketStreams, WebSocketTransport, type WebSocketLike } from "./websocket.ts";
import type { C2sStreamHost } from "../stream/c2s-stream.ts";
import { HookBus } from "../hooks/hooks.ts";
import { SessionRegistry } from "../session/registry.ts";
import { Router } from "../router/router.ts";
import { silentLogger } from "../log/logger.ts";
import { createPlainMechanism, deriveScramCredentials, type CredentialLookup } from "../sasl/index.ts";
import { prepLocalpart } from "../../jid/jid.ts";
import { StreamParser } from "../../xml/stream-parser.ts";
import type { Element } from "../../xml/element.ts";

test("frameForClient declares jabber:client on stanzas and the streams prefix on stream:*", () => {
  assert.equal(frameForClient("<message to='a@b'><body>x</body></message>"), "<message xmlns='jabber:client' to='a@b'><body>x</body></message>");
  assert.equal(frameForClient("<presence/>"), "<presence xmlns='jabber:client'/>");
  assert.equal(frameForClient("<iq type='result' id='1'/>"), "<iq xmlns='jabber:client' type='result' id='1'/>");
  assert.equal(frameForClient("<iq>"), "<iq xmlns='jabber:client'>");
  assert.equal(
    frameForClient("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"),
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
  );
  // Already declared: unchanged. A child's xmlns does not count for the top-level element.
  for (const s of ["<message xmlns='jabber:client' to='a'/>", '<iq xmlns="jabber:client"/>', "<stream:error xmlns:stream='http://etherx.jabber.org/streams'/>"]) {
    assert.equal(frameForClient(s), s);
  }
  assert.equal(frameForClient("<message to='a'><x xmlns='y'/></message>"), "<message xmlns='jabber:client' to='a'><x xmlns='y'/></message>");
  // Attribute values cannot fool it: '>' and quotes are escaped by the serializer.
  assert.equal(frameForClient("<message id='&gt; xmlns=x'/>"), "<message xmlns='jabber:client' id='&gt; xmlns=x'/>");
  assert.equal(frameForClient("<message id=' xmlns=&apos;x'/>"), "<message xmlns='jabber:client' id=' xmlns=&apos;x'/>");
  // Nonzas carry their own namespace; names that merely start like a stanza are left alone.
  for (const s of ["<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", "<messages/>", "<iqs/>", "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"]) {
    assert.equal(frameForClient(s), s);
  }
  // Whitespace keepalives are never sent as frames.
  assert.equal(frameForClient(" "), "");
  assert.equal(frameForClient("\n\t"), "");
});

class FakeSocket implements WebSocketLike {
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: number | undefined;
  terminated = false;
  pings = 0;
  paused = false;
  private handlers = new Map<string, Array<(...args: any[]) => void>>();
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number) {
    this.closedWith = code;
  }
  terminate() {
    this.terminated = true;
  }
  ping() {
    this.pings++;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  on(event: string, fn: (...args: any[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }
  text(s: string) {
    this.emit("message", Buffer.from(s), false);
  }
  take(): string[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

const creds = { "SHA-1": deriveScramCredentials("SHA-1", "pw", { iterations: 4096 }), "SHA-256": deriveScramCredentials("SHA-256", "pw", { iterations: 4096 }) };
const lookup: CredentialLookup = { getScram: async (u, h) => (u === "alice" ? creds[h] : undefined) };

function setup(opts: { requireTls?: boolean; maxConnectionsPerAddress?: number; keepaliveMs?: number; idleTimeoutMs?: number } = {}) {
  const log = silentLogger();
  const hooks = new HookBus(() => {});
  const sessions = new SessionRegistry();
  const router = new Router("example.org", hooks, sessions, log);
  const host: C2sStreamHost = {
    domain: "example.org",
    requireTls: opts.requireTls ?? true,
    maxStanzaBytes: 65536,
    maxDepth: 32,
    sasl: {
      offered: (secure) => (secure ? ["PLAIN"] : []),
      create: (name) => (name === "PLAIN" ? createPlainMechanism(lookup, prepLocalpart) : undefined),
    },
    sessions,
    router,
    hooks,
    log,
    maxResourcesPerAccount: 5,
  };
  const streams = new WebSocketStreams(
    host,
    {
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      authTimeoutMs: 60_000,
      keepaliveMs: opts.keepaliveMs ?? 60_000,
      maxConnectionsPerAddress: opts.maxConnectionsPerAddress ?? 10,
      sweepMs: 20,
    },
    log,
  );
  return { streams, sessions };
}

const tick = () => new Promise((r) => setTimeout(r, 20));
const OPEN = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' version='1.0'/>";
const OPEN_FROM_SERVER = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' version='1.0'/>";

/** Every frame must parse on its own as one element (RFC 7395). */
function parseFrame(frame: string): Element | "open" | "close" {
  let out: Element | "open" | "close" | undefined;
  const p = new StreamParser(
    {
      streamStart: (name) => (out = name === "open" ? "open" : undefined),
      stanza: (el) => (out = el),
      streamEnd: () => (out = "close"),
      error: (err) => assert.fail(`frame ${frame} does not parse: ${err.message}`),
    },
    { framing: "websocket" },
  );
  if (!frame.startsWith("<open")) p.write(OPEN_FROM_SERVER);
  out = undefined;
  p.write(frame);
  assert.ok(out !== undefined, `no element in frame ${frame}`);
  return out;
}

test("a full login over fake WebSocket frames: every frame a standalone document", async (t) => {
  const { streams, sessions } = setup();
  t.after(() => streams.close());
  const ws = new FakeSocket();
  const stream = streams.accept(ws, { remoteAddress: "127.0.0.1", secure: true })!;
  assert.ok(stream);
  assert.equal(streams.size, 1);

  ws.text(OPEN);
  await tick();
  let frames = ws.take();
  assert.equal(frames.length, 2);
  assert.equal(parseFrame(frames[0]), "open");
  assert.match(frames[0], /^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='[^']+' version='1.0'/);
  const features = parseFrame(frames[1]) as Element;
  assert.equal(features.name, "stream:features");
  assert.equal(features.attrs["xmlns:stream"], "http://etherx.jabber.org/streams");
  assert.ok(!frames[1].includes("starttls"), "no STARTTLS on WebSocket");
  assert.ok(frames[1].includes("<mechanism>PLAIN</mechanism>"));

  ws.text(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from("\0alice\0pw").toString("base64")}</auth>`);
  await tick();
  assert.match(ws.take().join(""), /^<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/);
  ws.text(OPEN);
  await tick();
  frames = ws.take();
  assert.equal(frames.length, 2);
  assert.ok(frames[1].includes("urn:ietf:params:xml:ns:xmpp-bind"));
  ws.text("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>");
  await tick();
  frames = ws.take();
  const bound = parseFrame(frames[0]) as Element;
  assert.equal(bound.name, "iq");
  assert.equal(bound.attrs.xmlns, "jabber:client");
  assert.equal(bound.getChild("bind")?.getChildText("jid"), "alice@example.org/web");
  assert.equal(sessions.get(stream.session!.jid)?.transportKind, "websocket");

  // A message to ourselves comes back as its own frame, qualified by jabber:client.
  ws.text("<message xmlns='jabber:client' to='alice@example.org/web' type='chat'><body>echo</body></message>");
  await tick();
  frames = ws.take();
  assert.equal(frames.length, 1);
  const msg = parseFrame(frames[0]) as Element;
  assert.equal(msg.attrs.xmlns, "jabber:client");
  assert.equal(msg.getChildText("body"), "echo");

  // <close/> is answered with <close/> and a normal WebSocket close; the session is gone.
  ws.text("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  await tick();
  assert.deepEqual(ws.take(), ["<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"]);
  assert.equal(ws.closedWith, 1000);
  assert.equal(sessions.resources("alice@example.org").length, 0);
  ws.emit("close");
  assert.equal(streams.size, 0);
});

test("binary frames are refused with a stream error", async (t) => {
  const { streams } = setup();
  t.after(() => streams.close());
  const ws = new FakeSocket();
  streams.accept(ws, { remoteAddress: "127.0.0.1", secure: true });
  ws.emit("message", Buffer.from(OPEN), true);
  await tick();
  const out = ws.take().join("");
  assert.match(out, /<stream:error xmlns:stream='http:\/\/etherx.jabber.org\/streams'><bad-format/);
  assert.match(out, /<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'\/>$/);
  assert.equal(ws.closedWith, 1000);
});

test("an insecure WebSocket is refused with policy-violation when TLS is required, accepted when not", async (t) => {
  const strict = setup({ requireTls: true });
  t.after(() => strict.streams.close());
  const ws = new FakeSocket();
  strict.streams.accept(ws, { remoteAddress: "192.0.2.1", secure: false });
  ws.text(OPEN);
  await tick();
  const out = ws.take();
  assert.equal(parseFrame(out[0]), "open");
  assert.match(out.join(""), /<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/><text[^>]*>TLS is required on this server: connect with wss:\/\//);
  assert.equal(ws.closedWith, 1000);

  const lax = setup({ requireTls: false });
  t.after(() => lax.streams.close());
  const ws2 = new FakeSocket();
  lax.streams.accept(ws2, { remoteAddress: "192.0.2.1", secure: false });
  ws2.text(OPEN);
  await tick();
  const frames = ws2.take();
  assert.equal(frames.length, 2);
  assert.match(frames[1], /^<stream:features/);
  assert.ok(!frames[1].includes("PLAIN"), "PLAIN is only offered on secure streams");
});

test("connections per address are limited; shutdown ends streams with system-shutdown and refuses new ones", async () => {
  const { streams } = setup({ maxConnectionsPerAddress: 1 });
  const a = new FakeSocket();
  const b = new FakeSocket();
  assert.ok(streams.accept(a, { remoteAddress: "127.0.0.1", secure: true }));
  assert.equal(streams.accept(b, { remoteAddress: "127.0.0.1", secure: true }), undefined);
  assert.equal(b.closedWith, 1008);
  a.text(OPEN);
  await tick();
  a.take();
  streams.close();
  assert.match(a.take().join(""), /<system-shutdown/);
  assert.equal(a.closedWith, 1000);
  const c = new FakeSocket();
  assert.equal(streams.accept(c, { remoteAddress: "127.0.0.2", secure: true }), undefined);
  assert.equal(c.closedWith, 1001);
});

test("transport: write backpressure limit, pongs count as activity, STARTTLS impossible", async () => {
  const ws = new FakeSocket();
  const tr = new WebSocketTransport(ws, { remoteAddress: "::1", secure: true });
  assert.equal(tr.canStartTls, false);
  assert.equal(tr.framing, "websocket");
  await assert.rejects(tr.startTls(), /wss:\/\//);
  tr.write("<presence/>");
  assert.deepEqual(ws.take(), ["<presence xmlns='jabber:client'/>"]);
  ws.bufferedAmount = 9 * 1024 * 1024;
  tr.write("<presence/>");
  assert.equal(ws.terminated, true);
  assert.deepEqual(ws.take(), []);

  const { streams } = setup();
  const ws2 = new FakeSocket();
  const stream = streams.accept(ws2, { remoteAddress: "127.0.0.1", secure: true })!;
  stream.lastReceived = 0;
  ws2.emit("pong");
  assert.ok(Date.now() - stream.lastReceived < 1000);
  ws2.emit("error", new Error("reset"));
  assert.equal(streams.size, 0);
  streams.close();
});

test("a frame larger than maxStanzaBytes ends the stream with policy-violation", async (t) => {
  const { streams } = setup();
  t.after(() => streams.close());
  const ws = new FakeSocket();
  streams.accept(ws, { remoteAddress: "127.0.0.1", secure: true });
  ws.text(OPEN);
  await tick();
  ws.take();
  ws.text(`<message xmlns='jabber:client'><body>${"x".repeat(70_000)}</body></message>`);
  await tick();
  assert.match(ws.take().join(""), /<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
  assert.equal(ws.closedWith, 1000);
});

test("idle streams get WebSocket pings, and silent ones time out", async (t) => {
  const { streams } = setup({ keepaliveMs: 30, idleTimeoutMs: 400 });
  t.after(() => streams.close());
  const ws = new FakeSocket();
  streams.accept(ws, { remoteAddress: "127.0.0.1", secure: true });
  ws.text(OPEN);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(ws.pings >= 2, `pings: ${ws.pings}`);
  assert.equal(ws.closedWith, undefined);
  await new Promise((r) => setTimeout(r, 400));
  assert.match(ws.take().join(""), /<connection-timeout/);
  assert.equal(ws.closedWith, 1000);
});
