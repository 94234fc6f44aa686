// The stream machine driven through a fake transport: no sockets, every byte visible.
import { test } from "node:test";
import assert from "node:assert/strict";
import { C2sStream, type C2sStreamHost, type StreamTransport } from "./c2s-stream.ts";
import { HookBus } from "../hooks/hooks.ts";
import { SessionRegistry } from "../session/registry.ts";
import { Router } from "../router/router.ts";
import { StanzaEvents } from "../router/stanza-events.ts";
import { silentLogger } from "../log/logger.ts";
import { createPlainMechanism, createScramMechanism, deriveScramCredentials, type CredentialLookup } from "../sasl/index.ts";
import { prepLocalpart } from "../../jid/jid.ts";

const PASSWORD = "s3cret";
const creds = { "SHA-1": deriveScramCredentials("SHA-1", PASSWORD, { iterations: 4096 }), "SHA-256": deriveScramCredentials("SHA-256", PASSWORD, { iterations: 4096 }) };
const lookup: CredentialLookup = { getScram: async (u, h) => (u === "alice" ? creds[h] : undefined) };

class FakeTransport implements StreamTransport {
  readonly kind = "tcp" as const;
  readonly remoteAddress = "127.0.0.9";
  readonly framing = "stream" as const;
  secure: boolean;
  canStartTls: boolean;
  out: string[] = [];
  closed = false;
  tlsStarted = false;
  constructor(secure: boolean, canStartTls = true) {
    this.secure = secure;
    this.canStartTls = canStartTls;
  }
  write(data: string) {
    this.out.push(data);
  }
  async startTls() {
    this.tlsStarted = true;
    this.secure = true;
  }
  close() {
    this.closed = true;
  }
  pause() {}
  resume() {}
  take(): string {
    const s = this.out.join("");
    this.out = [];
    return s;
  }
}

function setup(opts: { secure?: boolean; requireTls?: boolean } = {}) {
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
      offered: (secure) => (secure ? ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] : ["SCRAM-SHA-256", "SCRAM-SHA-1"]),
      create: (name) =>
        name === "PLAIN" ? createPlainMechanism(lookup, prepLocalpart) : name === "SCRAM-SHA-1" ? createScramMechanism("SHA-1", lookup, prepLocalpart) : undefined,
    },
    sessions,
    router,
    hooks,
    log,
    maxResourcesPerAccount: 2,
  };
  const transport = new FakeTransport(opts.secure ?? false);
  const stream = new C2sStream(host, transport);
  return { stream, transport, sessions, hooks, host };
}

const tick = () => new Promise((r) => setTimeout(r, 20));
/** Waits until the transport's unread output matches (PBKDF2 runs on the thread pool: timing varies under load). */
async function waitForOutput(t: { transport: FakeTransport }, re: RegExp, count = 1, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const flags = re.flags.includes("g") ? re.flags : re.flags + "g";
  while ((t.transport.out.join("").match(new RegExp(re.source, flags))?.length ?? 0) < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} × ${re} in: ${t.transport.out.join("")}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
const plain = (user: string, pw: string) => Buffer.from(`\0${user}\0${pw}`).toString("base64");

async function authenticateAndBind(t: ReturnType<typeof setup>, resource = "desk") {
  t.stream.receive(HEADER);
  t.stream.receive(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain("alice", PASSWORD)}</auth>`);
  await waitForOutput(t, /<success /);
  t.stream.receive(HEADER);
  await waitForOutput(t, /<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'\/>/);
  t.stream.receive(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
  await waitForOutput(t, /<jid>/);
  return t.transport.take();
}

test("an insecure stream offers only STARTTLS, marked required", () => {
  const t = setup();
  t.stream.receive(HEADER);
  const out = t.transport.take();
  assert.match(out, /<stream:stream [^>]*from='example.org'/);
  assert.match(out, /<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required\/><\/starttls>/);
  assert.doesNotMatch(out, /mechanisms/);
});

test("authentication before STARTTLS is refused with encryption-required", () => {
  const t = setup();
  t.stream.receive(HEADER);
  t.stream.receive(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain("alice", PASSWORD)}</auth>`);
  assert.match(t.transport.take(), /<encryption-required\/>/);
});

