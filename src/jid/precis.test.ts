import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  PrecisError,
  bidiClass,
  enforceOpaqueString,
  enforceUsernameCaseMapped,
  isVirama,
  precisCategory,
  utf8Length,
  widthMap,
} from "./precis.ts";

describe("PRECIS derived property (RFC 8264 §8)", () => {
  it("classifies code points in the RFC's order", () => {
    assert.equal(precisCategory(0x61), "ascii7");
    assert.equal(precisCategory(0x20), "space");
    assert.equal(precisCategory(0x07), "control");
    assert.equal(precisCategory(0xdf), "exception-pvalid"); // ß
    assert.equal(precisCategory(0x0660), "exception-contexto");
    assert.equal(precisCategory(0x0640), "exception-disallowed"); // ARABIC TATWEEL
    assert.equal(precisCategory(0x200d), "join-control");
    assert.equal(precisCategory(0x1100), "old-hangul-jamo");
    assert.equal(precisCategory(0x00ad), "ignorable");
    assert.equal(precisCategory(0xfdd0), "ignorable"); // noncharacter
    assert.equal(precisCategory(0x0378), "unassigned");
    assert.equal(precisCategory(0xfb01), "has-compat");
    assert.equal(precisCategory(0x00e9), "letter-digit");
    assert.equal(precisCategory(0x01c5), "has-compat"); // Dž titlecase has a compatibility decomposition
  });

  it("other categories", () => {
    assert.equal(precisCategory(0x16ee), "other-letter-digit"); // RUNIC ARLAUG SYMBOL (Nl, no decomposition)
    assert.equal(precisCategory(0x265a), "symbol");
    assert.equal(precisCategory(0x00bf), "punctuation");
    assert.equal(precisCategory(0xe000), "other"); // private use
    assert.equal(precisCategory(0x2028), "other"); // LINE SEPARATOR
  });

  it("detects viramas (ccc 9) without a table", () => {
    for (const cp of [0x094d, 0x09cd, 0x0d4d, 0x0e3a, 0x1039, 0x17d2, 0xa8c4, 0x11046, 0x11d97]) assert.ok(isVirama(cp), cp.toString(16));
    for (const cp of [0x0301, 0x093f, 0x3099, 0x05b0, 0x0061, 0x0915]) assert.ok(!isVirama(cp), cp.toString(16));
  });

  it("bidi classes used by the Bidi Rule", () => {
    assert.equal(bidiClass(0x61), "L");
    assert.equal(bidiClass(0x31), "EN");
    assert.equal(bidiClass(0x2d), "ES");
    assert.equal(bidiClass(0x05d0), "R");
    assert.equal(bidiClass(0x0627), "R"); // AL is treated as R
    assert.equal(bidiClass(0x0661), "AN");
    assert.equal(bidiClass(0x06f1), "EN");
    assert.equal(bidiClass(0x064b), "NSM");
    assert.equal(bidiClass(0x02c6), "ON");
  });
});

describe("profiles", () => {
  it("width mapping is one level deep", () => {
    assert.equal(widthMap("ＡＢｃ１"), "ABc1");
    assert.equal(widthMap("\uFFE3"), "\u00AF"); // not further to " \u0304"
    assert.equal(widthMap("\uFFA1"), "\u3131");
    assert.equal(widthMap("plain"), "plain");
  });

  it("UsernameCaseMapped: errors are PrecisErrors carrying the code point", () => {
    assert.throws(
      () => enforceUsernameCaseMapped("ab\u2603"),
      (e: unknown) => e instanceof PrecisError && e.codePoint === 0x2603 && e.index === 2,
    );
    assert.throws(() => enforceUsernameCaseMapped(""), PrecisError);
    assert.equal(enforceUsernameCaseMapped("ΟΔΥΣΣΕΥΣ"), "οδυσσευς"); // final sigma in context
  });

  it("OpaqueString keeps everything else as is", () => {
    assert.equal(enforceOpaqueString("  Hello, World! ☺ "), "  Hello, World! ☺ ");
    assert.equal(enforceOpaqueString("\u2163"), "\u2163"); // HasCompat is valid in the FreeformClass
    assert.throws(() => enforceOpaqueString(""), PrecisError);
    assert.throws(() => enforceOpaqueString("a\u2028b"), PrecisError);
  });

  it("utf8Length", () => {
    assert.equal(utf8Length("a"), 1);
    assert.equal(utf8Length("é"), 2);
    assert.equal(utf8Length("€"), 3);
    assert.equal(utf8Length("😀"), 4);
    assert.equal(utf8Length("\uD800"), 3);
  });
});
