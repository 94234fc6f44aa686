// Hostile and broken input over raw sockets (RFC 6120 §4.9, §8.3, §11): what real clients
// never send, byte for byte, and the stream or stanza error the server must answer with.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startParley, type TestParley } from "../support/parley.ts";
import { NS_SASL, RawClient, stanzaErrorCondition } from "./support/raw-client.ts";

const HEADER = "<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

describe("bad input", { concurrency: true }, () => {
  let p: TestParley;
  let small: TestParley;
  before(async () => {
    [p, small] = await Promise.all([
      startParley({ users: [["alice", "alicepw"], ["bob", "bobpw"]] }),
      // 10000 is the smallest limit RFC 6120 §13.12 allows (and the config accepts).
      startParley({ users: [["alice", "alicepw"]], env: { PARLEY_LIMITS_MAX_STANZA_BYTES: "10000" } }),
    ]);
  });
  after(async () => {
    await Promise.all([p?.stop(), small?.stop()]);
  });

  /** A logged-in raw client; closed after the test. */
  async function loggedIn(t: { after(fn: () => unknown): void }, server: TestParley, resource: string): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    t.after(() => c.destroy());
    await c.login("alice", "alicepw", resource);
    return c;
  }

  test("a DOCTYPE with an internal subset before the stream header → restricted-xml", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    c.send("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY lol 'lol'>]>" + HEADER);
    assert.equal(await c.streamError(), "restricted-xml");
    await c.waitClosed();
  });

  test("an entity declaration inside the stream → restricted-xml", async (t) => {
    const c = await loggedIn(t, p, "ent");
    c.send("<!ENTITY xxe SYSTEM 'file:///etc/passwd'><message to='bob@localhost'><body>&xxe;</body></message>");
    assert.equal(await c.streamError(), "restricted-xml");
    await c.waitClosed();
    assert.doesNotMatch(c.text, /root:/);
  });

  test("an XML comment → restricted-xml", async (t) => {
    const c = await loggedIn(t, p, "comment");
    c.send("<!-- hello --><message to='bob@localhost'><body>x</body></message>");
    assert.equal(await c.streamError(), "restricted-xml");
    await c.waitClosed();
  });

  test("a processing instruction → restricted-xml", async (t) => {
    const c = await loggedIn(t, p, "pi");
    c.send("<?xml-stylesheet href='x.xsl'?><message to='bob@localhost'><body>x</body></message>");
    assert.equal(await c.streamError(), "restricted-xml");
    await c.waitClosed();
  });

  test("an oversized stanza → policy-violation (limit 10000 bytes)", async (t) => {
    const c = await loggedIn(t, small, "big");
    // Just under the limit is fine…
    c.send(`<iq type='get' id='ok'><ping xmlns='urn:xmpp:ping'/><x>${"a".repeat(8000)}</x></iq>`);
    // (that IQ has two children → bad-request, which proves it was parsed and routed)
    const ok = await c.next((e) => e.is("iq") && e.attrs.id === "ok");
    assert.equal(ok.attrs.type, "error");
    // …over it is not, even when it arrives in pieces.
    c.send(`<message to='alice@localhost'><body>${"b".repeat(6000)}`);
    c.send(`${"b".repeat(6000)}</body></message>`);
    assert.equal(await c.streamError(), "policy-violation");
    await c.waitClosed();
  });

  test("a spoofed 'from' (another user's JID) → invalid-from stream error", async (t) => {
    // RFC 6120 §8.1.2.1: the server either stamps the right address or ends the stream with
    // <invalid-from/>; Parley does the latter (c2s-stream.ts onStanza).
    const c = await loggedIn(t, p, "spoof");
    c.send("<message from='bob@localhost/phone' to='alice@localhost'><body>I am bob</body></message>");
    assert.equal(await c.streamError(), "invalid-from");
    await c.waitClosed();
  });

  test("its own bare JID or full JID in 'from' is accepted", async (t) => {
    const c = await loggedIn(t, p, "ownfrom");
    c.send("<iq type='get' id='p1' from='alice@localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    c.send("<iq type='get' id='p2' from='alice@localhost/ownfrom'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert.equal((await c.next((e) => e.attrs.id === "p1")).attrs.type, "result");
    assert.equal((await c.next((e) => e.attrs.id === "p2")).attrs.type, "result");
  });

  test("a malformed JID in 'to' → jid-malformed stanza error, stream stays up", async (t) => {
    const c = await loggedIn(t, p, "badto");
    c.send("<message to='a@b@c' id='m1' type='chat'><body>x</body></message>");
    const e1 = await c.next((e) => e.is("message") && e.attrs.id === "m1");
    assert.equal(e1.attrs.type, "error");
    assert.equal(stanzaErrorCondition(e1), "jid-malformed");
    // RFC 7622 §3.3.1: a localpart is at most 1023 bytes.
    c.send(`<iq to='${"a".repeat(1100)}@localhost' type='get' id='i1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    const e2 = await c.next((e) => e.is("iq") && e.attrs.id === "i1");
    assert.equal(e2.attrs.type, "error");
    assert.equal(stanzaErrorCondition(e2), "jid-malformed");
    c.send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert.equal((await c.next((e) => e.attrs.id === "alive")).attrs.type, "result");
  });

  test("not-well-formed XML (mismatched end tag) → not-well-formed", async (t) => {
    const c = await loggedIn(t, p, "nwf");
    c.send("<message to='bob@localhost'><body>x</message>");
    assert.equal(await c.streamError(), "not-well-formed");
    await c.waitClosed();
  });

  test("not-well-formed XML (bad attribute syntax) → not-well-formed", async (t) => {
    const c = await loggedIn(t, p, "nwf2");
    c.send("<message to=bob@localhost><body>x</body></message>");
    assert.equal(await c.streamError(), "not-well-formed");
    await c.waitClosed();
  });

  test("a stanza before authentication → not-authorized", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    await c.openStream();
    await c.startTls();
    const f = await c.openStream();
    assert.ok(f.getChild("mechanisms", NS_SASL));
    c.send("<message to='bob@localhost' type='chat'><body>let me in</body></message>");
    assert.equal(await c.streamError(), "not-authorized");
    await c.waitClosed();
  });

  test("a stanza after authentication but before resource binding → not-authorized", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    await c.openStream();
    await c.startTls();
    await c.openStream();
    assert.equal((await c.authPlain("alice", "alicepw")).name, "success");
    await c.openStream();
    c.send("<message to='bob@localhost' type='chat'><body>unbound</body></message>");
    assert.equal(await c.streamError(), "not-authorized");
    await c.waitClosed();
  });

  test("an unknown top-level element → unsupported-stanza-type", async (t) => {
    const c = await loggedIn(t, p, "unknown");
    c.send("<foo xmlns='jabber:client'/>");
    assert.equal(await c.streamError(), "unsupported-stanza-type");
    await c.waitClosed();
  });
  test("an IQ without an id, or with an unknown type → bad-request (RFC 6120 §8.2.3)", async (t) => {
    const c = await loggedIn(t, p, "iqcheck");
    c.send("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    const e1 = await c.next((e) => e.is("iq") && e.attrs.id === undefined);
    assert.equal(e1.attrs.type, "error", e1.toString());
    assert.equal(stanzaErrorCondition(e1), "bad-request");
    for (const [id, type] of [["t1", "bogus"], ["t2", undefined]] as const) {
      c.send(`<iq ${type ? `type='${type}' ` : ""}id='${id}'><ping xmlns='urn:xmpp:ping'/></iq>`);
      const e = await c.next((el) => el.is("iq") && el.attrs.id === id);
      assert.equal(e.attrs.type, "error", e.toString());
      assert.equal(stanzaErrorCondition(e), "bad-request", e.toString());
    }
    // An id-less response is silently dropped, never answered.
    c.send("<iq type='result'/>");
    c.send("<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert.equal((await c.next((e) => e.attrs.id === "after")).attrs.type, "result");
    assert.equal(c.all.filter((e) => e.is("iq") && e.attrs.type === "error").length, 3, c.text);
  });

  test("an IQ get/set with no child or two children → bad-request", async (t) => {
    const c = await loggedIn(t, p, "iqkids");
    c.send("<iq type='get' id='k0'/>");
    c.send("<iq type='set' id='k2'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>");
    for (const id of ["k0", "k2"]) assert.equal(stanzaErrorCondition(await c.next((e) => e.attrs.id === id)), "bad-request");
  });

  test("invalid UTF-8 → not-well-formed", async (t) => {
    const c = await loggedIn(t, p, "utf8");
    c.socket.write(Buffer.concat([Buffer.from("<message to='bob@localhost'><body>"), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("</body></message>")]));
    assert.equal(await c.streamError(), "not-well-formed");
    await c.waitClosed();
  });

  test("an undefined entity (&nbsp;) → not-well-formed; the five predefined ones and character references pass", async (t) => {
    const c = await loggedIn(t, p, "ent2");
    c.send("<iq type='get' id='ok' to='localhost'><ping xmlns='urn:xmpp:ping' a='&lt;&amp;&#65;&#x42;&quot;&apos;&gt;'/></iq>");
    assert.equal((await c.next((e) => e.attrs.id === "ok")).attrs.type, "result");
    c.send("<message to='bob@localhost'><body>&nbsp;</body></message>");
    assert.equal(await c.streamError(), "not-well-formed");
  });

  test("nesting deeper than the limit → policy-violation", async (t) => {
    const c = await loggedIn(t, p, "deep");
    c.send("<message to='bob@localhost'>" + "<a>".repeat(200) + "</a>".repeat(200) + "</message>");
    assert.equal(await c.streamError(), "policy-violation");
  });

  test("bad stream headers: host-unknown, invalid-namespace, unsupported-version, unsupported-encoding, text before the header", async () => {
    const S = "xmlns:stream='http://etherx.jabber.org/streams'";
    const cases: Array<[string, string]> = [
      [`<stream:stream to='example.org' version='1.0' xmlns='jabber:client' ${S}>`, "host-unknown"],
      [`<stream:stream to='localhost' version='1.0' xmlns='jabber:server' ${S}>`, "invalid-namespace"],
      [`<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='urn:wrong'>`, "invalid-namespace"],
      [`<stream:stream to='localhost' xmlns='jabber:client' ${S}>`, "unsupported-version"],
      [`<?xml version='1.0' encoding='UTF-16'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' ${S}>`, "unsupported-encoding"],
      ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "not-well-formed"],
    ];
    await Promise.all(
      cases.map(async ([header, condition]) => {
        const c = await RawClient.connect(p.port);
        try {
          c.send(header);
          assert.equal(await c.streamError(), condition, header);
          await c.waitClosed();
        } finally {
          c.destroy();
        }
      }),
    );
  });

  test("SASL input errors: invalid-mechanism, incorrect-encoding, invalid-authzid; too many failures end the stream", async (t) => {
    const c = await RawClient.connect(p.port);
    t.after(() => c.destroy());
    await c.openStream();
    await c.startTls();
    await c.openStream();
    const sasl = async (xml: string) => {
      c.send(xml);
      return c.next((e) => e.attrs.xmlns === NS_SASL && (e.name === "failure" || e.name === "success" || e.name === "challenge"));
    };
    const cond = (e: { getChildElements(): Array<{ name: string }> }) => e.getChildElements().find((x) => x.name !== "text")?.name;
    assert.equal(cond(await sasl(`<auth xmlns='${NS_SASL}' mechanism='DIGEST-MD5'/>`)), "invalid-mechanism");
    assert.equal(cond(await sasl(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>!!!!</auth>`)), "incorrect-encoding");
    const authzid = Buffer.from("bob@localhost\0alice\0alicepw").toString("base64");
    assert.equal(cond(await sasl(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${authzid}</auth>`)), "invalid-authzid");
    const wrong = Buffer.from("\0alice\0wrong").toString("base64");
    for (let i = 0; i < 10 && !c.all.some((e) => e.name === "stream:error"); i++) {
      c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${wrong}</auth>`);
      await c.next((e) => (e.attrs.xmlns === NS_SASL && e.name === "failure") || e.name === "stream:error");
    }
    const err = c.all.find((e) => e.name === "stream:error");
    assert.ok(err, "the stream ends after repeated failures: " + c.text.slice(-500));
    assert.ok(err.getChild("policy-violation"), err.toString());
    assert.ok(c.all.filter((e) => e.name === "failure").length >= 3, "at least a few retries are allowed (RFC 6120 §6.4.5)");
    await c.waitClosed();
  });

  test("a stream error from the client: the server closes its stream without answering with an error", async (t) => {
    const c = await loggedIn(t, p, "clienterr");
    c.send("<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
    await c.waitClosed();
    assert.equal(c.all.filter((e) => e.name === "stream:error").length, 0, c.text);
  });

  test("the client closing its stream gets the server's </stream:stream> and the TCP close", async (t) => {
    const c = await loggedIn(t, p, "bye");
    c.send("</stream:stream>");
    await c.waitClosed();
    assert.match(c.text, /<\/stream:stream>\s*$/);
  });
});
