import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Element, x } from "../../xml/element.ts";
import { Jid } from "../../jid/jid.ts";
import { Session, type SessionSink } from "../../core/session/session.ts";
import { NS } from "../../protocol/ns.ts";
import { classify, CsiBuffer } from "./buffer.ts";
import { makeActive, makeInactive } from "./index.ts";

/** A real Session over a sink that records what reaches the client. */
function fakeSession(jid = "juliet@capulet.lit/phone"): { session: Session; written: string[]; ids: () => string[] } {
  const written: string[] = [];
  const sink: SessionSink = {
    write: (d) => void written.push(d),
    close: () => {},
    transportKind: "test",
    secure: true,
    remoteAddress: "127.0.0.1",
  };
  const session = new Session(Jid.parse(jid), sink);
  return { session, written, ids: () => written.map((w) => /id='([^']*)'/.exec(w)?.[1] ?? "?") };
}

const pres = (from: string, id: string, extra: Record<string, string> = {}, ...children: Element[]) =>
  x("presence", { from, to: "juliet@capulet.lit/phone", id, ...extra }, ...children);
const chatState = (from: string, id: string, state = "composing") =>
  x("message", { from, to: "juliet@capulet.lit", type: "chat", id }, x(state, { xmlns: NS.CHATSTATES }));
const chat = (from: string, id: string, text = "hi") => x("message", { from, to: "juliet@capulet.lit", type: "chat", id }, x("body", null, text));
const carbonOf = (kind: "sent" | "received", inner: Element, id: string) =>
  x("message", { from: "juliet@capulet.lit", to: "juliet@capulet.lit/phone", type: "chat", id }, x(kind, { xmlns: NS.CARBONS }, x("forwarded", { xmlns: NS.FORWARD }, inner)));

describe("CSI classification", () => {
  it("presence updates are unimportant, keyed by sender", () => {
    assert.deepEqual(classify(pres("romeo@montague.lit/a", "1")), { important: false, key: "p romeo@montague.lit/a" });
    assert.deepEqual(classify(pres("romeo@montague.lit/a", "1", { type: "unavailable" })), { important: false, key: "p romeo@montague.lit/a" });
  });

  it("subscription requests, presence errors and MUC self-presence are important", () => {
    for (const type of ["subscribe", "subscribed", "unsubscribe", "unsubscribed", "error", "probe"]) {
      assert.equal(classify(pres("romeo@montague.lit", "1", { type })).important, true, type);
    }
    const self = pres("room@muc.lit/me", "1", {}, x("x", { xmlns: NS.MUC_USER }, x("status", { code: "110" })));
    assert.equal(classify(self).important, true);
    const other = pres("room@muc.lit/them", "1", {}, x("x", { xmlns: NS.MUC_USER }, x("status", { code: "100" })));
    assert.equal(classify(other).important, false);
  });

  it("standalone chat states are unimportant (also with a thread or hints, also inside carbons)", () => {
    assert.equal(classify(chatState("romeo@montague.lit/a", "1")).important, false);
    const withThread = chatState("romeo@montague.lit/a", "1");
    withThread.append(x("thread", null, "t"), x("no-store", { xmlns: NS.HINTS }));
    assert.equal(classify(withThread).important, false);
    assert.equal(classify(carbonOf("sent", chatState("juliet@capulet.lit/desk", "i"), "1")).important, false);
    assert.equal(classify(carbonOf("received", chat("romeo@montague.lit/a", "i"), "1")).important, true);
  });

  it("messages with a body or other payloads, empty messages, errors, IQs and anything else are important", () => {
    assert.equal(classify(chat("romeo@montague.lit/a", "1")).important, true);
    const stateAndBody = chatState("romeo@montague.lit/a", "1");
    stateAndBody.append(x("body", null, "hello"));
    assert.equal(classify(stateAndBody).important, true);
    assert.equal(classify(x("message", { from: "a@b", type: "chat" })).important, true);
    assert.equal(classify(x("message", { from: "a@b", type: "chat" }, x("received", { xmlns: NS.RECEIPTS, id: "x" }))).important, true);
    const errState = chatState("romeo@montague.lit/a", "1");
    errState.attrs.type = "error";
    assert.equal(classify(errState).important, true);
    assert.equal(classify(x("iq", { type: "get", id: "1" })).important, true);
    assert.equal(classify(x("something")).important, true);
  });
});

