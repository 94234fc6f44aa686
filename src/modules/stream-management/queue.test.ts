// XEP-0198 counting and queue logic: 'h' arithmetic with wrap-around, acknowledgements,
// stale and too-high values, what rerouting does with each kind of stanza.
import { test } from "node:test";
import assert from "node:assert/strict";
import { UnackedQueue, addH, parseH } from "./queue.ts";
import { disposition, parseStanza, stampDelay } from "./rules.ts";

const MAX = 2 ** 32 - 1;

test("parseH accepts unsignedInt only", () => {
  assert.equal(parseH("0"), 0);
  assert.equal(parseH("42"), 42);
  assert.equal(parseH(String(MAX)), MAX);
  for (const bad of [undefined, "", "-1", "1.5", "0x10", " 1", "4294967296", "99999999999", "abc"]) assert.equal(parseH(bad), undefined, String(bad));
});

test("addH wraps modulo 2^32 in both directions", () => {
  assert.equal(addH(MAX, 1), 0);
  assert.equal(addH(MAX, 3), 2);
  assert.equal(addH(0, -1), MAX);
  assert.equal(addH(5, -5), 0);
  assert.equal(addH(10, -3), 7);
});

test("stanzas are counted from zero; an ack removes exactly the first h", () => {
  const q = new UnackedQueue();
  assert.equal(q.sent, 0);
  for (let i = 1; i <= 7; i++) q.push(`<message id='${i}'/>`, i);
  assert.equal(q.length, 7);
  assert.equal(q.sent, 7);
  assert.deepEqual(q.ack(3), { kind: "ok", count: 3 });
  assert.equal(q.acked, 3);
  assert.deepEqual(
    q.pending().map((e) => e.data),
    ["<message id='4'/>", "<message id='5'/>", "<message id='6'/>", "<message id='7'/>"],
  );
  // A repeated ack changes nothing.
  assert.deepEqual(q.ack(3), { kind: "ok", count: 0 });
  assert.deepEqual(q.ack(7), { kind: "ok", count: 4 });
  assert.equal(q.length, 0);
  assert.equal(q.sent, 7);
  q.push("<iq/>", 8);
  assert.equal(q.sent, 8);
  assert.equal(q.last()?.data, "<iq/>");
});

test("an ack beyond what was sent is too high (handled-count-too-high); one behind is stale", () => {
  const q = new UnackedQueue();
  for (let i = 0; i < 5; i++) q.push("<m/>", 0);
  assert.deepEqual(q.ack(6), { kind: "too-high", sent: 5 });
  assert.equal(q.length, 5, "nothing removed by a bad ack");
  assert.deepEqual(q.ack(4), { kind: "ok", count: 4 });
  assert.deepEqual(q.ack(2), { kind: "stale" });
  assert.equal(q.length, 1);
  assert.equal(q.acked, 4);
});

test("the counter wraps from 2^32-1 to 0 (XEP-0198 §4)", () => {
  const q = new UnackedQueue(MAX - 2);
  for (let i = 0; i < 6; i++) q.push(`<m n='${i}'/>`, i);
  assert.equal(q.sent, 3); // MAX-2 + 6 = 2^32 + 3
  assert.deepEqual(q.ack(MAX), { kind: "ok", count: 2 });
  assert.deepEqual(q.ack(1), { kind: "ok", count: 2 });
  assert.deepEqual(
    q.pending().map((e) => e.data),
    ["<m n='4'/>", "<m n='5'/>"],
  );
  assert.deepEqual(q.ack(4), { kind: "too-high", sent: 3 });
  assert.deepEqual(q.ack(MAX - 1), { kind: "stale" });
  assert.deepEqual(q.ack(3), { kind: "ok", count: 2 });
  assert.equal(q.length, 0);
});

