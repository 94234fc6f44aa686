import { test } from "node:test";
import assert from "node:assert/strict";
import { pickLanguage, pickLabel, normalizeLang } from "./lang.ts";

test("fallback chain: exact → shorter tag → same language → en → first", () => {
  const avail = ["en", "de", "fr-CA", "zh-Hant"];
  assert.equal(pickLanguage(avail, "de-CH"), "de");
  assert.equal(pickLanguage(avail, "de-CH-1996"), "de");
  assert.equal(pickLanguage(avail, "DE"), "de");
  assert.equal(pickLanguage(avail, "fr"), "fr-CA", "another region of the same language");
  assert.equal(pickLanguage(avail, "fr-FR"), "fr-CA");
  assert.equal(pickLanguage(avail, "zh-TW"), "zh-Hant");
  assert.equal(pickLanguage(avail, "ja"), "en");
  assert.equal(pickLanguage(avail, undefined), "en");
  assert.equal(pickLanguage(["de", "fr"], "ja"), "de", "no English: the first");
  assert.equal(pickLanguage(["de", "en-GB"], "ja"), "en-GB");
  assert.equal(pickLanguage([], "de"), undefined);
  assert.equal(pickLanguage(["de-CH", "de"], "de-ch"), "de-CH", "case-insensitive, spelled as given");
  assert.equal(pickLanguage(["pt-BR", "pt"], "pt-PT"), "pt");
});

test("pickLabel and normalizeLang", () => {
  assert.equal(pickLabel({ en: "Away", de: "Abwesend" }, "de-AT"), "Abwesend");
  assert.equal(pickLabel({}, "de"), undefined);
  assert.equal(normalizeLang(" de_CH "), "de-ch");
});