describe("CsiBuffer", () => {
  it("holds presence, keeps only the latest per sender, and flushes in order before an important stanza", () => {
    const out: string[] = [];
    const buf = new CsiBuffer((s) => void out.push(s.attrs.id!));
    assert.equal(buf.offer(pres("romeo@montague.lit/a", "p1")), null);
    assert.equal(buf.offer(pres("benvolio@montague.lit/b", "p2")), null);
    assert.equal(buf.offer(chatState("romeo@montague.lit/a", "c1")), null);
    assert.equal(buf.offer(pres("romeo@montague.lit/a", "p3", { type: "unavailable" })), null);
    assert.equal(buf.offer(pres("romeo@montague.lit/other", "p4")), null);
    assert.equal(buf.offer(chatState("romeo@montague.lit/a", "c2", "paused")), null);
    assert.equal(buf.size, 4);
    assert.deepEqual(out, []);
    const important = chat("romeo@montague.lit/a", "m1");
    assert.equal(buf.offer(important), important);
    // p1 replaced by p3 (later position), c1 by c2; the important one is the caller's to send.
    assert.deepEqual(out, ["p2", "p3", "p4", "c2"]);
    assert.equal(buf.size, 0);
  });

  it("passes important stanzas straight through when nothing is held", () => {
    const out: string[] = [];
    const buf = new CsiBuffer((s) => void out.push(s.attrs.id!));
    const iq = x("iq", { type: "get", id: "q" });
    assert.equal(buf.offer(iq), iq);
    assert.deepEqual(out, []);
  });

  it("is bounded: past the limit everything held is flushed", () => {
    const out: string[] = [];
    const buf = new CsiBuffer((s) => void out.push(s.attrs.id!), 3);
    for (let i = 1; i <= 3; i++) assert.equal(buf.offer(pres(`u${i}@x/r`, `p${i}`)), null);
    assert.deepEqual(out, []);
    assert.equal(buf.offer(pres("u4@x/r", "p4")), null);
    assert.deepEqual(out, ["p1", "p2", "p3", "p4"]);
    assert.equal(buf.size, 0);
  });

  it("replacing the same sender many times does not grow the queue", () => {
    const out: string[] = [];
    const buf = new CsiBuffer((s) => void out.push(s.attrs.id!), 5);
    buf.offer(pres("other@x/r", "first"));
    for (let i = 0; i < 1000; i++) buf.offer(pres("flappy@x/r", `f${i}`));
    assert.equal(buf.size, 2);
    assert.deepEqual(out, []);
    buf.flush();
    assert.deepEqual(out, ["first", "f999"]);
  });

  it("discard forgets what is held", () => {
    const out: string[] = [];
    const buf = new CsiBuffer((s) => void out.push(s.attrs.id!));
    buf.offer(pres("a@x/r", "p"));
    assert.equal(buf.discard(), 1);
    buf.flush();
    assert.deepEqual(out, []);
  });
});

describe("CSI on a session (out filter)", () => {
  it("an inactive session receives held stanzas only on <active/>, in order, with the latest presence", () => {
    const { session, ids } = fakeSession();
    const st = makeInactive(session);
    session.send(pres("romeo@montague.lit/a", "p1"));
    session.send(chatState("romeo@montague.lit/a", "c1"));
    session.send(pres("romeo@montague.lit/a", "p2", {}, x("show", null, "away")));
    assert.deepEqual(ids(), []);
    makeActive(st);
    assert.deepEqual(ids(), ["c1", "p2"]);
    session.send(pres("romeo@montague.lit/a", "p3"));
    assert.deepEqual(ids(), ["c1", "p2", "p3"]); // active again: no filter
  });

  it("a message with a body flushes the queue ahead of itself", () => {
    const { session, ids } = fakeSession();
    makeInactive(session);
    session.send(pres("romeo@montague.lit/a", "p1"));
    session.send(pres("benvolio@montague.lit/b", "p2"));
    session.send(chat("romeo@montague.lit/a", "m1"));
    assert.deepEqual(ids(), ["p1", "p2", "m1"]);
    session.send(pres("romeo@montague.lit/a", "p3"));
    assert.deepEqual(ids(), ["p1", "p2", "m1"]); // still inactive: held again
    session.send(x("iq", { type: "set", id: "q1" }));
    assert.deepEqual(ids(), ["p1", "p2", "m1", "p3", "q1"]);
  });

  it("filters with higher priority run before holding (and again on flush); lower ones run once, on the way out", () => {
    const { session, ids } = fakeSession();
    const seenHigh: string[] = [];
    const seenLow: string[] = [];
    session.addOutFilter((s) => (seenHigh.push(s.attrs.id!), s.attrs.id === "drop" ? null : s), 100);
    session.addOutFilter((s) => (seenLow.push(s.attrs.id!), s), -1000);
    const st = makeInactive(session);
    session.send(pres("a@x/r", "drop"));
    session.send(pres("b@x/r", "keep"));
    assert.deepEqual(seenLow, []);
    makeActive(st);
    assert.deepEqual(ids(), ["keep"]);
    assert.deepEqual(seenHigh, ["drop", "keep", "keep"]);
    assert.deepEqual(seenLow, ["keep"]);
  });

  it("presence sent through the shared-bytes path is held too", () => {
    const { session, ids } = fakeSession();
    makeInactive(session);
    const p = pres("romeo@montague.lit/a", "raw");
    session.sendRaw(p.toString(), p);
    assert.deepEqual(ids(), []);
  });
});