test("takeAll hands over everything unacknowledged and moves the counter past it", () => {
  const q = new UnackedQueue();
  for (let i = 0; i < 4; i++) q.push(String(i), i);
  q.ack(1);
  const taken = q.takeAll();
  assert.deepEqual(
    taken.map((e) => e.data),
    ["1", "2", "3"],
  );
  assert.equal(q.length, 0);
  assert.equal(q.acked, 4);
  assert.deepEqual(q.ack(4), { kind: "ok", count: 0 });
});

test("a long run with acknowledgements keeps the queue small and in order", () => {
  const q = new UnackedQueue();
  let next = 0;
  for (let i = 0; i < 100_000; i++) {
    q.push(String(i), i);
    if (i % 5 === 4) {
      const r = q.ack(i - 2); // the client lags three stanzas behind
      assert.equal(r.kind, "ok");
      next = i - 2;
    }
  }
  assert.equal(q.length, 100_000 - next);
  assert.equal(q.pending()[0].data, String(next));
});

test("disposition: messages route again, IQ requests bounce, everything else is dropped", () => {
  const d = (xml: string) => disposition(parseStanza(xml));
  assert.equal(d("<message to='a@x/r' type='chat'><body>hi</body></message>"), "route");
  assert.equal(d("<message to='a@x'><body>hi</body></message>"), "route");
  assert.equal(d("<message to='a@x/r' type='groupchat'><body>hi</body></message>"), "route"); // → service-unavailable by the rules
  assert.equal(d("<message to='a@x/r' type='headline'><body>hi</body></message>"), "route"); // → dropped by the rules
  assert.equal(d("<message to='a@x/r' type='error'><error type='cancel'/></message>"), "drop");
  assert.equal(d("<message to='a@x/r' from='a@x' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'/></received></message>"), "drop");
  assert.equal(d("<message to='a@x/r' from='a@x' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'/></sent></message>"), "drop");
  assert.equal(d("<message to='a@x/r' from='a@x'><result xmlns='urn:xmpp:mam:2' queryid='q'/></message>"), "drop");
  assert.equal(d("<iq type='get' id='1' from='b@x/r' to='a@x/r'><ping xmlns='urn:xmpp:ping'/></iq>"), "bounce");
  assert.equal(d("<iq type='set' id='1' from='b@x/r' to='a@x/r'><query xmlns='jabber:iq:roster'/></iq>"), "bounce");
  assert.equal(d("<iq type='result' id='1' to='a@x/r'/>"), "drop");
  assert.equal(d("<iq type='error' id='1' to='a@x/r'/>"), "drop");
  assert.equal(d("<presence from='b@x/r' to='a@x/r'/>"), "drop");
  assert.equal(d("<presence from='b@x' to='a@x' type='subscribe'/>"), "drop");
});

test("stampDelay adds the server's XEP-0203 delay once, with the original time", () => {
  const m = parseStanza("<message to='a@x'><body>hi</body></message>");
  stampDelay(m, "x", Date.UTC(2025, 0, 2, 3, 4, 5));
  stampDelay(m, "x", Date.UTC(2026, 0, 1));
  const delays = m.children.filter((c) => typeof c !== "string" && c.name === "delay");
  assert.equal(delays.length, 1);
  assert.equal(m.getChild("delay", "urn:xmpp:delay")?.attrs.stamp, "2025-01-02T03:04:05.000Z");
  // A delay from someone else (the sending client) does not count.
  const n = parseStanza("<message to='a@x'><body>hi</body><delay xmlns='urn:xmpp:delay' from='b@y/r' stamp='2020-01-01T00:00:00Z'/></message>");
  stampDelay(n, "x", 0);
  assert.equal(n.children.filter((c) => typeof c !== "string" && c.name === "delay").length, 2);
});

test("parseStanza reads back exactly what was serialized", () => {
  const xml = "<message from='b@x/r' to='a@x' type='chat' id='m1'><body>&lt;3 &amp; ünïcode</body></message>";
  assert.equal(parseStanza(xml).toString(), xml);
});
