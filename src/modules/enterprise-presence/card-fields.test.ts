// The contact card field table and the PEP node table against PRODUCT.md §2: every field of a
// full vcard-temp and vCard4 card, for every level, is shown exactly where its row allows.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseElement } from "../../xml/parse-element.ts";
import { x, type Element } from "../../xml/element.ts";
import { PRIVACY_LEVELS, type ViewerLevel } from "./privacy.ts";
import { CARD_FIELD_ROWS, NODE_VCARD4, NS_VCARD4, fieldRow, filterCard, pepNodeRow, pepNodeVisible, pepPayloadFor } from "./card-fields.ts";

const LEVELS: readonly ViewerLevel[] = [...PRIVACY_LEVELS, "self"];

// Which levels see what (PRODUCT.md §2 rows, copied by hand: E=everyone X=external C=colleagues
// W=workgroup F=friends-family S=self; Blocked sees no card at all).
const E = "everyone", X = "external", C = "colleagues", W = "workgroup", F = "friends-family", S = "self";
const IDENTITY = [E, X, C, W, F, S];
const PROFILE = [X, C, W, F, S];
const OFFICE = [C, W, F, S];
const NOTES = [C, W, F, S];
const MOBILE = [W, F, S];
const HOME = [F, S];
const OWNER = [S];

const VCARD_TEMP = `<vCard xmlns='vcard-temp'>
  <FN>Alice Example</FN>
  <N><FAMILY>Example</FAMILY><GIVEN>Alice</GIVEN></N>
  <NICKNAME>al</NICKNAME>
  <EMAIL><INTERNET/><USERID>alice@example.com</USERID></EMAIL>
  <TITLE>Engineer</TITLE>
  <ORG><ORGNAME>Example Corp</ORGNAME></ORG>
  <PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>
  <TEL><WORK/><VOICE/><NUMBER>+1 work</NUMBER></TEL>
  <TEL><CELL/><VOICE/><NUMBER>+1 cell</NUMBER></TEL>
  <TEL><WORK/><CELL/><NUMBER>+1 work cell</NUMBER></TEL>
  <TEL><HOME/><VOICE/><NUMBER>+1 home</NUMBER></TEL>
  <TEL><HOME/><CELL/><NUMBER>+1 home cell</NUMBER></TEL>
  <TEL><NUMBER>+1 untyped</NUMBER></TEL>
  <ADR><WORK/><EXTADD>Building 4</EXTADD><LOCALITY>Workville</LOCALITY></ADR>
  <ADR><HOME/><STREET>1 Home St</STREET></ADR>
  <GEO><LAT>1</LAT><LON>2</LON></GEO>
  <DESC>about me</DESC>
  <BDAY>1990-01-01</BDAY>
  <X-SECRET>owner only</X-SECRET>
</vCard>`;

/** Expected levels per field, in document order (by a marker in the field's text). */
const TEMP_EXPECT: Array<[string, string[]]> = [
  ["Alice Example", IDENTITY],
  ["ExampleAlice", IDENTITY],
  ["al", IDENTITY],
  ["alice@example.com", IDENTITY],
  ["Engineer", PROFILE],
  ["Example Corp", PROFILE],
  ["image/pngiVBORw0KGgo=", PROFILE],
  ["+1 work", OFFICE],
  ["+1 cell", MOBILE],
  ["+1 work cell", MOBILE],
  ["+1 home", HOME],
  ["+1 home cell", HOME],
  ["+1 untyped", HOME],
  ["Building 4Workville", OFFICE],
  ["1 Home St", HOME],
  ["12", NOTES],
  ["about me", NOTES],
  ["1990-01-01", HOME],
  ["owner only", OWNER],
];

function deepText(e: Element): string {
  return e.children.map((c) => (typeof c === "string" ? c.trim() : deepText(c))).join("");
}
function fieldTexts(card: Element): string[] {
  return card.elements().map(deepText);
}

