// The XEP-0115 §5.2 and §5.3 examples, and the §5.4 well-formedness rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { IllFormedInfo, capsVer, octetCompare, parseDiscoInfo, verificationString } from "./verification.ts";

const field = (v: string, values: string[], type?: string) => x("field", type ? { var: v, type } : { var: v }, ...values.map((val) => x("value", null, val)));

test("§5.2 simple generation example: Exodus 0.9.1", () => {
  const query = x(
    "query",
    { xmlns: NS.DISCO_INFO },
    x("identity", { category: "client", type: "pc", name: "Exodus 0.9.1" }),
    x("feature", { var: "http://jabber.org/protocol/disco#info" }),
    x("feature", { var: "http://jabber.org/protocol/disco#items" }),
    x("feature", { var: "http://jabber.org/protocol/muc" }),
    x("feature", { var: "http://jabber.org/protocol/caps" }),
  );
  const info = parseDiscoInfo(query);
  assert.equal(
    verificationString(info),
    "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<",
  );
  assert.equal(capsVer(info, "sha-1"), "QgayPKawpkPSDYmwT/WM94uAlu0=");
});

test("§5.3 complex generation example: Psi 0.11 with two languages and a software info form", () => {
  // In document order different from the sorted one, to prove the sorting.
  const query = x(
    "query",
    { xmlns: NS.DISCO_INFO, node: "http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w=" },
    x("identity", { "xml:lang": "en", category: "client", name: "Psi 0.11", type: "pc" }),
    x("identity", { "xml:lang": "el", category: "client", name: "Ψ 0.11", type: "pc" }),
    x("feature", { var: "http://jabber.org/protocol/muc" }),
    x("feature", { var: "http://jabber.org/protocol/disco#info" }),
    x("feature", { var: "http://jabber.org/protocol/caps" }),
    x("feature", { var: "http://jabber.org/protocol/disco#items" }),
    x(
      "x",
      { xmlns: NS.DATA_FORMS, type: "result" },
      field("FORM_TYPE", ["urn:xmpp:dataforms:softwareinfo"], "hidden"),
      field("software_version", ["0.11"]),
      field("ip_version", ["ipv6", "ipv4"]),
      field("os", ["Mac"]),
      field("os_version", ["10.5.1"]),
      field("software", ["Psi"]),
    ),
  );
  const info = parseDiscoInfo(query);
  assert.equal(
    verificationString(info),
    "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<" +
      "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<" +
      "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<",
  );
  assert.equal(capsVer(info, "sha-1"), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
});

test("other IANA hash names work; unknown ones are refused", () => {
  const info = { identities: [{ category: "client", type: "pc" }], features: ["a"], forms: [] };
  assert.equal(verificationString(info), "client/pc//<a<");
  assert.equal(capsVer(info, "sha-256").length, 44);
  assert.throws(() => capsVer(info, "md5"), RangeError);
});

test("sorting is i;octet (UTF-8 bytes), not UTF-16 code units", () => {
  // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (4 bytes, F0 …) in UTF-8, after it in UTF-16.
  assert.ok(octetCompare("\uFF21", "\u{1F600}") < 0);
  assert.ok("\uFF21" > "\u{1F600}");
  const info = { identities: [], features: ["\u{1F600}", "\uFF21", "B", "a"], forms: [] };
  assert.equal(verificationString(info), "B<a<\uFF21<\u{1F600}<");
});

test("§5.4: repeated identities, features or FORM_TYPEs make the response ill-formed", () => {
  const id = () => x("identity", { category: "client", type: "pc" });
  assert.throws(() => parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, id(), id())), IllFormedInfo);
  const f = () => x("feature", { var: "urn:a" });
  assert.throws(() => parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, f(), f())), IllFormedInfo);
  const form = () => x("x", { xmlns: NS.DATA_FORMS, type: "result" }, field("FORM_TYPE", ["urn:f"], "hidden"));
  assert.throws(() => parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, form(), form())), IllFormedInfo);
  const twoValues = x("x", { xmlns: NS.DATA_FORMS, type: "result" }, field("FORM_TYPE", ["urn:f", "urn:g"], "hidden"));
  assert.throws(() => parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, twoValues)), IllFormedInfo);
  assert.throws(() => parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, x("identity", { type: "pc" }))), IllFormedInfo);
  // Same category/type/lang with a different name is allowed (only the full tuple must be unique).
  parseDiscoInfo(x("query", { xmlns: NS.DISCO_INFO }, x("identity", { category: "client", type: "pc", name: "a" }), x("identity", { category: "client", type: "pc", name: "b" })));
});

test("§5.4: forms without a hidden FORM_TYPE are ignored, not fatal", () => {
  const query = x(
    "query",
    { xmlns: NS.DISCO_INFO },
    x("identity", { category: "client", type: "pc" }),
    x("x", { xmlns: NS.DATA_FORMS, type: "result" }, field("FORM_TYPE", ["urn:visible"])),
    x("x", { xmlns: NS.DATA_FORMS, type: "result" }, field("os", ["Linux"])),
  );
  const info = parseDiscoInfo(query);
  assert.deepEqual(info.forms, []);
  assert.equal(verificationString(info), "client/pc//<");
});
