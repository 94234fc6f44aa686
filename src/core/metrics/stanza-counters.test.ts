import { test } from "node:test";
import assert from "node:assert/strict";
import { StanzaCounters } from "./stanza-counters.ts";

test("countIn counts message, presence and iq by element name only", () => {
  const c = new StanzaCounters();
  for (const n of ["message", "message", "presence", "iq", "r", "enable", "messages"]) c.countIn(n);
  assert.deepEqual(c.in, { message: 2, presence: 1, iq: 1 });
  assert.deepEqual(c.out, { message: 0, presence: 0, iq: 0 });
});

test("countOut recognises serialized stanzas and nothing else", () => {
  const c = new StanzaCounters();
  const counted = [
    "<message to='a@b'><body>x</body></message>",
    "<message/>",
    "<message>",
    "<presence from='a@b/c'/>",
    "<presence>",
    "<iq type='result' id='1'/>",
    "<iq/>",
  ];
  const ignored = [
    " ",
    "",
    "<messages/>",
    "<presences/>",
    "<iqx/>",
    "<i/>",
    "<r xmlns='urn:xmpp:sm:3'/>",
    "<stream:error/>",
    "</stream:stream>",
    "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
    "message",
  ];
  for (const s of [...counted, ...ignored]) c.countOut(s);
  assert.deepEqual(c.out, { message: 3, presence: 2, iq: 2 });
});
