import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Jid,
  JidError,
  clearJidCache,
  domainToAsciiForm,
  jidCacheSize,
  prepDomain,
  prepLocalpart,
  prepResource,
  tryParseJid,
} from "./jid.ts";

function parts(s: string): [string, string, string] {
  const j = Jid.parse(s);
  return [j.local, j.domain, j.resource];
}

function rejects(s: string, part: JidError["part"], re: RegExp): void {
  assert.throws(
    () => Jid.parse(s),
    (e: unknown) => {
      assert.ok(e instanceof JidError, `expected JidError for ${JSON.stringify(s)}`);
      assert.equal(e.condition, "jid-malformed");
      assert.equal(e.part, part, `part for ${JSON.stringify(s)}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

describe("RFC 7622 §3.5 examples", () => {
  it("accepts the valid examples (1-15)", () => {
    assert.deepEqual(parts("juliet@example.com"), ["juliet", "example.com", ""]);
    assert.deepEqual(parts("juliet@example.com/foo"), ["juliet", "example.com", "foo"]);
    assert.deepEqual(parts("juliet@example.com/foo bar"), ["juliet", "example.com", "foo bar"]);
    assert.deepEqual(parts("juliet@example.com/foo@bar"), ["juliet", "example.com", "foo@bar"]);
    assert.deepEqual(parts("foo\\20bar@example.com"), ["foo\\20bar", "example.com", ""]);
    assert.deepEqual(parts("fussball@example.com"), ["fussball", "example.com", ""]);
    assert.deepEqual(parts("fußball@example.com"), ["fußball", "example.com", ""]);
    assert.deepEqual(parts("π@example.com"), ["π", "example.com", ""]);
    assert.deepEqual(parts("Σ@example.com/foo"), ["σ", "example.com", "foo"]);
    assert.deepEqual(parts("σ@example.com/foo"), ["σ", "example.com", "foo"]);
    assert.deepEqual(parts("ς@example.com/foo"), ["ς", "example.com", "foo"]);
    assert.deepEqual(parts("king@example.com/♚"), ["king", "example.com", "♚"]);
    assert.deepEqual(parts("example.com"), ["", "example.com", ""]);
    assert.deepEqual(parts("example.com/foobar"), ["", "example.com", "foobar"]);
    assert.deepEqual(parts("a.example.com/b@example.net"), ["", "a.example.com", "b@example.net"]);
  });

  it("keeps ß/ss and ς/σ distinct (RFC 8265 uses toLowerCase, not case folding)", () => {
    assert.ok(!Jid.parse("fußball@example.com").equals(Jid.parse("fussball@example.com")));
    assert.ok(!Jid.parse("ς@example.com").equals(Jid.parse("σ@example.com")));
    assert.ok(Jid.parse("Σ@example.com").equals(Jid.parse("σ@example.com")));
  });

  it("rejects the invalid examples (16-23) saying which part and why", () => {
    rejects('"juliet"@example.com', "localpart", /U\+0022/);
    rejects("foo bar@example.com", "localpart", /U\+0020.*spaces/);
    rejects("@example.com/", "localpart", /empty localpart/);
    rejects("henry\u2163@example.com", "localpart", /U\+2163.*compatibility/);
    rejects("♚@example.com", "localpart", /U\+265A.*symbols/);
    rejects("juliet@", "domainpart", /empty domainpart/);
    rejects("/foobar", "domainpart", /empty domainpart/);
  });

  it("accepts example 18 (leading space in resourcepart), as erratum 4560 says", () => {
    assert.deepEqual(parts("juliet@example.com/ foo"), ["juliet", "example.com", " foo"]);
  });
});

describe("parsing (RFC 7622 §3.1)", () => {
  it("splits at the first '/', then at the first '@'", () => {
    assert.deepEqual(parts("a@b/c/d@e"), ["a", "b", "c/d@e"]);
    assert.deepEqual(parts("b/c@d"), ["", "b", "c@d"]);
  });

  it("rejects empty parts", () => {
    rejects("a@b/", "resourcepart", /empty resourcepart/);
    rejects("@b", "localpart", /empty localpart/);
    rejects("a@/r", "domainpart", /empty domainpart/);
    rejects("", "jid", /empty JID/);
  });

  it("rejects a second '@' before the resourcepart", () => {
    rejects("a@b@c", "domainpart", /second "@"/);
  });

  it("rejects the localpart exclusions \" & ' / : < > @", () => {
    for (const c of ['"', "&", "'", ":", "<", ">"]) rejects(`a${c}b@example.com`, "localpart", /is not allowed/);
    // Fullwidth forms are width-mapped first, then excluded too.
    rejects("a\uFF06b@example.com", "localpart", /U\+0026/);
    assert.throws(() => prepLocalpart("a@b"), /U\+0040/);
    assert.throws(() => prepLocalpart("a/b"), /U\+002F/);
  });

  it("round-trips through toString", () => {
    for (const s of ["juliet@example.com/balcony", "example.com", "x@[::1]/r", "π@münchen.example/Ünïcödé"]) {
      assert.equal(Jid.parse(Jid.parse(s).toString()).toString(), Jid.parse(s).toString());
    }
  });
});

describe("localpart (UsernameCaseMapped)", () => {
  it("maps case: Juliet@Example.COM equals juliet@example.com", () => {
    const a = Jid.parse("Juliet@Example.COM");
    assert.equal(a.toString(), "juliet@example.com");
    assert.ok(a.equals(Jid.parse("juliet@example.com")));
    assert.equal(prepLocalpart("ÉLODIE"), "élodie");
  });

  it("maps fullwidth and halfwidth characters to their narrow/wide forms", () => {
    assert.equal(Jid.parse("ｊｕｌｉｅｔ@example.com").local, "juliet");
    assert.equal(Jid.parse("ＪＵＬＩＥＴ@example.com").local, "juliet");
    assert.equal(prepLocalpart("ｶﾀｶﾅ"), "カタカナ");
  });

  it("normalises to NFC", () => {
    assert.equal(prepLocalpart("e\u0301"), "\u00e9");
    assert.ok(Jid.parse("re\u0301sume\u0301@example.com").equals(Jid.parse("résumé@example.com")));
  });

  it("rejects compatibility characters before mapping (U+2126 OHM SIGN, U+FB01 ligature)", () => {
    assert.throws(() => prepLocalpart("\u2126"), /U\+2126.*compatibility/);
    assert.throws(() => prepLocalpart("\uFB01x"), /U\+FB01/);
  });

  it("rejects controls, default-ignorables, unassigned and private-use code points", () => {
    assert.throws(() => prepLocalpart("a\u0007b"), /U\+0007.*control/);
    assert.throws(() => prepLocalpart("a\u00ADb"), /U\+00AD.*ignorable/);
    assert.throws(() => prepLocalpart("a\u0378b"), /U\+0378.*unassigned/);
    assert.throws(() => prepLocalpart("a\uE000b"), /U\+E000/);
  });

  it("applies contextual rules (middle dot, ZWJ after virama, Arabic digits)", () => {
    assert.equal(prepLocalpart("l\u00B7l"), "l\u00B7l");
    assert.throws(() => prepLocalpart("a\u00B7b"), /MIDDLE DOT/);
    assert.equal(prepLocalpart("\u0915\u094D\u200D\u0937"), "\u0915\u094D\u200D\u0937");
    assert.throws(() => prepLocalpart("ab\u200Dc"), /ZERO WIDTH JOINER/);
    assert.throws(() => prepLocalpart("\u0627\u0661\u06F1"), /Arabic-Indic/);
  });

  it("applies the Bidi Rule to strings with right-to-left characters", () => {
    assert.equal(prepLocalpart("\u05D0\u05D1"), "\u05D0\u05D1");
    assert.equal(prepLocalpart("\u05D0\u05D11"), "\u05D0\u05D11");
    assert.throws(() => prepLocalpart("a\u05D0"), /Bidi Rule/);
    assert.throws(() => prepLocalpart("\u05D0a"), /Bidi Rule/);
    assert.throws(() => prepLocalpart("\u05D0-"), /Bidi Rule/);
  });

  it("limits a localpart to 1023 bytes of UTF-8", () => {
    assert.equal(prepLocalpart("a".repeat(1023)).length, 1023);
    assert.throws(() => prepLocalpart("a".repeat(1024)), /1023 bytes/);
    assert.throws(() => prepLocalpart("é".repeat(512)), /1023 bytes/);
  });
});

describe("domainpart", () => {
  it("lowercases and strips one trailing dot", () => {
    assert.equal(prepDomain("Example.COM"), "example.com");
    assert.equal(prepDomain("example.com."), "example.com");
    assert.ok(Jid.parse("juliet@example.com.").equals(Jid.parse("juliet@example.com")));
    assert.throws(() => prepDomain("example.com.."), /empty label/);
    assert.throws(() => prepDomain("."), /nothing but a dot/);
  });

  it("canonicalises IDNs to U-labels: münchen.example equals xn--mnchen-3ya.example", () => {
    const a = Jid.parse("juliet@münchen.example");
    const b = Jid.parse("juliet@xn--mnchen-3ya.example");
    assert.ok(a.equals(b));
    assert.equal(b.domain, "münchen.example");
    assert.equal(Jid.parse("juliet@MÜNCHEN.example").domain, "münchen.example");
    assert.equal(prepDomain("ｅｘａｍｐｌｅ。com"), "example.com");
    assert.equal(domainToAsciiForm(a.domain), "xn--mnchen-3ya.example");
  });

  it("accepts IP literals and canonicalises IPv6", () => {
    assert.equal(prepDomain("127.0.0.1"), "127.0.0.1");
    assert.equal(prepDomain("[::1]"), "[::1]");
    assert.equal(prepDomain("[0:0:0:0:0:0:0:1]"), "[::1]");
    assert.equal(prepDomain("[2001:DB8::A]"), "[2001:db8::a]");
    assert.throws(() => prepDomain("[::1"), /IPv6/);
    assert.throws(() => prepDomain("[fe80::1%eth0]"), /IPv6/);
    assert.throws(() => prepDomain("1.2.3"), /IPv4/);
    assert.throws(() => prepDomain("01.2.3.4"), /IPv4/);
    assert.throws(() => prepDomain("256.1.1.1"), /IPv4/);
    assert.throws(() => prepDomain("foo.123"), /numeric/);
  });

  it("rejects malformed names with a reason", () => {
    assert.throws(() => prepDomain("exa mple.com"), /U\+0020/);
    assert.throws(() => prepDomain("exa_mple.com"), /U\+005F/);
    assert.throws(() => prepDomain("-example.com"), /hyphen/);
    assert.throws(() => prepDomain("ab--cd.com"), /third and fourth/);
    assert.throws(() => prepDomain("xn--zz.com"), /A-label/);
    assert.throws(() => prepDomain("a".repeat(64) + ".com"), /63 octets/);
    assert.throws(() => prepDomain("a..b"), /empty label/);
    assert.throws(() => prepDomain("münchen..example"), /empty label/);
    assert.throws(() => prepDomain("a\u05D0.com"), /IDNA/);
    assert.throws(() => prepDomain(""), /empty domainpart/);
  });
});

describe("resourcepart (OpaqueString)", () => {
  it("preserves case and maps non-ASCII spaces to U+0020", () => {
    assert.equal(Jid.parse("a@b/Balcony").resource, "Balcony");
    assert.ok(!Jid.parse("a@b/Balcony").equals(Jid.parse("a@b/balcony")));
    assert.equal(prepResource("foo\u00A0bar\u3000baz"), "foo bar baz");
  });

  it("does not width-map, normalises to NFC", () => {
    assert.equal(prepResource("ＡＢ"), "ＡＢ");
    assert.equal(prepResource("e\u0301"), "\u00e9");
  });

  it("allows symbols and punctuation, rejects controls and default-ignorables", () => {
    assert.equal(prepResource("♚ / @ <x>"), "♚ / @ <x>");
    assert.throws(() => prepResource("a\u0000b"), /control/);
    assert.throws(() => prepResource("a\u200Bb"), /ignorable/);
    assert.throws(() => prepResource("\u2764\uFE0F"), /U\+FE0F/);
  });

  it("limits a resourcepart to 1023 bytes", () => {
    assert.throws(() => prepResource("x".repeat(1024)), /1023 bytes/);
    assert.throws(() => Jid.parse("a@b/" + "x".repeat(1024)), (e: unknown) => e instanceof JidError && e.part === "resourcepart");
  });
});

describe("Jid objects", () => {
  it("bare, isBare, bareString, withResource", () => {
    const full = Jid.parse("Juliet@Example.com/Balcony");
    assert.equal(full.isBare, false);
    assert.equal(full.bareString, "juliet@example.com");
    assert.equal(full.bare.toString(), "juliet@example.com");
    assert.ok(full.bare.isBare);
    assert.equal(full.bare, full.bare); // cached
    const bare = full.bare;
    assert.equal(bare.bare, bare);
    assert.equal(bare.withResource("Chamber\u00A0").toString(), "juliet@example.com/Chamber ");
    assert.throws(() => bare.withResource(""), JidError);
    assert.equal(Jid.parse("example.com/x").bareString, "example.com");
  });

  it("Jid.of prepares each part", () => {
    assert.equal(Jid.of("Juliet", "EXAMPLE.com", "Res").toString(), "juliet@example.com/Res");
    assert.equal(Jid.of("", "example.com").toString(), "example.com");
    assert.throws(() => Jid.of("a b", "example.com"), (e: unknown) => e instanceof JidError && e.part === "localpart");
  });

  it("is immutable and cannot be constructed directly", () => {
    const j = Jid.parse("a@b/c");
    assert.throws(() => {
      (j as { local: string }).local = "x";
    }, TypeError);
    assert.throws(() => new (Jid as unknown as new (...a: unknown[]) => Jid)(Symbol("x"), "a", "b", ""), TypeError);
  });

  it("tryParseJid returns undefined instead of throwing", () => {
    assert.equal(tryParseJid("a b@c"), undefined);
    assert.equal(tryParseJid("a@c")?.toString(), "a@c");
  });

  it("caches parses (same object) and bounds the cache", () => {
    clearJidCache();
    const a = Jid.parse("cache@example.com/r");
    assert.equal(Jid.parse("cache@example.com/r"), a);
    for (let i = 0; i < 25_000; i++) Jid.parse(`u${i}@example.com`);
    assert.ok(jidCacheSize() <= 10_000, `cache size ${jidCacheSize()}`);
  });
});
