import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { PhotoError, applyAvatarUpdate, isEmptyVcard, parseElement, photoHashOf } from "./avatar.ts";

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
const PNG_SHA1 = createHash("sha1").update(PNG).digest("hex");

function card(...children: Parameters<typeof x>[2][]) {
  return x("vCard", { xmlns: NS.VCARD }, ...children);
}

test("photo hash: SHA-1 of the decoded BINVAL, whitespace in the base64 ignored", () => {
  const b64 = PNG.toString("base64");
  const wrapped = "\n  " + b64.slice(0, 10) + "\r\n  " + b64.slice(10) + "\n";
  assert.equal(photoHashOf(card(x("PHOTO", null, x("TYPE", null, "image/png"), x("BINVAL", null, wrapped)))), PNG_SHA1);
});

test("photo hash: no photo → \"\", EXTVAL only → null, bad base64 → PhotoError", () => {
  assert.equal(photoHashOf(card(x("FN", null, "Juliet"))), "");
  assert.equal(photoHashOf(card(x("PHOTO", null, x("BINVAL")))), "");
  assert.equal(photoHashOf(card(x("PHOTO", null, x("EXTVAL", null, "https://example.com/a.png")))), null);
  assert.throws(() => photoHashOf(card(x("PHOTO", null, x("BINVAL", null, "not base64!")))), PhotoError);
  assert.throws(() => photoHashOf(card(x("PHOTO", null, x("BINVAL", null, "abc")))), PhotoError);
});

test("presence without an update element gets one with the hash", () => {
  const p = x("presence", null, x("show", null, "away"));
  assert.equal(applyAvatarUpdate(p, PNG_SHA1), true);
  assert.equal(p.toString(), `<presence><show>away</show><x xmlns='vcard-temp:x:update'><photo>${PNG_SHA1}</photo></x></presence>`);
});

test("no photo on the server → an empty <photo/> (\"no image\")", () => {
  const p = x("presence");
  applyAvatarUpdate(p, "");
  assert.equal(p.toString(), "<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>");
});

test("XEP-0398 §4: an empty <x/> is overwritten, a client's empty <photo/> is kept", () => {
  const notReady = x("presence", null, x("x", { xmlns: NS.VCARD_UPDATE }));
  applyAvatarUpdate(notReady, PNG_SHA1);
  assert.equal(notReady.getChildren("x", NS.VCARD_UPDATE).length, 1);
  assert.equal(notReady.getChild("x", NS.VCARD_UPDATE)?.getChildText("photo"), PNG_SHA1);

  const noImage = x("presence", null, x("x", { xmlns: NS.VCARD_UPDATE }, x("photo")));
  assert.equal(applyAvatarUpdate(noImage, PNG_SHA1), false);
  assert.equal(noImage.getChild("x", NS.VCARD_UPDATE)?.getChildText("photo"), "");
});

test("a different hash from the client is replaced; the same one is left alone", () => {
  const stale = x("presence", null, x("x", { xmlns: NS.VCARD_UPDATE }, x("photo", null, "0".repeat(40))));
  assert.equal(applyAvatarUpdate(stale, PNG_SHA1), true);
  assert.equal(stale.getChild("x", NS.VCARD_UPDATE)?.getChildText("photo"), PNG_SHA1);
  const same = x("presence", null, x("x", { xmlns: NS.VCARD_UPDATE }, x("photo", null, PNG_SHA1.toUpperCase())));
  assert.equal(applyAvatarUpdate(same, PNG_SHA1), false);
});

test("a photo the server cannot hash leaves the presence untouched", () => {
  const p = x("presence", null, x("x", { xmlns: NS.VCARD_UPDATE }, x("photo", null, "abc")));
  assert.equal(applyAvatarUpdate(p, null), false);
  assert.equal(p.getChild("x", NS.VCARD_UPDATE)?.getChildText("photo"), "abc");
});

test("empty vCards and parsing stored vCards back", () => {
  assert.equal(isEmptyVcard(card()), true);
  assert.equal(isEmptyVcard(card("\n  ")), true);
  assert.equal(isEmptyVcard(card(x("FN", null, "x"))), false);
  const stored = card(x("FN", null, "Jüliet <&> 'q'"), x("PHOTO", null, x("BINVAL", null, PNG.toString("base64")))).toString();
  const back = parseElement(stored);
  assert.equal(back.toString(), stored);
  assert.throws(() => parseElement("<vCard xmlns='vcard-temp'><p:FN/></vCard>"));
});
