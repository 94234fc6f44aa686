// The RFC 6121 Appendix A state tables, row by row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inbound, outbound, NO_STATE, type SubState } from "./subscription.ts";

const st = (subscription: SubState["subscription"], flags: Partial<SubState> = {}): SubState => ({ ...NO_STATE, subscription, ...flags });
const key = (s: SubState) => `${s.subscription}${s.askOut ? "+PO" : ""}${s.pendingIn ? "+PI" : ""}${s.approved ? "+A" : ""}`;

test("A.2.1 outbound subscribe: pending out unless already subscribed; always routed", () => {
  assert.equal(key(outbound("subscribe", st("none")).next), "none+PO");
  assert.equal(key(outbound("subscribe", st("none", { pendingIn: true })).next), "none+PO+PI");
  assert.equal(key(outbound("subscribe", st("from")).next), "from+PO");
  assert.equal(key(outbound("subscribe", st("to")).next), "to");
  assert.equal(key(outbound("subscribe", st("both")).next), "both");
  for (const s of [st("none"), st("to"), st("both")]) assert.equal(outbound("subscribe", s).forward, true);
});

test("A.2.2 outbound subscribed: approves a pending request, else pre-approves", () => {
  const approve = outbound("subscribed", st("none", { pendingIn: true }));
  assert.equal(key(approve.next), "from");
  assert.equal(approve.forward, true);
  assert.equal(approve.sendPresence, true);
  assert.equal(key(outbound("subscribed", st("to", { pendingIn: true })).next), "both");
  assert.equal(key(outbound("subscribed", st("none", { askOut: true, pendingIn: true })).next), "from+PO");
  const pre = outbound("subscribed", st("none"));
  assert.equal(key(pre.next), "none+A");
  assert.equal(pre.forward, false);
  const already = outbound("subscribed", st("both"));
  assert.equal(already.forward, false);
  assert.equal(key(already.next), "both");
});

test("A.2.3 outbound unsubscribe: drops 'to' and pending out", () => {
  assert.equal(key(outbound("unsubscribe", st("to")).next), "none");
  assert.equal(key(outbound("unsubscribe", st("both")).next), "from");
  assert.equal(key(outbound("unsubscribe", st("none", { askOut: true })).next), "none");
  assert.equal(outbound("unsubscribe", st("none")).forward, true);
});

test("A.2.4 outbound unsubscribed: cancels 'from', refuses requests, drops pre-approval", () => {
  const cancel = outbound("unsubscribed", st("both"));
  assert.equal(key(cancel.next), "to");
  assert.equal(cancel.forward, true);
  assert.equal(cancel.sendUnavailable, true);
  const refuse = outbound("unsubscribed", st("none", { pendingIn: true }));
  assert.equal(key(refuse.next), "none");
  assert.equal(refuse.forward, true);
  assert.equal(refuse.sendUnavailable, false);
  assert.equal(key(outbound("unsubscribed", st("none", { approved: true })).next), "none");
  assert.equal(outbound("unsubscribed", st("to")).forward, false);
});

test("A.3.1 inbound subscribe: store and deliver, auto-reply when granted or pre-approved", () => {
  const fresh = inbound("subscribe", st("none"));
  assert.equal(key(fresh.next), "none+PI");
  assert.equal(fresh.forward, true);
  const dup = inbound("subscribe", st("none", { pendingIn: true }));
  assert.equal(dup.forward, false);
  const granted = inbound("subscribe", st("from"));
  assert.equal(granted.autoReplySubscribed, true);
  assert.equal(granted.forward, false);
  const pre = inbound("subscribe", st("to", { approved: true }));
  assert.equal(key(pre.next), "both");
  assert.equal(pre.autoReplySubscribed, true);
  assert.equal(pre.sendPresence, true);
});

test("A.3.2 inbound subscribed: only when we asked", () => {
  const ok = inbound("subscribed", st("none", { askOut: true }));
  assert.equal(key(ok.next), "to");
  assert.equal(ok.forward, true);
  assert.equal(key(inbound("subscribed", st("from", { askOut: true })).next), "both");
  assert.equal(key(inbound("subscribed", st("none", { askOut: true, pendingIn: true })).next), "to+PI");
  const unasked = inbound("subscribed", st("none"));
  assert.equal(unasked.forward, false);
  assert.equal(key(unasked.next), "none");
});

test("A.3.3 inbound unsubscribe: the contact drops our presence", () => {
  const r = inbound("unsubscribe", st("both"));
  assert.equal(key(r.next), "to");
  assert.equal(r.forward, true);
  assert.equal(r.sendUnavailable, true);
  assert.equal(key(inbound("unsubscribe", st("none", { pendingIn: true })).next), "none");
  assert.equal(inbound("unsubscribe", st("to")).forward, false);
});

test("A.3.4 inbound unsubscribed: our subscription or request ends", () => {
  assert.equal(key(inbound("unsubscribed", st("both")).next), "from");
  assert.equal(key(inbound("unsubscribed", st("none", { askOut: true })).next), "none");
  assert.equal(inbound("unsubscribed", st("none", { askOut: true })).forward, true);
  assert.equal(inbound("unsubscribed", st("from")).forward, false);
});
