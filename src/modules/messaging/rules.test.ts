// RFC 6121 §8.5.2.1: which resources get a message addressed to the bare JID.
import { test } from "node:test";
import assert from "node:assert/strict";
import { selectRecipients } from "./rules.ts";
import type { Session } from "../../core/session/session.ts";

// Only the fields selectRecipients reads: availability, priority and a name to compare.
const res = (name: string, priority: number | undefined) =>
  ({ full: name, priority: priority ?? 0, availableForBare: priority !== undefined && priority >= 0 }) as unknown as Session;

test("chat and normal go to the highest non-negative priority (all ties)", () => {
  const a = res("a", 5), b = res("b", 1), c = res("c", 5), d = res("d", -1);
  assert.deepEqual(selectRecipients("chat", [a, b, c, d]).map((s) => s.full), ["a", "c"]);
  assert.deepEqual(selectRecipients("normal", [b, d]).map((s) => s.full), ["b"]);
});

test("negative priority and unavailable resources never get bare-JID messages", () => {
  assert.deepEqual(selectRecipients("chat", [res("n", -5), res("u", undefined)]), []);
});

test("headline goes to every non-negative available resource", () => {
  assert.deepEqual(selectRecipients("headline", [res("a", 5), res("b", 0), res("n", -1)]).map((s) => s.full), ["a", "b"]);
});

test("groupchat to a user's bare JID is never delivered", () => {
  assert.deepEqual(selectRecipients("groupchat", [res("a", 5)]), []);
});
