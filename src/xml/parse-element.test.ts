import { test } from "node:test";
import assert from "node:assert/strict";
import { parseElement } from "./parse-element.ts";
import { x } from "./element.ts";

test("a serialized element parses back to the same tree", () => {
  const el = x("message", { to: "a@b", type: "chat" }, x("body", null, "1 < 2 & 'q'"), x("x", { xmlns: "urn:example" }));
  assert.equal(parseElement(el.toString()).toString(), el.toString());
});

test("incomplete or restricted input is an error, never a partial element", () => {
  assert.throws(() => parseElement("<message><body>cut"), /incomplete/);
  assert.throws(() => parseElement("<!-- c --><message/>"), (err: any) => err.condition === "restricted-xml");
});
