import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Jid } from "../../jid/jid.ts";
import { Blocklist, matchKeys } from "./blocklist.ts";

const j = (s: string) => Jid.parse(s);

describe("blocklist JID matching (XEP-0191 §6)", () => {
  const cases: Array<[item: string, matching: string[], notMatching: string[]]> = [
    ["romeo@montague.lit/orchard", ["romeo@montague.lit/orchard"], ["romeo@montague.lit", "romeo@montague.lit/garden", "montague.lit/orchard", "montague.lit"]],
    ["romeo@montague.lit", ["romeo@montague.lit", "romeo@montague.lit/orchard", "romeo@montague.lit/x/y"], ["benvolio@montague.lit", "montague.lit", "montague.lit/orchard", "romeo@capulet.lit"]],
    ["montague.lit/orchard", ["montague.lit/orchard", "romeo@montague.lit/orchard"], ["montague.lit", "montague.lit/garden", "romeo@montague.lit", "capulet.lit/orchard"]],
    ["montague.lit", ["montague.lit", "montague.lit/x", "romeo@montague.lit", "romeo@montague.lit/orchard"], ["capulet.lit", "sub.montague.lit", "montague.lit.evil"]],
  ];
  for (const [item, yes, no] of cases) {
    it(`item ${item}`, () => {
      const bl = new Blocklist([item]);
      for (const s of yes) assert.equal(bl.matches(j(s)), true, `${item} should match ${s}`);
      for (const s of no) assert.equal(bl.matches(j(s)), false, `${item} should not match ${s}`);
    });
  }

  it("an empty list matches nothing; items can be added, removed and cleared", () => {
    const bl = new Blocklist();
    assert.equal(bl.matches(j("a@b/c")), false);
    bl.add(["a@b", "c.d"]);
    assert.equal(bl.size, 2);
    assert.equal(bl.matches(j("x@c.d")), true);
    bl.delete(["c.d"]);
    assert.equal(bl.matches(j("x@c.d")), false);
    assert.deepEqual(bl.list(), ["a@b"]);
    bl.clear();
    assert.equal(bl.matches(j("a@b")), false);
  });

  it("matchKeys lists every item form that matches an address", () => {
    assert.deepEqual(matchKeys(j("a@b/c")), ["a@b/c", "a@b", "b/c", "b"]);
    assert.deepEqual(matchKeys(j("a@b")), ["a@b", "b"]);
    assert.deepEqual(matchKeys(j("b/c")), ["b/c", "b"]);
    assert.deepEqual(matchKeys(j("b")), ["b"]);
    // matchKeys and matches agree.
    for (const addr of ["a@b/c", "a@b", "b/c", "b"]) {
      for (const item of ["a@b/c", "a@b", "b/c", "b", "x@b", "a@b/d"]) {
        assert.equal(new Blocklist([item]).matches(j(addr)), matchKeys(j(addr)).includes(item), `${item} vs ${addr}`);
      }
    }
  });
});
