// XMPP over WebSocket (RFC 7395), host-meta (XEP-0156), health, readiness and metrics against a
// real Parley on loopback: @xmpp/client over ws:// chatting with a TCP client, raw frames with
// the `ws` package (subprotocol refusal, framing, TLS policy, wss://), and the HTTP endpoints.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { client, xml, type XmppClient } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { until, within, xmppjs } from "./support/xmppjs.ts";
import { StreamParser } from "../../src/xml/stream-parser.ts";
import type { Element } from "../../src/xml/element.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
const OPEN = `<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`;

/** An @xmpp/client over WebSocket; never reconnects on its own. */
function wsClient(url: string, username: string, password: string, resource: string, mechanism: string): XmppClient {
  const c = client({
    service: url,
    domain: "localhost",
    resource,
    timeout: 10_000,
    credentials: async (authenticate, offered) => {
      if (!offered.includes(mechanism)) throw new Error(`${mechanism} not offered: ${offered.join(" ")}`);
      await authenticate({ username, password }, mechanism);
    },
  });
  c.on("error", () => {});
  c.reconnect.stop();
  return c;
}

/** Parses one frame as the standalone document RFC 7395 requires. */
function parseFrame(frame: string): Element | "open" | "close" {
  let out: Element | "open" | "close" | undefined;
  const p = new StreamParser(
    {
      streamStart: (name) => (out = name === "open" ? "open" : undefined),
      stanza: (el) => (out = el),
      streamEnd: () => (out = "close"),
      error: (err) => assert.fail(`frame does not parse on its own (${err.message}): ${frame}`),
    },
    { framing: "websocket" },
  );
  if (!frame.startsWith("<open")) p.write(`<open xmlns='${FRAMING}' from='localhost' version='1.0'/>`);
  out = undefined;
  p.write(frame);
  assert.ok(out !== undefined, `no element in frame: ${frame}`);
  return out;
}

/** A raw WebSocket client that queues text frames. */
class RawWs {
  readonly ws: WebSocket;
  private frames: string[] = [];
  private waiter: (() => void) | undefined;
  readonly closed: Promise<number>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      this.frames.push(data.toString());
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  }

  static open(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<RawWs> {
    const ws = new WebSocket(url, opts.protocols ?? ["xmpp"], { headers: opts.headers, rejectUnauthorized: false });
    const raw = new RawWs(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(raw));
      ws.once("error", reject);
    });
  }

  send(s: string): void {
    this.ws.send(s);
  }

  async next(ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    while (this.frames.length === 0) {
      if (Date.now() > end) throw new Error("no frame within " + ms + " ms");
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    return this.frames.shift()!;
  }

  async nextElement(): Promise<Element> {
    const f = parseFrame(await this.next());
    assert.ok(typeof f !== "string", `expected an element, got <${f}/>`);
    return f;
  }

  /** Sends <open/>, returns the stream features after checking the <open/> answer. */
  async openStream(): Promise<Element> {
    this.send(OPEN);
    const open = await this.next();
    assert.equal(parseFrame(open), "open");
    assert.match(open, new RegExp(`^<open xmlns='${FRAMING}' from='localhost' id='[^']+' version='1.0'`));
    const features = await this.nextElement();
    assert.equal(features.name, "stream:features");
    assert.equal(features.attrs["xmlns:stream"], "http://etherx.jabber.org/streams");
    return features;
  }

  async loginPlain(user: string, pw: string, resource: string): Promise<string> {
    const f = await this.openStream();
    assert.ok(f.toString().includes("<mechanism>PLAIN</mechanism>"), f.toString());
    assert.equal(f.getChild("starttls"), undefined, "no STARTTLS over WebSocket");
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${pw}`).toString("base64")}</auth>`);
    assert.equal((await this.nextElement()).name, "success");
    await this.openStream();
    this.send(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const bound = await this.nextElement();
    assert.equal(bound.attrs.xmlns, "jabber:client");
    return bound.getChild("bind")!.getChildText("jid")!;
  }
}