describe("card fields: one table for vcard-temp and vCard4", () => {
  test("every field of a full vcard-temp card, every level", () => {
    const card = parseElement(VCARD_TEMP);
    const all = fieldTexts(card);
    assert.deepEqual(all, TEMP_EXPECT.map(([t]) => t));
    for (const level of LEVELS) {
      const out = filterCard(card, level);
      if (level === "blocked") {
        assert.equal(out, undefined, "blocked: no card");
        continue;
      }
      assert.ok(out);
      assert.equal(out.attrs.xmlns, "vcard-temp");
      const want = TEMP_EXPECT.filter(([, ls]) => ls.includes(level)).map(([t]) => t);
      const got = fieldTexts(out);
      assert.deepEqual(got, want, level);
    }
    assert.equal(fieldTexts(card).length, all.length, "the input is not mutated");
  });

  const VCARD4 = `<vcard xmlns='${NS_VCARD4}'>
    <fn><text>Alice Example</text></fn>
    <n><surname>Example</surname><given>Alice</given></n>
    <email><text>alice@example.com</text></email>
    <title><text>Engineer</text></title>
    <org><text>Example Corp</text></org>
    <photo><uri>data:image/png;base64,iVBORw0KGgo=</uri></photo>
    <tel><parameters><type><text>work</text><text>voice</text></type></parameters><uri>tel:+1-work</uri></tel>
    <tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-cell</uri></tel>
    <tel><parameters><type><text>home</text></type></parameters><uri>tel:+1-home</uri></tel>
    <tel><uri>tel:+1-other</uri></tel>
    <adr><parameters><type><text>work</text></type></parameters><locality>Workville</locality></adr>
    <adr><parameters><type><text>home</text></type></parameters><street>1 Home St</street></adr>
    <note><text>a note</text></note>
  </vcard>`;

  test("vCard4 fields: the same rows", () => {
    const card = parseElement(VCARD4);
    const rows = card.elements().map((e) => fieldRow(e));
    assert.deepEqual(rows, ["identity", "identity", "identity", "profile", "profile", "profile", "office", "mobile-phone", "other-phones", "other-phones", "office", "other-phones", "notes"]);
    const names = (l: ViewerLevel) => filterCard(card, l)!.elements().map((e) => e.name + (e.getChild("uri")?.text() ?? ""));
    assert.deepEqual(names("everyone"), ["fn", "n", "email"]);
    assert.deepEqual(names("external"), ["fn", "n", "email", "title", "org", "photodata:image/png;base64,iVBORw0KGgo="]);
    assert.deepEqual(names("colleagues"), [...names("external"), "teltel:+1-work", "adr", "note"]);
    assert.deepEqual(names("workgroup"), [...names("external"), "teltel:+1-work", "teltel:+1-cell", "adr", "note"]);
    assert.equal(names("friends-family").length, 13);
    assert.equal(filterCard(card, "blocked"), undefined);
  });

  test("the table covers the documented fields", () => {
    for (const f of ["fn", "n", "nickname", "email", "title", "org", "photo", "adr", "tel", "geo", "note"]) assert.ok(CARD_FIELD_ROWS[f], f);
    assert.equal(fieldRow(x("X-UNKNOWN")), undefined);
  });
});

describe("PEP nodes under the matrix", () => {
  const GEO = "http://jabber.org/protocol/geoloc";
  const AV_DATA = "urn:xmpp:avatar:data";
  const AV_META = "urn:xmpp:avatar:metadata";
  const MOOD = "http://jabber.org/protocol/mood";
  const ACT = "http://jabber.org/protocol/activity";
  test("node → row", () => {
    assert.equal(pepNodeRow(GEO), "notes");
    assert.equal(pepNodeRow(AV_DATA), "profile");
    assert.equal(pepNodeRow(AV_META), "profile");
    assert.equal(pepNodeRow(MOOD), "activity");
    assert.equal(pepNodeRow(ACT), "activity");
    assert.equal(pepNodeRow(NODE_VCARD4), "card");
    assert.equal(pepNodeRow("urn:example:unknown"), undefined);
  });
  const cases: Array<[string, string[]]> = [
    [GEO, NOTES],
    [AV_DATA, PROFILE],
    [AV_META, PROFILE],
    [MOOD, NOTES], // activity row: Colleagues and above, like notes
    [ACT, NOTES],
    [NODE_VCARD4, IDENTITY],
    ["urn:example:unknown", IDENTITY], // access model only
  ];
  for (const [node, levels] of cases) {
    test(`visibility of ${node}`, () => {
      for (const l of LEVELS) assert.equal(pepNodeVisible(node, l), levels.includes(l), `${node} for ${l}`);
    });
  }
  test("the vCard4 item is filtered by field; other payloads pass as they are", () => {
    const card = parseElement(`<vcard xmlns='${NS_VCARD4}'><fn><text>A</text></fn><tel><parameters><type><text>cell</text></type></parameters><uri>tel:1</uri></tel></vcard>`);
    assert.deepEqual(pepPayloadFor(NODE_VCARD4, card, "colleagues")!.elements().map((e) => e.name), ["fn"]);
    assert.deepEqual(pepPayloadFor(NODE_VCARD4, card, "workgroup")!.elements().map((e) => e.name), ["fn", "tel"]);
    assert.equal(pepPayloadFor(NODE_VCARD4, card, "self"), card);
    assert.equal(pepPayloadFor(NODE_VCARD4, x("other", { xmlns: "urn:x" }), "friends-family"), undefined, "a foreign payload in the card node: owner only");
    const geo = x("geoloc", { xmlns: GEO });
    assert.equal(pepPayloadFor(GEO, geo, "colleagues"), geo);
  });
});
