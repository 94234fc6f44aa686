// XEP-0198 Stream Management end to end over real sockets, byte-level (the raw client): the
// counting both ways, resumption after an abrupt disconnect (1,000 messages, each exactly
// once), what happens to unacknowledged stanzas when a session ends (timeout, clean close,
// overflow, shutdown + restart), and the protocol's error cases.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Element } from "@xmpp/xml";
import { startParley, type TestParley } from "../support/parley.ts";
import { RawClient, NS_STREAM_ERRORS, stanzaErrorCondition } from "./support/raw-client.ts";
import { loadConfig } from "../../src/core/config/config.ts";
import { createServer, type ParleyServer } from "../../src/server.ts";
import { createLogger } from "../../src/core/log/logger.ts";
import { OfflineServiceToken } from "../../src/modules/offline/index.ts";
import { Jid } from "../../src/jid/jid.ts";

const SM = "urn:xmpp:sm:3";
const NS_DELAY = "urn:xmpp:delay";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isStanza = (e: Element) => e.name === "message" || e.name === "presence" || e.name === "iq";
const smReply = (e: Element) => e.attrs.xmlns === SM && (e.name === "enabled" || e.name === "resumed" || e.name === "failed");

/**
 * The client side of XEP-0198 on top of a RawClient: counts every stanza received after
 * <enabled/> (or <resumed/>) — 'h' — and answers the server's <r/> while autoAck is on.
 */
class SmCounter {
  readonly c: RawClient;
  h: number;
  autoAck = true;
  readonly stanzas: Element[] = [];
  /** <r/> requests seen from the server. */
  requests = 0;
  private idx: number;
  private readonly timer: NodeJS.Timeout;

  constructor(c: RawClient, h: number, after: Element) {
    this.c = c;
    this.h = h;
    this.idx = c.all.indexOf(after) + 1;
    assert.ok(this.idx > 0);
    this.timer = setInterval(() => this.pump(), 2);
    this.timer.unref();
    c.closedPromise.then(() => this.stop());
  }

  pump(): void {
    const all = this.c.all;
    while (this.idx < all.length) {
      const e = all[this.idx++];
      if (isStanza(e)) {
        this.h++;
        this.stanzas.push(e);
      } else if (e.name === "r" && e.attrs.xmlns === SM) {
        this.requests++;
        if (this.autoAck && !this.c.closed) this.c.send(`<a xmlns='${SM}' h='${this.h}'/>`);
      }
    }
  }

  ack(): void {
    this.pump();
    this.c.send(`<a xmlns='${SM}' h='${this.h}'/>`);
  }

  /** Stops counting (the connection is gone): h is final. */
  stop(): void {
    clearInterval(this.timer);
    this.pump();
  }

  messages(): Element[] {
    this.pump();
    return this.stanzas.filter((e) => e.name === "message");
  }