/** The first sample of a metric with exactly these labels, from Prometheus text. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  assert.ok(line, `no sample ${name}{${labels}} in /metrics`);
  return Number(line.split(" ").pop());
}

describe("XMPP over WebSocket and the HTTP endpoints", { concurrency: true }, () => {
  let p: TestParley;
  let strict: TestParley;
  let http: string;
  let wsUrl: string;
  before(async () => {
    [p, strict] = await Promise.all([
      startParley({ users: [["alice", "alicepw"], ["bob", "bobpw"], ["carol", "carolpw"]] }),
      startParley({
        users: [["alice", "alicepw"]],
        env: {
          PARLEY_HTTP_WEBSOCKET_TRUSTED_INSECURE: "none",
          PARLEY_HTTP_METRICS_ALLOW: "none",
          PARLEY_HTTP_WEBSOCKET_URL: "wss://chat.example.com/xmpp-websocket",
        },
      }),
    ]);
    http = `http://127.0.0.1:${p.server.ports.http}`;
    wsUrl = `ws://127.0.0.1:${p.server.ports.http}/xmpp-websocket`;
    await p.server.roster.addMutual("alice@localhost", "bob@localhost");
  });
  after(async () => {
    await Promise.all([p?.stop(), strict?.stop()]);
  });

  test("@xmpp/client over ws:// logs in with SCRAM, gets its roster and chats with a TCP client; metrics move", async (t) => {
    const before = await (await fetch(`${http}/metrics`)).text();
    const alice = wsClient(wsUrl, "alice", "alicepw", "browser", "SCRAM-SHA-1");
    const bob = xmppjs(p.port, "bob", "bobpw", "desk");
    t.after(async () => {
      await Promise.allSettled([alice.stop(), bob.stop()]);
    });
    const aliceGot: string[] = [];
    const bobGot: string[] = [];
    alice.on("stanza", (s: any) => s.is("message") && s.getChildText("body") && aliceGot.push(`${s.getChildText("body")} from ${s.attrs.from}`));
    bob.on("stanza", (s: any) => s.is("message") && s.getChildText("body") && bobGot.push(`${s.getChildText("body")} from ${s.attrs.from}`));
    await within(Promise.all([alice.start(), bob.start()]), 15_000, "login");
    assert.equal(alice.jid?.toString(), "alice@localhost/browser");

    const roster = await alice.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }));
    const items = roster.getChildren("item").map((i) => `${i.attrs.jid} ${i.attrs.subscription}`);
    assert.deepEqual(items, ["bob@localhost both"]);

    await alice.send(xml("presence"));
    await bob.send(xml("presence"));
    await alice.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, "hello over websocket")));
    await bob.send(xml("message", { to: "alice@localhost/browser", type: "chat" }, xml("body", {}, "hello over tcp")));
    await until(() => bobGot.length > 0 && aliceGot.length > 0, 5000, "both messages");
    assert.deepEqual(bobGot, ["hello over websocket from alice@localhost/browser"]);
    assert.deepEqual(aliceGot, ["hello over tcp from bob@localhost/desk"]);

    const during = await (await fetch(`${http}/metrics`)).text();
    assert.equal(sample(during, "parley_sessions", 'transport="websocket"') - sample(before, "parley_sessions", 'transport="websocket"'), 1);
    assert.ok(sample(during, "parley_sessions", 'transport="tcp"') >= 1);
    assert.ok(sample(during, "parley_auth_successes_total", 'mechanism="SCRAM-SHA-1"') > sample(before, "parley_auth_successes_total", 'mechanism="SCRAM-SHA-1"'));
    assert.ok(sample(during, "parley_stanzas_in_total", 'kind="message"') >= sample(before, "parley_stanzas_in_total", 'kind="message"') + 2);
    assert.ok(sample(during, "parley_stanzas_out_total", 'kind="message"') >= sample(before, "parley_stanzas_out_total", 'kind="message"') + 2);
    assert.ok(sample(during, "parley_stanzas_in_total", 'kind="iq"') > sample(before, "parley_stanzas_in_total", 'kind="iq"'));
    assert.ok(sample(during, "parley_stanzas_out_total", 'kind="presence"') > sample(before, "parley_stanzas_out_total", 'kind="presence"'));
    assert.ok(sample(during, "parley_storage_query_seconds_count", 'op="query"') > sample(before, "parley_storage_query_seconds_count", 'op="query"'));

    await alice.stop();
    await until(() => p.server.host.sessions.resources("alice@localhost").length === 0, 5000, "alice's session to end");
    const afterStop = await (await fetch(`${http}/metrics`)).text();
    assert.equal(sample(afterStop, "parley_sessions", 'transport="websocket"'), sample(before, "parley_sessions", 'transport="websocket"'));
  });

  test("raw frames: one element per frame, jabber:client on stanzas, <close/> answered with <close/>", async (t) => {
    const c = await RawWs.open(wsUrl);
    t.after(() => c.ws.terminate());
    assert.equal(c.ws.protocol, "xmpp");
    assert.equal(await c.loginPlain("carol", "carolpw", "raw"), "carol@localhost/raw");
    c.send("<message xmlns='jabber:client' to='carol@localhost/raw' type='chat' id='m1'><body>echo</body></message>");
    const echo = await c.nextElement();
    assert.equal(echo.name, "message");
    assert.equal(echo.attrs.xmlns, "jabber:client");
    assert.equal(echo.attrs.from, "carol@localhost/raw");
    assert.equal(echo.getChildText("body"), "echo");
    c.send("<iq xmlns='jabber:client' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    const pong = await c.nextElement();
    assert.equal(pong.attrs.xmlns, "jabber:client");
    assert.equal(pong.attrs.type, "result");

    c.send(`<close xmlns='${FRAMING}'/>`);
    assert.equal(parseFrame(await c.next()), "close");
    assert.equal(await within(c.closed, 5000, "WebSocket close"), 1000);
  });

  test("a WebSocket without the xmpp subprotocol is refused; a plain GET gets 426", async () => {
    await assert.rejects(RawWs.open(wsUrl, { protocols: ["chat"] }), /Unexpected server response: 400/);
    await assert.rejects(RawWs.open(wsUrl, { protocols: [] }), /Unexpected server response: 400/);
    const ok = await RawWs.open(wsUrl, { protocols: ["chat", "xmpp"] });
    assert.equal(ok.ws.protocol, "xmpp");
    ok.ws.terminate();
    const r = await fetch(`${http}/xmpp-websocket`);
    assert.equal(r.status, 426);
    assert.equal(r.headers.get("upgrade"), "websocket");
  });

  test("ws:// is refused when the peer is not trusted, or a trusted proxy reports plain HTTP; wss:// always works", async (t) => {
    const refuse = async (url: string, headers?: Record<string, string>) => {
      const c = await RawWs.open(url, { headers });
      t.after(() => c.ws.terminate());
      c.send(OPEN);
      assert.equal(parseFrame(await c.next()), "open");
      const err = await c.nextElement();
      assert.equal(err.name, "stream:error");
      assert.ok(err.getChild("policy-violation"), err.toString());
      assert.match(err.toString(), /connect with wss:\/\//);
      assert.equal(parseFrame(await c.next()), "close");
      await within(c.closed, 5000, "close");
    };
    await refuse(`ws://127.0.0.1:${strict.server.ports.http}/xmpp-websocket`);
    await refuse(wsUrl, { "X-Forwarded-Proto": "http" });

    const secure = await RawWs.open(`wss://127.0.0.1:${strict.server.ports.https}/xmpp-websocket`);
    t.after(() => secure.ws.terminate());
    assert.equal(await secure.loginPlain("alice", "alicepw", "tls"), "alice@localhost/tls");
  });

  test("host-meta (XEP-0156) advertises the WebSocket endpoint in XRD and JSON", async () => {
    const xrd = await fetch(`${http}/.well-known/host-meta`);
    assert.equal(xrd.status, 200);
    assert.match(xrd.headers.get("content-type") ?? "", /^application\/xrd\+xml/);
    assert.equal(xrd.headers.get("access-control-allow-origin"), "*");
    const body = await xrd.text();
    assert.match(body, /^<\?xml version='1.0' encoding='utf-8'\?>\n<XRD xmlns='http:\/\/docs.oasis-open.org\/ns\/xri\/xrd-1.0'>/);
    assert.ok(body.includes(`<Link rel='urn:xmpp:alt-connections:websocket' href='${wsUrl}'/>`), body);

    const json = await fetch(`${http}/.well-known/host-meta.json`);
    assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await json.json(), { links: [{ rel: "urn:xmpp:alt-connections:websocket", href: wsUrl }] });

    const tlsJson = await fetch(`https://127.0.0.1:${p.server.ports.https}/.well-known/host-meta.json`);
    assert.deepEqual(await tlsJson.json(), {
      links: [{ rel: "urn:xmpp:alt-connections:websocket", href: `wss://127.0.0.1:${p.server.ports.https}/xmpp-websocket` }],
    });
    const configured = await fetch(`http://127.0.0.1:${strict.server.ports.http}/.well-known/host-meta.json`);
    assert.deepEqual(await configured.json(), { links: [{ rel: "urn:xmpp:alt-connections:websocket", href: "wss://chat.example.com/xmpp-websocket" }] });
  });

  test("/healthz, /metrics (and its allow list)", async () => {
    const h = await fetch(`${http}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, "ok");

    const m = await fetch(`${http}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
    const text = await m.text();
    for (const name of [
      "parley_sessions",
      "parley_stanzas_in_total",
      "parley_stanzas_out_total",
      "parley_auth_failures_total",
      "parley_auth_successes_total",
      "parley_storage_query_seconds",
      "parley_storage_errors_total",
      "nodejs_eventloop_lag_seconds",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    const denied = await fetch(`http://127.0.0.1:${strict.server.ports.http}/metrics`);
    assert.equal(denied.status, 403);
  });

  test("a failed login is counted in parley_auth_failures_total", async (t) => {
    const read = async () => sample(await (await fetch(`${http}/metrics`)).text(), "parley_auth_failures_total", 'reason="not-authorized"');
    const before = await read();
    const c = await RawWs.open(wsUrl);
    t.after(() => c.ws.terminate());
    await c.openStream();
    c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from("\0carol\0wrong").toString("base64")}</auth>`);
    const failure = await c.nextElement();
    assert.equal(failure.name, "failure");
    assert.ok(failure.getChild("not-authorized"));
    assert.equal(await read(), before + 1);
  });
});

test("/readyz is 200 while the database answers, 503 with the reason once it does not", async (t) => {
  const q = await startParley();
  t.after(() => q.stop());
  const url = `http://127.0.0.1:${q.server.ports.http}/readyz`;
  const ok = await fetch(url);
  assert.equal(ok.status, 200);
  const okBody = (await ok.json()) as { status: string; checks: Record<string, { ok: boolean }> };
  assert.equal(okBody.status, "ready");
  assert.deepEqual(Object.keys(okBody.checks).sort(), ["database", "http", "listeners"]);

  await q.server.host.db.close();
  const down = await fetch(url);
  assert.equal(down.status, 503);
  const body = (await down.json()) as { status: string; reason: string; checks: Record<string, { ok: boolean; error?: string }> };
  assert.equal(body.status, "not ready");
  assert.match(body.reason, /^database: .*closed/);
  assert.equal(body.checks.database.ok, false);
  assert.equal(body.checks.listeners.ok, true);
  assert.equal((await fetch(`http://127.0.0.1:${q.server.ports.http}/healthz`)).status, 200, "liveness is not readiness");
});