test("STARTTLS upgrades and the restarted stream offers SCRAM and PLAIN", async () => {
  const t = setup();
  t.stream.receive(HEADER);
  t.stream.receive("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  await waitForOutput(t, /<proceed /);
  await tick();
  assert.equal(t.transport.tlsStarted, true);
  assert.match(t.transport.take(), /<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>/);
  t.stream.receive(HEADER);
  const out = t.transport.take();
  assert.match(out, /<mechanism>SCRAM-SHA-256<\/mechanism><mechanism>SCRAM-SHA-1<\/mechanism><mechanism>PLAIN<\/mechanism>/);
  assert.doesNotMatch(out, /starttls/);
});

test("without requireTls an insecure stream offers SCRAM but never PLAIN", () => {
  const t = setup({ requireTls: false });
  t.stream.receive(HEADER);
  const out = t.transport.take();
  assert.match(out, /<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>/);
  assert.match(out, /SCRAM-SHA-1/);
  assert.doesNotMatch(out, /PLAIN/);
});

test("wrong stream namespace, unknown host and missing version end the stream", () => {
  const cases: Array<[string, RegExp]> = [
    ["<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>", /<invalid-namespace/],
    ["<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='other.example' version='1.0'>", /<host-unknown/],
    ["<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org'>", /<unsupported-version/],
  ];
  for (const [header, expected] of cases) {
    const t = setup();
    t.stream.receive(header);
    const out = t.transport.take();
    assert.match(out, expected);
    assert.match(out, /<\/stream:stream>$/);
    assert.equal(t.transport.closed, true);
  }
});

test("a wrong password fails with not-authorized; five failures end the stream", async () => {
  const t = setup({ secure: true });
  t.stream.receive(HEADER);
  for (let i = 0; i < 5; i++) {
    t.stream.receive(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain("alice", "wrong")}</auth>`);
    await waitForOutput(t, /<not-authorized\/>/, i + 1);
  }
  const out = t.transport.take();
  assert.equal(out.match(/<not-authorized\/>/g)?.length, 5);
  assert.match(out, /<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
  assert.equal(t.transport.closed, true);
});

test("stanzas before authentication are refused with not-authorized", () => {
  const t = setup({ secure: true });
  t.stream.receive(HEADER);
  t.stream.receive("<message to='bob@example.org'><body>hi</body></message>");
  assert.match(t.transport.take(), /<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
});

test("PLAIN login, bind with a chosen resource, then stanzas are stamped and routed", async () => {
  const t = setup({ secure: true });
  const out = await authenticateAndBind(t);
  assert.match(out, /<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/);
  assert.match(out, /<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'\/>/);
  assert.match(out, /<jid>alice@example.org\/desk<\/jid>/);
  assert.equal(t.sessions.count, 1);
  const seen: string[] = [];
  t.hooks.on(StanzaEvents.pre.message.bare, (p) => {
    seen.push(p.stanza.toString());
    return true;
  });
  t.stream.receive("<message to='bob@example.org' type='chat'><body>hi</body></message>");
  assert.deepEqual(seen, ["<message to='bob@example.org' type='chat' from='alice@example.org/desk'><body>hi</body></message>"]);
});

test("a spoofed 'from' ends the stream with invalid-from", async () => {
  const t = setup({ secure: true });
  await authenticateAndBind(t);
  t.stream.receive("<message from='bob@example.org/x' to='carol@example.org'><body>hi</body></message>");
  assert.match(t.transport.take(), /<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
  assert.equal(t.sessions.count, 0);
});

test("an IQ to nobody gets service-unavailable; a malformed 'to' gets jid-malformed", async () => {
  const t = setup({ secure: true });
  await authenticateAndBind(t);
  t.stream.receive("<iq type='get' id='q1' to='example.org'><query xmlns='urn:example:none'/></iq>");
  t.stream.receive("<message to='a@b@c' id='m1'><body>x</body></message>");
  await waitForOutput(t, /<jid-malformed /);
  const out = t.transport.take();
  assert.match(out, /<iq [^>]*type='error'[^>]*>.*<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'\/>/);
  assert.match(out, /<message [^>]*type='error'[^>]*>.*<jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'\/>/);
});

test("a second stream binding the same resource replaces the first with <conflict/>", async () => {
  const first = setup({ secure: true });
  await authenticateAndBind(first);
  // The second stream shares the registry of the first host.
  const transport = new FakeTransport(true);
  const second = new C2sStream(first.host, transport);
  const t2 = { ...first, stream: second, transport };
  await authenticateAndBind(t2);
  assert.match(first.transport.take(), /<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
  assert.equal(first.sessions.count, 1);
});

test("restricted XML (a comment) ends the stream with restricted-xml", () => {
  const t = setup({ secure: true });
  t.stream.receive(HEADER + "<!-- hello -->");
  assert.match(t.transport.take(), /<restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
});
