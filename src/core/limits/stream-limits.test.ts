// The abuse limits as the stream machine applies them, through a fake transport: a blocked
// account or address is refused with temporary-auth-failure before any credential is looked
// up (PLAIN and SCRAM), failures are counted from the stream's events, and inbound bytes
// beyond the bucket pause the transport until they are paid for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { C2sStream, type C2sStreamHost, type StreamTransport } from "../stream/c2s-stream.ts";
import { StreamEvents } from "../stream/stream-events.ts";
import { HookBus } from "../hooks/hooks.ts";
import { SessionRegistry } from "../session/registry.ts";
import { Router } from "../router/router.ts";
import { silentLogger } from "../log/logger.ts";
import { createPlainMechanism, createScramMechanism, deriveScramCredentials, type CredentialLookup } from "../sasl/index.ts";
import { prepLocalpart } from "../../jid/jid.ts";
import { AbuseLimits, type AbuseLimitsConfig } from "./index.ts";

const PASSWORD = "s3cret";
const creds = { "SHA-1": deriveScramCredentials("SHA-1", PASSWORD, { iterations: 4096 }), "SHA-256": deriveScramCredentials("SHA-256", PASSWORD, { iterations: 4096 }) };

class FakeTransport implements StreamTransport {
  readonly kind = "tls" as const;
  readonly framing = "stream" as const;
  readonly secure = true;
  readonly canStartTls = false;
  readonly remoteAddress: string;
  out: string[] = [];
  events: string[] = [];
  constructor(remoteAddress: string) {
    this.remoteAddress = remoteAddress;
  }
  write(data: string) {
    this.out.push(data);
  }
  async startTls() {}
  close() {
    this.events.push("close");
  }
  pause() {
    this.events.push("pause");
  }
  resume() {
    this.events.push("resume");
  }
  take(): string {
    const s = this.out.join("");
    this.out = [];
    return s;
  }
}

const LIMITS: AbuseLimitsConfig = {
  authFailuresPerAccount: 3,
  authFailuresPerAddress: 6,
  authFailureWindowSeconds: 300,
  c2sBytesPerSecond: 0,
  c2sBurstBytes: 1024,
  maxConnectionsPerAddress: 0,
  exemptAddresses: "none",
};

function setup(config: Partial<AbuseLimitsConfig> = {}) {
  const log = silentLogger();
  const hooks = new HookBus(() => {});
  const sessions = new SessionRegistry();
  const router = new Router("example.org", hooks, sessions, log);
  const lookups: string[] = [];
  const lookup: CredentialLookup = {
    getScram: async (u, h) => {
      lookups.push(u);
      return u === "alice" || u === "bob" ? creds[h] : undefined;
    },
  };
  const limits = new AbuseLimits({ ...LIMITS, ...config });
  limits.attach(hooks);
  const created: string[] = [];
  const host: C2sStreamHost = {
    domain: "example.org",
    requireTls: true,
    maxStanzaBytes: 65536,
    maxDepth: 32,
    sasl: {
      offered: () => ["SCRAM-SHA-1", "PLAIN"],
      create: (name, attempt) => {
        created.push(name);
        const opts = { checkIdentity: attempt?.checkIdentity };
        return name === "PLAIN" ? createPlainMechanism(lookup, prepLocalpart, opts) : createScramMechanism("SHA-1", lookup, prepLocalpart, opts);
      },
    },
    sessions,
    router,
    hooks,
    log,
    maxResourcesPerAccount: 5,
    authGuard: limits.authGuard,
    inboundShaper: limits.inboundShaper,
  };
  const failures: Array<{ username: string | undefined; condition: string }> = [];
  hooks.on(StreamEvents.authFailed, (e) => void failures.push({ username: e.username, condition: e.condition }));
  const open = (address = "192.0.2.1") => {
    const transport = new FakeTransport(address);
    const stream = new C2sStream(host, transport);
    stream.receive(HEADER);
    transport.take();
    return { stream, transport };
  };
  return { open, lookups, created, failures, limits };
}

