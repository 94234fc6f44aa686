import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Element, x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { isCarbon, isCarbonEligible, isPrivate, prepareForwarded, wrapCarbon } from "./rules.ts";

const msg = (attrs: Record<string, string>, ...children: Element[]) =>
  x("message", { from: "juliet@capulet.lit/balcony", to: "romeo@montague.lit", ...attrs }, ...children);
const body = (t = "hi") => x("body", null, t);
const both = (m: Element) => [isCarbonEligible(m, "sent"), isCarbonEligible(m, "received")];

describe("carbon eligibility (XEP-0280 §6)", () => {
  it("copies chat messages, with or without a body", () => {
    assert.deepEqual(both(msg({ type: "chat" }, body())), [true, true]);
    assert.deepEqual(both(msg({ type: "chat" })), [true, true]);
  });

  it("copies normal messages only with a body (type omitted means normal)", () => {
    assert.deepEqual(both(msg({ type: "normal" }, body())), [true, true]);
    assert.deepEqual(both(msg({}, body())), [true, true]);
    assert.deepEqual(both(msg({ type: "normal" })), [false, false]);
    assert.deepEqual(both(msg({}, x("x", { xmlns: "jabber:x:oob" }))), [false, false]);
  });

  it("copies IM payloads without a body: chat states, receipts, markers", () => {
    assert.deepEqual(both(msg({}, x("composing", { xmlns: NS.CHATSTATES }))), [true, true]);
    assert.deepEqual(both(msg({}, x("received", { xmlns: NS.RECEIPTS, id: "m1" }))), [true, true]);
    assert.deepEqual(both(msg({}, x("displayed", { xmlns: NS.CHAT_MARKERS, id: "m1" }))), [true, true]);
  });

  it("never copies groupchat, error or headline-without-IM-payload messages", () => {
    assert.deepEqual(both(msg({ type: "groupchat" }, body())), [false, false]);
    assert.deepEqual(both(msg({ type: "error" }, body())), [false, false]);
    assert.deepEqual(both(msg({ type: "headline" }, body())), [false, false]);
  });

  it("respects <private/> and the <no-copy/> hint, alone or together", () => {
    const priv = x("private", { xmlns: NS.CARBONS });
    const noCopy = x("no-copy", { xmlns: NS.HINTS });
    assert.deepEqual(both(msg({ type: "chat" }, body(), priv)), [false, false]);
    assert.deepEqual(both(msg({ type: "chat" }, body(), noCopy)), [false, false]);
    assert.deepEqual(both(msg({ type: "chat" }, body(), priv.clone(), noCopy.clone())), [false, false]);
    assert.equal(isPrivate(msg({ type: "chat" }, priv.clone())), true);
    assert.equal(isPrivate(msg({ type: "chat" }, x("private", { xmlns: "urn:example" }))), false);
    // Other hints do not matter.
    assert.deepEqual(both(msg({ type: "chat" }, body(), x("no-store", { xmlns: NS.HINTS }))), [true, true]);
  });

  it("does not copy carbons again", () => {
    const c = wrapCarbon("sent", prepareForwarded(msg({ type: "chat" }, body())), "juliet@capulet.lit", "juliet@capulet.lit/a");
    assert.equal(isCarbon(c), true);
    assert.deepEqual(both(c), [false, false]);
  });

  it("MUC: private messages from occupants are not copied on receipt; those the user sends are", () => {
    const pm = msg({ type: "chat", from: "room@muc.lit/nick" }, body(), x("x", { xmlns: NS.MUC_USER }));
    assert.equal(isCarbonEligible(pm, "received"), false);
    assert.equal(isCarbonEligible(pm, "sent"), true);
  });

  it("MUC: invitations are copied both ways, direct (XEP-0249) and mediated", () => {
    const direct = msg({}, x("x", { xmlns: NS.CONFERENCE, jid: "room@muc.lit" }));
    const mediated = msg({ from: "room@muc.lit" }, x("x", { xmlns: NS.MUC_USER }, x("invite", { from: "crone@shakespeare.lit" })));
    assert.deepEqual(both(direct), [true, true]);
    assert.deepEqual(both(mediated), [true, true]);
  });

  it("ignores non-message stanzas", () => {
    assert.equal(isCarbonEligible(x("presence"), "received"), false);
    assert.equal(isCarbonEligible(x("iq", { type: "get" }), "sent"), false);
  });
});

describe("carbon wrapping (XEP-0280 §7–8, XEP-0297)", () => {
  it("wraps the original from the bare JID to the receiving resource, same type, jabber:client inside", () => {
    const original = msg({ type: "chat", id: "m1" }, body("What man art thou?"), x("thread", null, "t1"));
    const inner = prepareForwarded(original);
    const c = wrapCarbon("received", inner, "romeo@montague.lit", "romeo@montague.lit/home");
    assert.equal(
      c.toString(),
      "<message from='romeo@montague.lit' to='romeo@montague.lit/home' type='chat'>" +
        "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
        "<message xmlns='jabber:client' from='juliet@capulet.lit/balcony' to='romeo@montague.lit' type='chat' id='m1'>" +
        "<body>What man art thou?</body><thread>t1</thread></message></forwarded></received></message>",
    );
    // The original is untouched (it is delivered as is).
    assert.equal(original.attrs.xmlns, undefined);
  });

  it("keeps an absent type absent and declares jabber:client even over another xmlns", () => {
    const c = wrapCarbon("sent", prepareForwarded(msg({ xmlns: "jabber:server" }, body())), "a@b", "a@b/c");
    assert.equal(c.attrs.type, undefined);
    const inner = c.getChild("sent", NS.CARBONS)!.getChild("forwarded", NS.FORWARD)!.getChild("message")!;
    assert.equal(inner.attrs.xmlns, NS.CLIENT);
  });
});