  bodies(): string[] {
    return this.messages()
      .map((m) => m.getChildText("body"))
      .filter((b): b is string => typeof b === "string");
  }

  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      this.pump();
      if (cond()) return;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; h=${this.h}`);
      await sleep(5);
    }
  }
}

interface SmLogin {
  c: RawClient;
  sm: SmCounter;
  id: string;
  jid: string;
}

/** Logs in (STARTTLS, PLAIN, bind), enables stream management (resumable), sends presence. */
async function smLogin(port: number, user: string, password: string, resource: string, opts: { presence?: string | false; resume?: boolean } = {}): Promise<SmLogin> {
  const c = await RawClient.connect(port);
  const jid = await c.login(user, password, resource);
  c.send(`<enable xmlns='${SM}'${opts.resume === false ? "" : " resume='true'"}/>`);
  const en = await c.next(smReply, 5000, "<enabled/>");
  assert.equal(en.name, "enabled", en.toString());
  const sm = new SmCounter(c, 0, en);
  if (opts.presence !== false) c.send(opts.presence ?? "<presence/>");
  return { c, sm, id: en.attrs.id ?? "", jid };
}

/** A new connection authenticated as `user` (TLS, PLAIN, restart), not bound; returns the features. */
async function authenticated(port: number, user: string, password: string): Promise<{ c: RawClient; features: Element }> {
  const c = await RawClient.connect(port);
  await c.openStream();
  await c.startTls();
  await c.openStream();
  const a = await c.authPlain(user, password);
  assert.equal(a.name, "success", a.toString());
  const features = await c.openStream();
  return { c, features };
}

async function resume(port: number, user: string, password: string, previd: string, h: number): Promise<{ c: RawClient; reply: Element }> {
  const { c } = await authenticated(port, user, password);
  c.send(`<resume xmlns='${SM}' previd='${previd}' h='${h}'/>`);
  const reply = await c.next(smReply, 5000, "<resumed/> or <failed/>");
  return { c, reply };
}

/** A plain (no stream management) client; ping() is a barrier: all it sent before was routed. */
async function plainLogin(port: number, user: string, password: string, resource: string): Promise<RawClient & { ping(): Promise<void> }> {
  const c = await RawClient.connect(port);
  await c.login(user, password, resource);
  let n = 0;
  return Object.assign(c, {
    async ping() {
      const id = `barrier${++n}`;
      const r = await c.iq(`<iq type='get' id='${id}'><ping xmlns='urn:xmpp:ping'/></iq>`, id, 15000);
      assert.equal(r.attrs.type, "result");
    },
  });
}

const chat = (to: string, i: number | string) => `<message to='${to}' type='chat' id='m${i}'><body>${i}</body></message>`;

function countEach(bodies: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of bodies) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

function offlineCount(p: { server: ParleyServer }, bare: string): Promise<number> {
  return p.server.modules.get(OfflineServiceToken).count(bare);
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** The session of a full JID as the server sees it (undefined when none). */
function sessionOf(p: TestParley, full: string) {
  return p.server.host.sessions.get(Jid.parse(full));
}

describe("XEP-0198 stream management", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({ env: { PARLEY_HTTP_ENABLED: "false" } });
  });
  after(async () => {
    await p?.stop();
  });
  let userSeq = 0;
  /** Fresh accounts per test on the shared server. */
  const users = async (...names: string[]): Promise<string[]> => {
    const n = ++userSeq;
    const out = names.map((u) => `${u}${n}`);
    await p.addUsers(out.map((u) => [u, "pw"] as [string, string]));
    return out;
  };

  // --- the scenario --------------------------------------------------------------------
  test("1,000 messages, the socket killed mid-stream, resumed with the last h: every one arrives exactly once", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    const b = await smLogin(p.port, bob, "pw", "phone");
    t.after(() => b.c.destroy());
    assert.ok(b.id.length > 0);
    await b.sm.until(() => b.sm.stanzas.some((e) => e.name === "presence"), 5000, "own presence");
    const to = `${bob}@localhost`; // the bare JID: the hibernating resource stays available
    const N = 1000;
    let sent = 0;
    const send = (n: number) => {
      let chunk = "";
      for (let i = 0; i < n && sent < N; i++) chunk += chat(to, sent++);
      a.send(chunk);
    };
    // Phase 1: acknowledged as they come.
    send(300);
    await b.sm.until(() => b.sm.bodies().length >= 200, 15000, "200 messages");
    // Phase 2: received but no longer acknowledged (the server must not resend these: h covers them).
    b.sm.autoAck = false;
    send(100);
    await b.sm.until(() => b.sm.bodies().length >= 320, 15000, "320 messages");
    // Phase 3: the connection dies in the middle of a burst.
    send(50);
    b.c.destroy();
    b.sm.stop();
    const beforeKill = b.sm.bodies();
    while (sent < N) {
      send(50);
      await sleep(1);
    }
    await a.ping(); // every message was routed (to the socket, or the hibernating session's queue)
    assert.ok(beforeKill.length < N, "the kill happened before everything arrived");

    const { c: c2, reply } = await resume(p.port, bob, "pw", b.id, b.sm.h);
    t.after(() => c2.destroy());
    assert.equal(reply.name, "resumed", reply.toString());
    assert.equal(reply.attrs.previd, b.id);
    assert.equal(reply.attrs.h, "1", "the server handled one stanza from bob: his presence");
    const sm2 = new SmCounter(c2, b.sm.h, reply);
    await sm2.until(() => beforeKill.length + sm2.bodies().length >= N, 20000, "the rest of the messages");
    await sleep(300); // any duplicate would have arrived by now
    const counts = countEach([...beforeKill, ...sm2.bodies()]);
    const missing = [...Array(N).keys()].filter((i) => !counts.has(String(i)));
    const dups = [...counts].filter(([, n]) => n > 1).map(([b]) => b);
    assert.deepEqual(missing, [], "no message lost");
    assert.deepEqual(dups, [], "no message delivered twice");
    assert.equal(counts.size, N);
    assert.ok(sm2.bodies().length > 0, "something was retransmitted or queued");
    // Order is kept across the resumption.
    const order = [...beforeKill, ...sm2.bodies()].map(Number);
    assert.deepEqual(order, [...order].sort((x, y) => x - y));
    // The session went on: same full JID, still available, stanzas flow both ways.
    const s = sessionOf(p, b.jid);
    assert.ok(s && s.presence !== undefined, "still bound and available");
    const pong = await c2.iq(`<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>`, "after");
    assert.equal(pong.attrs.type, "result");
    c2.send(`<r xmlns='${SM}'/>`);
    const ack = await c2.next((e) => e.name === "a" && e.attrs.xmlns === SM);
    assert.equal(ack.attrs.h, "2", "the counter continued: presence, then the ping");
  });

  test("resumption after the timeout fails with item-not-found; the unacknowledged messages are offline at next login", async (t) => {
    const q = await startParley({ users: [["alice", "pw"], ["bob", "pw"]], env: { PARLEY_HTTP_ENABLED: "false", PARLEY_STREAM_MANAGEMENT_RESUME_TIMEOUT_SECONDS: "1" } });
    t.after(() => q.stop());
    const a = await plainLogin(q.port, "alice", "pw", "desk");
    t.after(() => a.destroy());
    const b = await smLogin(q.port, "bob", "pw", "phone");
    t.after(() => b.c.destroy());
    b.sm.autoAck = false;
    for (let i = 0; i < 20; i++) a.send(chat("bob@localhost", i));
    await b.sm.until(() => b.sm.bodies().length === 20, 5000, "20 messages");
    const killedAt = Date.now();
    b.c.destroy();
    b.sm.stop();
    await waitFor(() => sessionOf(q, b.jid) !== undefined, 1000, "the session to stay (hibernating)");
    for (let i = 20; i < 30; i++) a.send(chat("bob@localhost", i));
    await a.ping();
    // Still hibernating: nothing stored yet.
    assert.equal(await offlineCount(q, "bob@localhost"), 0);
    await waitFor(() => sessionOf(q, b.jid) === undefined, 5000, "the hibernation to time out");
    await waitFor(async () => (await offlineCount(q, "bob@localhost")) === 30, 3000, "30 offline messages");

    const { c: c2, reply } = await resume(q.port, "bob", "pw", b.id, b.sm.h);
    t.after(() => c2.destroy());
    assert.equal(reply.name, "failed", reply.toString());
    assert.ok(reply.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"), reply.toString());
    // §5: after <failed/> the client may bind on the same stream.
    await c2.bind("phone");
    c2.send("<presence/>");
    const got: Element[] = [];
    for (let i = 0; i < 30; i++) got.push(await c2.next((e) => e.name === "message", 5000, `offline message ${i}`));
    assert.deepEqual(
      got.map((m) => m.getChildText("body")),
      [...Array(30).keys()].map(String),
    );
    for (const m of got) {
      const delays = m.getChildren("delay", NS_DELAY);
      assert.equal(delays.length, 1, m.toString());
      assert.equal(delays[0].attrs.from, "localhost");
    }
    // The ones written to the lost connection keep the time they were first sent.
    assert.ok(Date.parse(got[0].getChild("delay", NS_DELAY)?.attrs.stamp ?? "") <= killedAt);
    assert.equal(await offlineCount(q, "bob@localhost"), 0);
  });

  test("server.stop() stores what live and hibernating sessions did not acknowledge; it is there after a restart", async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-sm-restart-"));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const start = async () => {
      const config = loadConfig({
        env: {
          PARLEY_DATA_DIR: dataDir,
          PARLEY_DOMAIN: "localhost",
          PARLEY_C2S_HOST: "127.0.0.1",
          PARLEY_C2S_PORT: "0",
          PARLEY_C2S_TLS_PORT: "0",
          PARLEY_HTTP_ENABLED: "false",
          PARLEY_LOG_LEVEL: process.env.PARLEY_TEST_LOG_LEVEL ?? "warn",
        },
        cwd: dataDir,
      });
      const server = await createServer(config, { log: createLogger(config.log.level) });
      await server.listen();
      return server;
    };
    const s1 = await start();
    let s1Stopped = false;
    t.after(async () => {
      if (!s1Stopped) await s1.stop();
    });
    for (const u of ["alice", "bob", "carol"]) await s1.accounts.create(u, "pw");
    const port1 = s1.ports.c2s!;
    const a = await plainLogin(port1, "alice", "pw", "desk");
    t.after(() => a.destroy());
    const b = await smLogin(port1, "bob", "pw", "phone");
    t.after(() => b.c.destroy());
    const c = await smLogin(port1, "carol", "pw", "phone");
    t.after(() => c.c.destroy());
    b.sm.autoAck = false;
    c.sm.autoAck = false;
    for (let i = 0; i < 15; i++) a.send(chat("bob@localhost", `b${i}`));
    for (let i = 0; i < 5; i++) a.send(chat("carol@localhost", `c${i}`));
    // An IQ request bob never answers: it must bounce, not vanish.
    a.send(`<iq type='get' id='q1' to='bob@localhost/phone'><query xmlns='jabber:iq:version'/></iq>`);
    await b.sm.until(() => b.sm.bodies().length === 15 && b.sm.stanzas.some((e) => e.name === "iq"), 5000, "bob's stanzas");
    await c.sm.until(() => c.sm.bodies().length === 5, 5000, "carol's messages");
    // carol's connection drops: her session hibernates, and more arrives for her meanwhile.
    c.c.destroy();
    c.sm.stop();
    await sleep(100);
    for (let i = 5; i < 10; i++) a.send(chat("carol@localhost", `c${i}`));
    await a.ping();
    assert.ok(s1.host.sessions.get(Jid.parse(c.jid)), "carol hibernates");

    const bounced = a.next((e) => e.name === "iq" && e.attrs.id === "q1", 10000, "the bounced IQ");
    const stopping = s1.stop();
    s1Stopped = true;
    const err = await b.c.next((e) => e.name === "stream:error", 10000, "bob's stream error");
    assert.ok(err.getChild("system-shutdown", NS_STREAM_ERRORS), err.toString());
    const iqErr = await bounced;
    assert.equal(iqErr.attrs.type, "error");
    assert.equal(iqErr.attrs.from, "bob@localhost/phone");
    assert.equal(stanzaErrorCondition(iqErr), "service-unavailable");
    await stopping;

    const s2 = await start();
    t.after(() => s2.stop());
    const port2 = s2.ports.c2s!;
    assert.equal(await s2.modules.get(OfflineServiceToken).count("bob@localhost"), 15);
    assert.equal(await s2.modules.get(OfflineServiceToken).count("carol@localhost"), 10);
    for (const [user, prefix, n] of [["bob", "b", 15], ["carol", "c", 10]] as const) {
      const r = await RawClient.connect(port2);
      t.after(() => r.destroy());
      await r.login(user, "pw", "laptop");
      r.send("<presence/>");
      const bodies: string[] = [];
      for (let i = 0; i < n; i++) bodies.push((await r.next((e) => e.name === "message", 5000, `${user} offline ${i}`)).getChildText("body") ?? "");
      assert.deepEqual(
        bodies,
        [...Array(n).keys()].map((i) => `${prefix}${i}`),
      );
    }
  });

  // --- counting ------------------------------------------------------------------------------
  test("the feature is offered after authentication only; h counts handled stanzas from <enable/>", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const pre = await RawClient.connect(p.port);
    t.after(() => pre.destroy());
    const f0 = await pre.openStream();
    assert.equal(f0.getChild("sm", SM), undefined, "not before TLS/auth: " + f0.toString());
    await pre.startTls();
    const f1 = await pre.openStream();
    assert.equal(f1.getChild("sm", SM), undefined, "not before auth: " + f1.toString());
    pre.send(`<enable xmlns='${SM}'/>`);
    assert.equal(await pre.streamError(), "not-authorized");

    const { c, features } = await authenticated(p.port, bob, "pw");
    t.after(() => c.destroy());
    assert.ok(features.getChild("sm", SM), features.toString());
    // §3: not before binding.
    c.send(`<enable xmlns='${SM}' resume='true'/>`);
    const early = await c.next(smReply);
    assert.equal(early.name, "failed");
    assert.ok(early.getChild("unexpected-request", "urn:ietf:params:xml:ns:xmpp-stanzas"), early.toString());
    const full = await c.bind("x");
    // Stanzas handled before <enable/> do not count.
    await c.iq(`<iq type='get' id='p0'><ping xmlns='urn:xmpp:ping'/></iq>`, "p0");
    c.send(`<enable xmlns='${SM}' resume='true' max='60'/>`);
    const en = await c.next(smReply);
    assert.equal(en.name, "enabled");
    assert.equal(en.attrs.resume, "true");
    assert.equal(en.attrs.max, "60", "the client's shorter maximum is honoured");
    c.send(`<enable xmlns='${SM}'/>`);
    assert.equal((await c.next(smReply)).name, "failed", "enabling twice");
    const sm = new SmCounter(c, 0, en);
    sm.autoAck = false;
    for (let i = 1; i <= 3; i++) c.send(`<iq type='get' id='p${i}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    c.send(`<r xmlns='${SM}'/>`);
    const a1 = await c.next((e) => e.name === "a" && e.attrs.xmlns === SM);
    assert.equal(a1.attrs.h, "3");
    // The server asks for an acknowledgement every 5 stanzas it sends.
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    await sm.until(() => sm.stanzas.length === 3, 5000, "3 ping results");
    for (let i = 0; i < 2; i++) a.send(chat(full, i));
    await sm.until(() => sm.stanzas.length === 5, 5000, "5 stanzas");
    await sm.until(() => sm.requests >= 1, 2000, "<r/> after 5 stanzas");
    assert.equal(sm.requests, 1);
    // … and a short while after the last one when fewer were sent.
    a.send(chat(full, 2));
    await sm.until(() => sm.requests === 2, 3000, "<r/> after a pause");
    // An acknowledgement of more than was sent ends the stream (§4 handled-count-too-high).
    sm.ack(); // h = 6
    c.send(`<a xmlns='${SM}' h='9'/>`);
    const err = await c.next((e) => e.name === "stream:error", 5000, "stream error");
    assert.ok(err.getChild("undefined-condition", NS_STREAM_ERRORS), err.toString());
    const detail = err.getChild("handled-count-too-high", SM);
    assert.ok(detail, err.toString());
    assert.equal(detail.attrs.h, "9");
    assert.equal(detail.attrs["send-count"], "6");
    await c.waitClosed();
  });

  // --- resumption edge cases -------------------------------------------------------------------
  test("resume: unknown id, another user's id, or after bind is refused; the stream can still bind", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const b = await smLogin(p.port, bob, "pw", "phone");
    t.after(() => b.c.destroy());
    const r1 = await resume(p.port, bob, "pw", "no-such-id", 0);
    t.after(() => r1.c.destroy());
    assert.equal(r1.reply.name, "failed");
    assert.ok(r1.reply.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"), r1.reply.toString());
    await r1.c.bind("other"); // §5: binding is still possible after <failed/>
    const r2 = await resume(p.port, alice, "pw", b.id, 0);
    t.after(() => r2.c.destroy());
    assert.equal(r2.reply.name, "failed", "alice cannot take over bob's session");
    assert.ok(r2.reply.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"), r2.reply.toString());
    assert.ok(!b.c.closed, "bob's stream is untouched");
    r1.c.send(`<resume xmlns='${SM}' previd='${b.id}' h='0'/>`);
    const r3 = await r1.c.next(smReply);
    assert.equal(r3.name, "failed", "no resumption on a bound stream");
    assert.ok(r3.getChild("unexpected-request", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    assert.ok(!b.c.closed);
  });

  test("resuming while the old connection is still open closes it and keeps the session (no unavailable)", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    await p.server.roster.addMutual(`${alice}@localhost`, `${bob}@localhost`);
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    a.send("<presence/>");
    const b = await smLogin(p.port, bob, "pw", "phone");
    t.after(() => b.c.destroy());
    await a.next((e) => e.name === "presence" && e.attrs.from === b.jid && e.attrs.type === undefined, 5000, "bob available");
    b.sm.autoAck = false;
    a.send(chat(b.jid, "one"));
    await b.sm.until(() => b.sm.bodies().length === 1, 5000, "message one");
    const session = sessionOf(p, b.jid);
    // The client lost the connection from its side but the server has not noticed yet.
    b.sm.stop();
    const { c: c2, reply } = await resume(p.port, bob, "pw", b.id, b.sm.h);
    t.after(() => c2.destroy());
    assert.equal(reply.name, "resumed", reply.toString());
    assert.equal(await b.c.streamError(), "conflict");
    await b.c.waitClosed();
    const sm2 = new SmCounter(c2, b.sm.h, reply);
    a.send(chat(b.jid, "two"));
    await a.ping();
    await sm2.until(() => sm2.bodies().length === 1, 5000, "message two on the new connection");
    assert.deepEqual(sm2.bodies(), ["two"], "message one was acknowledged by the resume's h, not resent");
    assert.equal(sessionOf(p, b.jid), session, "the same session");
    await sleep(200);
    assert.equal(
      a.all.filter((e) => e.name === "presence" && e.attrs.from === b.jid && e.attrs.type === "unavailable").length,
      0,
      "contacts never saw bob go away",
    );
  });

  // --- ends: where unacknowledged stanzas go --------------------------------------------------
  test("a clean close with unacknowledged messages: another resource takes them (with a delay), not offline storage", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    const desk = await plainLogin(p.port, bob, "pw", "desk");
    t.after(() => desk.destroy());
    desk.send("<presence><priority>0</priority></presence>");
    const b = await smLogin(p.port, bob, "pw", "phone", { presence: "<presence><priority>5</priority></presence>" });
    t.after(() => b.c.destroy());
    b.sm.autoAck = false;
    await desk.next((e) => e.name === "presence" && e.attrs.from === b.jid, 5000, "phone available");
    for (let i = 0; i < 3; i++) a.send(chat(`${bob}@localhost`, i));
    await b.sm.until(() => b.sm.bodies().length === 3, 5000, "3 messages on the phone");
    assert.equal(desk.all.filter((e) => e.name === "message").length, 0, "the highest priority resource only");
    await b.c.close(); // </stream:stream> without acknowledging
    const got: Element[] = [];
    for (let i = 0; i < 3; i++) got.push(await desk.next((e) => e.name === "message", 5000, `rerouted message ${i}`));
    assert.deepEqual(
      got.map((m) => m.getChildText("body")),
      ["0", "1", "2"],
    );
    for (const m of got) assert.equal(m.getChild("delay", NS_DELAY)?.attrs.from, "localhost", m.toString());
    const unavailable = await desk.next((e) => e.name === "presence" && e.attrs.from === b.jid, 5000, "phone unavailable");
    assert.equal(unavailable.attrs.type, "unavailable");
    assert.ok(desk.all.indexOf(unavailable) > desk.all.indexOf(got[2]), "unacknowledged stanzas are dealt with before the unavailable broadcast");
    assert.equal(await offlineCount(p, `${bob}@localhost`), 0);
  });

  test("a resource that received the same message (tied priority) does not get it again", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    const desk = await plainLogin(p.port, bob, "pw", "desk");
    t.after(() => desk.destroy());
    desk.send("<presence/>");
    const b = await smLogin(p.port, bob, "pw", "phone");
    t.after(() => b.c.destroy());
    b.sm.autoAck = false;
    await desk.next((e) => e.name === "presence" && e.attrs.from === b.jid, 5000, "phone available");
    for (let i = 0; i < 2; i++) a.send(chat(`${bob}@localhost`, i));
    await b.sm.until(() => b.sm.bodies().length === 2, 5000, "2 messages on the phone");
    for (let i = 0; i < 2; i++) await desk.next((e) => e.name === "message", 5000, "message on the desk");
    await b.c.close();
    await desk.next((e) => e.name === "presence" && e.attrs.from === b.jid && e.attrs.type === "unavailable", 5000, "phone unavailable");
    await a.ping();
    await sleep(100);
    assert.equal(desk.all.filter((e) => e.name === "message").length, 2, "no second copy");
    assert.equal(await offlineCount(p, `${bob}@localhost`), 0);
  });

  test("a session without resumption that loses its connection ends at once; its unacknowledged messages go offline", async (t) => {
    const [alice, bob] = await users("alice", "bob");
    const a = await plainLogin(p.port, alice, "pw", "desk");
    t.after(() => a.destroy());
    const b = await smLogin(p.port, bob, "pw", "phone", { resume: false });
    t.after(() => b.c.destroy());
    assert.equal(b.id, "", "no SM-ID without resumption");
    b.sm.autoAck = false;
    for (let i = 0; i < 4; i++) a.send(chat(`${bob}@localhost`, i));
    await b.sm.until(() => b.sm.bodies().length === 4, 5000, "4 messages");
    b.sm.ack(); // the first 4 (and the presence) are acknowledged …
    for (let i = 4; i < 7; i++) a.send(chat(`${bob}@localhost`, i));
    await b.sm.until(() => b.sm.bodies().length === 7, 5000, "7 messages");
    await sleep(50);
    b.c.destroy(); // … the last 3 are not
    await waitFor(() => sessionOf(p, b.jid) === undefined, 5000, "the session to end");
    await waitFor(async () => (await offlineCount(p, `${bob}@localhost`)) === 3, 3000, "3 offline messages");
  });

  test("too many unacknowledged stanzas end the stream with policy-violation; nothing is lost", async (t) => {
    const q = await startParley({ users: [["alice", "pw"], ["bob", "pw"]], env: { PARLEY_HTTP_ENABLED: "false", PARLEY_STREAM_MANAGEMENT_MAX_UNACKED_STANZAS: "10" } });
    t.after(() => q.stop());
    const a = await plainLogin(q.port, "alice", "pw", "desk");
    t.after(() => a.destroy());
    const b = await smLogin(q.port, "bob", "pw", "phone", { presence: false });
    t.after(() => b.c.destroy());
    b.sm.autoAck = false;
    for (let i = 0; i < 15; i++) a.send(chat("bob@localhost/phone", i));
    await a.ping();
    assert.equal(await b.c.streamError(), "policy-violation");
    await waitFor(async () => (await offlineCount(q, "bob@localhost")) === 15, 3000, "15 offline messages");
  });
});