const tick = () => new Promise((r) => setTimeout(r, 20));
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
const plainAuth = (user: string, pw: string) =>
  `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${pw}`).toString("base64")}</auth>`;
const scramFirst = (user: string) =>
  `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${Buffer.from(`n,,n=${user},r=abcdefgh`).toString("base64")}</auth>`;

test("PLAIN: after N failures the account is refused with temporary-auth-failure without a credential lookup, even with the right password", async () => {
  const t = setup();
  for (let i = 0; i < 3; i++) {
    const { stream, transport } = t.open(`192.0.2.${10 + i}`);
    stream.receive(plainAuth("Alice", "wrong"));
    await tick();
    assert.match(transport.take(), /<not-authorized\/>/);
  }
  assert.deepEqual(t.failures.map((f) => f.username), ["alice", "alice", "alice"], "authFailed carries the prepared username");
  assert.equal(t.lookups.length, 3);
  const { stream, transport } = t.open("198.51.100.1");
  stream.receive(plainAuth("alice", PASSWORD));
  await tick();
  const out = transport.take();
  assert.match(out, /<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><temporary-auth-failure\/><text xml:lang='en'>Too many failed authentication attempts for this account; try again after \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\)\.<\/text><\/failure>/);
  assert.equal(t.lookups.length, 3, "the credentials were not even looked up");
  assert.equal(stream.isAuthenticated, false);
  // Another account from the same address goes on normally.
  stream.receive(plainAuth("bob", PASSWORD));
  await tick();
  assert.match(transport.take(), /<success/);
});

test("SCRAM: a blocked account is refused at client-first (no challenge, no salt, no lookup)", async () => {
  const t = setup();
  for (let i = 0; i < 3; i++) t.limits.auth.failed(`192.0.2.${i}`, "alice", "not-authorized");
  const { stream, transport } = t.open("198.51.100.2");
  stream.receive(scramFirst("alice"));
  await tick();
  const out = transport.take();
  assert.doesNotMatch(out, /<challenge/);
  assert.match(out, /<temporary-auth-failure\/>/);
  assert.deepEqual(t.lookups, []);
  // An unknown account is counted exactly like a real one: blocking reveals nothing.
  for (let i = 0; i < 3; i++) {
    const c = t.open(`192.0.2.${20 + i}`);
    c.stream.receive(plainAuth("nobody", "x"));
    await tick();
  }
  const n = t.open("198.51.100.3");
  n.stream.receive(scramFirst("nobody"));
  await tick();
  assert.match(n.transport.take(), /<temporary-auth-failure\/>/);
});

test("a blocked address is refused at <auth/>, before a mechanism is even created", async () => {
  const t = setup({ authFailuresPerAccount: 0 });
  for (let i = 0; i < 6; i++) {
    const { stream } = t.open("203.0.113.5");
    stream.receive(plainAuth(`user${i}`, "wrong"));
    await tick();
  }
  t.created.length = 0;
  const { stream, transport } = t.open("203.0.113.5");
  stream.receive(plainAuth("alice", PASSWORD));
  await tick();
  assert.match(transport.take(), /<temporary-auth-failure\/><text xml:lang='en'>Too many failed authentication attempts from this address/);
  assert.deepEqual(t.created, []);
  const other = t.open("203.0.113.6");
  other.stream.receive(plainAuth("alice", PASSWORD));
  await tick();
  assert.match(other.transport.take(), /<success/);
  // Refusals themselves are not counted as failures, and the per-stream cap still closes the stream.
  for (let i = 0; i < 4; i++) stream.receive(plainAuth("alice", PASSWORD));
  await tick();
  assert.match(transport.take(), /policy-violation/);
  assert.equal(t.failures.filter((f) => f.condition === "temporary-auth-failure").length, 5);
});

test("exempt addresses: 50 failures never block", async () => {
  const t = setup({ exemptAddresses: "loopback" });
  for (let i = 0; i < 10; i++) {
    const { stream } = t.open("127.0.0.1");
    for (let j = 0; j < 5; j++) stream.receive(plainAuth("alice", "wrong"));
    await tick();
  }
  const { stream, transport } = t.open("::1");
  stream.receive(plainAuth("alice", PASSWORD));
  await tick();
  assert.match(transport.take(), /<success/);
});

test("shaping: bytes beyond the burst pause the transport until they are paid for, then reading resumes", async () => {
  const t = setup({ c2sBytesPerSecond: 20_000, c2sBurstBytes: 2000 });
  const { stream, transport } = t.open("192.0.2.50"); // the header (~150 B) is within the burst
  assert.deepEqual(transport.events, []);
  const started = Date.now();
  stream.receive(" ".repeat(4000)); // whitespace between elements: ≈ 2150 B of debt ≈ 108 ms
  assert.deepEqual(transport.events, ["pause"]);
  stream.receive(" ".repeat(2000)); // still in flight when paused: counted, no second pause
  assert.deepEqual(transport.events, ["pause"]);
  while (transport.events.length < 2 && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 5));
  const elapsed = Date.now() - started;
  assert.deepEqual(transport.events, ["pause", "resume"]);
  assert.ok(elapsed >= 190, `resumed after ${elapsed} ms; ≈ 4150 B of debt at 20 kB/s needs ≈ 210 ms`);
  // Exempt and unlimited streams are never paused.
  const u = setup({ c2sBytesPerSecond: 0 }).open("192.0.2.51");
  u.stream.receive(" ".repeat(100_000));
  const e = setup({ c2sBytesPerSecond: 1000, exemptAddresses: "192.0.2.0/24" }).open("192.0.2.52");
  e.stream.receive(" ".repeat(100_000));
  assert.deepEqual([...u.transport.events, ...e.transport.events], []);
});

test("shaping: a stream closed while paused is never resumed", async () => {
  const t = setup({ c2sBytesPerSecond: 100_000, c2sBurstBytes: 1024 });
  const { stream, transport } = t.open("192.0.2.60");
  stream.receive(" ".repeat(6000)); // ≈ 50 ms of debt
  stream.close(); // closing while paused: the timer is cleared, nothing resumes a closed stream
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(transport.events.filter((e) => e !== "close"), ["pause"]);
});
