import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { StreamParser, XmlStreamError, DEFAULT_LIMITS, NS_FRAMING } from "./stream-parser.ts";
import type { StreamParserOptions, XmlErrorCondition } from "./stream-parser.ts";
import type { Element } from "./element.ts";
import { buildStanzas, mulberry32 } from "../../bench/xml-parser/corpus.ts";

const HEADER =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

/** What a parser reported, as comparable strings, plus the stanzas themselves. */
interface Outcome {
  log: string[];
  stanzas: Element[];
  error: XmlStreamError | null;
}

function recorder(options?: StreamParserOptions): { parser: StreamParser; out: Outcome } {
  const out: Outcome = { log: [], stanzas: [], error: null };
  const parser = new StreamParser(
    {
      streamStart: (name, attrs) => out.log.push(`start ${name} ${JSON.stringify(attrs)}`),
      stanza: (el) => {
        out.stanzas.push(el);
        out.log.push(`stanza ${el.toString()} ${JSON.stringify(el.attrs)}`);
      },
      streamEnd: () => out.log.push("end"),
      error: (err) => {
        assert.equal(out.error, null, "error reported twice");
        out.error = err;
        out.log.push(`error ${err.condition}`);
      },
    },
    options,
  );
  return { parser, out };
}

/** Feeds the pieces, then end(). */
function run(pieces: (string | Buffer)[], options?: StreamParserOptions): Outcome {
  const { parser, out } = recorder(options);
  for (const p of pieces) parser.write(p);
  parser.end();
  return out;
}

function runStream(body: string, options?: StreamParserOptions): Outcome {
  return run([HEADER + body], options);
}

function assertError(out: Outcome, condition: XmlErrorCondition, message?: RegExp): void {
  assert.ok(out.error, `expected ${condition}, got no error; log: ${out.log.join(" | ")}`);
  assert.equal(out.error.condition, condition, `message: ${out.error.message}`);
  if (message) assert.match(out.error.message, message);
}

/** Splits bytes at random points (1..maxPiece bytes per piece). */
function randomSplit(bytes: Buffer, rnd: () => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(rnd() * maxPiece);
    pieces.push(bytes.subarray(i, i + n));
    i += n;
  }
  return pieces;
}

function bytewise(bytes: Buffer): Buffer[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

describe("normal streams", () => {
  test("header, stanzas, features and close", () => {
    const out = run([
      "<?xml version='1.0' encoding='UTF-8'?>\n",
      HEADER,
      "<message to='romeo@example.net' type='chat' id='m1'><body>Art thou not Romeo?</body></message>",
      "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
      "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
      "</stream:stream>",
    ]);
    assert.equal(out.error, null);
    assert.deepEqual(out.log[0], `start stream:stream ${JSON.stringify({
      xmlns: "jabber:client",
      "xmlns:stream": "http://etherx.jabber.org/streams",
      to: "example.com",
      version: "1.0",
    })}`);
    assert.equal(out.stanzas.length, 3);
    const [msg, iq, features] = out.stanzas;
    // Top-level stanzas carry xmlns only when written: the router reads "absent" as the content namespace.
    assert.equal(Object.hasOwn(msg.attrs, "xmlns"), false);
    assert.deepEqual(msg.attrs, { to: "romeo@example.net", type: "chat", id: "m1" });
    assert.equal(msg.getChildText("body"), "Art thou not Romeo?");
    assert.equal(iq.getChild("query")?.attrs.xmlns, "jabber:iq:roster");
    assert.equal(features.name, "stream:features");
    assert.equal(features.getChild("bind")?.xmlns, "urn:ietf:params:xml:ns:xmpp-bind");
    assert.equal(out.log.at(-1), "end");
  });

  test("explicit xmlns on a stanza is kept", () => {
    const out = runStream("<message xmlns='jabber:client' to='a@b'/>");
    assert.equal(out.stanzas[0].attrs.xmlns, "jabber:client");
  });

  test("stream header in the default-namespace form", () => {
    const out = run(["<stream xmlns='http://etherx.jabber.org/streams'><a xmlns='x'/></stream>"]);
    assert.equal(out.error, null);
    assert.deepEqual(out.log, [
      `start stream {"xmlns":"http://etherx.jabber.org/streams"}`,
      `stanza <a xmlns='x'/> {"xmlns":"x"}`,
      "end",
    ]);
  });

  test("text, entities, character references and CDATA", () => {
    const out = runStream(
      "<message><body>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#x1F600; " +
        "<![CDATA[<raw> & ]] stuff]]> tail</body></message>",
    );
    assert.equal(out.error, null);
    assert.equal(out.stanzas[0].getChildText("body"), `a <b> & "c" 'd' AB😀 <raw> & ]] stuff tail`);
    // Text around a CDATA section is one string child.
    assert.equal(out.stanzas[0].getChild("body")?.children.length, 1);
  });

  test("line ends and attribute-value normalisation (XML 1.0 §2.11, §3.3.3)", () => {
    const out = runStream("<message id='a\tb\r\nc\nd&#10;e'><body>x\r\ny\rz</body></message>");
    assert.equal(out.error, null);
    assert.equal(out.stanzas[0].attrs.id, "a b c d\ne");
    assert.equal(out.stanzas[0].getChildText("body"), "x\ny\nz");
  });

  test("whitespace inside stanzas is kept, whitespace keepalives between stanzas are not", () => {
    const out = run([HEADER, " \n\t ", "<presence>\n  <show>away</show>\n</presence>", "\n".repeat(100), " "]);
    assert.equal(out.error, null);
    assert.equal(out.stanzas.length, 1);
    assert.deepEqual(out.stanzas[0].children, ["\n  ", out.stanzas[0].getChild("show"), "\n"]);
  });

  test("a megabyte of whitespace keepalives is accepted without buffering", () => {
    const { parser, out } = recorder({ maxStanzaBytes: 1024 });
    parser.write(HEADER);
    const ws = Buffer.alloc(65536, " ");
    for (let i = 0; i < 16; i++) parser.write(ws);
    parser.write("<message/>");
    assert.equal(out.error, null);
    assert.equal(out.stanzas.length, 1);
  });

  test("names, attributes with prefixes, and unusual attribute names", () => {
    const out = runStream(
      "<message xml:lang='en' xmlns:foo='urn:foo' foo:bar='1' constructor='c' __proto__='p'>" +
        "<foo:x foo:y='2'/><café naïve='ü'/></message>",
    );
    assert.equal(out.error, null);
    const msg = out.stanzas[0];
    assert.equal(msg.attrs["xml:lang"], "en");
    assert.equal(msg.attrs["foo:bar"], "1");
    assert.equal(msg.attrs.constructor, "c");
    assert.ok(Object.hasOwn(msg.attrs, "__proto__"));
    assert.equal(msg.attrs["__proto__"], "p");
    assert.equal(msg.getChild("foo:x")?.attrs["foo:y"], "2");
    assert.equal(msg.getChild("café")?.attrs.naïve, "ü");
  });

  test("XML declaration and byte-order mark before the header", () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const out = run([bom, "<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>", HEADER, "<a/>"]);
    assert.equal(out.error, null);
    assert.equal(out.stanzas.length, 1);
  });

  test("after </stream:stream> further input is ignored", () => {
    const out = runStream("<a/></stream:stream><b/>junk");
    assert.equal(out.error, null);
    assert.deepEqual(out.log.slice(1), ["stanza <a/> {}", "end"]);
  });

  test("end() between stanzas is quiet; inside a stanza, tag or character it is an error", () => {
    assert.equal(runStream("<a/>").error, null);
    assertError(runStream("<message><body>hi"), "not-well-formed", /inside <body>/);
    assertError(runStream("<message to='x"), "not-well-formed", /inside a tag/);
    assertError(run([HEADER, Buffer.from([0xe2, 0x82])]), "not-well-formed", /UTF-8/);
  });
});

describe("chunking", () => {
  // Valid streams, and invalid ones: the outcome (including which stanzas precede an error)
  // must not depend on where the transport split the bytes.
  const corpora: Record<string, string> = {
    realistic: HEADER + buildStanzas(150, 7).join("\n") + "</stream:stream>",
    tricky:
      "\ufeff<?xml version='1.0'?>" +
      HEADER +
      "<message xmlns:q='urn:q' q:a=\"it's\" b='&quot;&#x20AC;&#128512;&amp;'><body>€ 😀 𝄞 ü &lt; ]] &gt; ]&gt;</body>" +
      "<x><![CDATA[a]b]]c]]]><![CDATA[]]><y/></x><z a='\r\n'>\r\n\r</z></message>  \n" +
      "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>" +
      "<stream:features><q:x xmlns:q='urn:other'/></stream:features></stream:stream>",
    "error: control character": HEADER + "<a/><b>x\u0001</b>",
    "error: mismatched tag": HEADER + "<a/><b><c></b></c>",
    "error: comment": HEADER + "<a/><b><!-- hi --></b>",
    "error: entity": HEADER + "<a/><b>&nbsp;</b>",
    "error: unbound prefix": HEADER + "<a/><b><p:c/></b>",
    "error: too large": HEADER + "<a/><b>" + "é".repeat(600) + "</b>",
  };
  const invalidUtf8 = Buffer.concat([Buffer.from(HEADER + "<a/><b>"), Buffer.from([0xe0, 0x80, 0x80]), Buffer.from("</b>")]);
  const cases: [string, Buffer][] = [
    ...Object.entries(corpora).map(([k, v]) => [k, Buffer.from(v)] as [string, Buffer]),
    ["error: overlong UTF-8", invalidUtf8],
  ];
  for (const [name, bytes] of cases) {
    const options = name === "error: too large" ? { maxStanzaBytes: 1000 } : undefined;
    test(`${name}: byte-at-a-time and random splits give the whole-input result`, () => {
      const whole = run([bytes], options).log;
      if (!name.startsWith("error")) assert.ok(!whole.some((l) => l.startsWith("error")), whole.join("\n"));
      else assert.ok(whole.at(-1)?.startsWith("error"));
      assert.deepEqual(run(bytewise(bytes), options).log, whole, "byte at a time");
      const rnd = mulberry32(name.length * 7919);
      for (let i = 0; i < 40; i++) {
        assert.deepEqual(run(randomSplit(bytes, rnd, 1 + Math.floor(rnd() * 64)), options).log, whole, `random split ${i}`);
      }
    });
  }

  test("string chunks give the same result as bytes", () => {
    const s = corpora.tricky;
    const rnd = mulberry32(3);
    const pieces: string[] = [];
    for (let i = 0; i < s.length; ) {
      let n = 1 + Math.floor(rnd() * 20);
      const c = s.charCodeAt(i + n - 1);
      if (c >= 0xd800 && c <= 0xdbff) n++; // keep surrogate pairs together
      pieces.push(s.slice(i, i + n));
      i += n;
    }
    assert.deepEqual(run(pieces).log, run([Buffer.from(s)]).log);
  });

  test("a multi-byte character split at every byte position", () => {
    for (const ch of ["é", "€", "😀"]) {
      const bytes = Buffer.from(HEADER + `<m a='${ch}'><${ch === "😀" ? "x" : ch}>${ch}</${ch === "😀" ? "x" : ch}></m>`);
      const whole = run([bytes]).log;
      assert.equal(run([bytes]).error, null);
      for (let i = 1; i < bytes.length; i++) assert.deepEqual(run([bytes.subarray(0, i), bytes.subarray(i)]).log, whole);
    }
  });

  test("a large body fed one byte at a time stays linear", () => {
    const bytes = Buffer.from(HEADER + "<message><body>" + "x&amp;y ".repeat(25000) + "</body></message>");
    const t0 = performance.now();
    const out = run(bytewise(bytes));
    assert.equal(out.error, null);
    assert.equal(out.stanzas[0].getChildText("body"), "x&y ".repeat(25000));
    // ~0.3 s normally; a quadratic re-scan would take minutes.
    assert.ok(performance.now() - t0 < 10_000, "took too long");
  });
});

describe("UTF-8 and characters", () => {
  const bad: [string, number[]][] = [
    ["overlong '/'", [0xc0, 0xaf]],
    ["encoded surrogate", [0xed, 0xa0, 0x80]],
    ["stray continuation byte", [0x80]],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["0xFF", [0xff]],
    ["truncated then ASCII", [0xe2, 0x82, 0x41]],
  ];
  for (const [label, b] of bad) {
    test(`invalid UTF-8 (${label}) is not-well-formed`, () => {
      const bytes = Buffer.concat([Buffer.from(HEADER + "<message><body>"), Buffer.from(b), Buffer.from("</body></message>")]);
      assertError(run([bytes]), "not-well-formed", /UTF-8/);
      assertError(run(bytewise(bytes)), "not-well-formed", /UTF-8/);
    });
  }

  for (const ch of ["\u0000", "\u0001", "\u0008", "\u000b", "\u001f", "\ufffe", "\uffff"]) {
    test(`character U+${ch.charCodeAt(0).toString(16).padStart(4, "0")} is refused`, () => {
      assertError(runStream(`<message><body>a${ch}b</body></message>`), "not-well-formed", /not allowed in XML/);
      assertError(runStream(`<message id='${ch}'/>`), "not-well-formed");
    });
  }

  test("an unpaired surrogate in string input is refused", () => {
    assertError(runStream("<message><body>\ud800</body></message>"), "not-well-formed", /surrogate/);
  });

  test("UTF-16 input and non-UTF-8 declarations are unsupported-encoding", () => {
    assertError(run([Buffer.from([0xff, 0xfe, 0x3c, 0x00])]), "unsupported-encoding");
    assertError(run([Buffer.from([0xfe, 0xff, 0x00, 0x3c])]), "unsupported-encoding");
    assertError(run(["<?xml version='1.0' encoding='ISO-8859-1'?>" + HEADER]), "unsupported-encoding", /ISO-8859-1/);
    assertError(run(["<?xml version='1.0' encoding='UTF-16'?>" + HEADER]), "unsupported-encoding");
  });
});

describe("restricted XML (RFC 6120 §11.1)", () => {
  const cases: [string, string, RegExp][] = [
    ["DOCTYPE before the header", "<!DOCTYPE stream:stream>" + HEADER, /DOCTYPE/],
    ["DOCTYPE after the XML declaration", "<?xml version='1.0'?><!DOCTYPE x [<!ELEMENT x ANY>]>" + HEADER, /DOCTYPE/],
    ["entity declaration inside a stanza", HEADER + "<message><!ENTITY x 'y'></message>", /entity declaration/],
    ["ELEMENT declaration", HEADER + "<message><!ELEMENT x ANY></message>", /<!ELEMENT/],
    ["ATTLIST declaration", HEADER + "<!ATTLIST x y CDATA #IMPLIED>", /<!ATTLIST/],
    ["comment before the header", "<!-- hello -->" + HEADER, /comment/],
    ["comment between stanzas", HEADER + "<a/><!-- hello -->", /comment/],
    ["comment inside a stanza", HEADER + "<message><body>hi<!-- x --></body></message>", /comment/],
    ["processing instruction inside a stanza", HEADER + "<message><?php echo 1; ?></message>", /processing instruction/],
    ["processing instruction between stanzas", HEADER + "<?foo?>", /processing instruction/],
    ["processing instruction instead of the declaration", "<?xml-stylesheet href='x'?>" + HEADER, /xml-stylesheet/],
    ["XML declaration after whitespace", " <?xml version='1.0'?>" + HEADER, /processing instruction/],
    ["second XML declaration", "<?xml version='1.0'?><?xml version='1.0'?>" + HEADER, /processing instruction/],
    ["XML declaration inside the stream", HEADER + "<?xml version='1.0'?>", /processing instruction/],
  ];
  for (const [label, input, message] of cases) {
    test(`${label} → restricted-xml`, () => {
      const out = run([input]);
      assertError(out, "restricted-xml", message);
      assert.match(out.error!.message, /RFC 6120 §11\.1/);
      assert.deepEqual(run(bytewise(Buffer.from(input))).log, out.log);
    });
  }

  test("billion laughs is refused at the DOCTYPE, and its entities are undefined anyway", () => {
    let doc = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
    for (let i = 1; i <= 9; i++) doc += `<!ENTITY lol${i} '${`&lol${i - 1 || ""};`.repeat(10)}'>`;
    doc += "]>" + HEADER + "<message><body>&lol9;</body></message>";
    const t0 = performance.now();
    const out = run([doc]);
    assertError(out, "restricted-xml", /DOCTYPE/);
    assert.equal(out.stanzas.length, 0);
    assertError(runStream("<message><body>&lol9;</body></message>"), "not-well-formed", /undefined entity "&lol9;"/);
    assert.ok(performance.now() - t0 < 1000, "nothing may be expanded");
  });

  test("malformed markup declarations are not-well-formed", () => {
    assertError(runStream("<message><!-x></message>"), "not-well-formed");
    assertError(runStream("<message><!doctype></message>"), "not-well-formed");
    assertError(runStream("<message><![CDATA x]]></message>"), "not-well-formed");
  });
});

describe("entities and references", () => {
  const bad: [string, RegExp][] = [
    ["&nbsp;", /undefined entity/],
    ["&foo;", /undefined entity/],
    ["a & b", /unescaped '&'/],
    ["&amp", /unescaped '&'/],
    ["&#0;", /not an XML character/],
    ["&#x0;", /not an XML character/],
    ["&#1;", /not an XML character/],
    ["&#xD800;", /not an XML character/],
    ["&#xFFFE;", /not an XML character/],
    ["&#x110000;", /not an XML character/],
    ["&#99999999999999999999;", /not an XML character/],
    ["&#X41;", /malformed character reference/],
    ["&#;", /malformed character reference/],
    ["&#x;", /malformed character reference/],
    ["&#12a;", /malformed character reference/],
  ];
  for (const [text, message] of bad) {
    test(`${JSON.stringify(text)} is not-well-formed`, () => {
      assertError(runStream(`<message><body>${text}</body></message>`), "not-well-formed", message);
      assertError(runStream(`<message id='${text}'/>`), "not-well-formed", message);
    });
  }

  test("references split across chunks", () => {
    const bytes = Buffer.from(HEADER + "<m a='&amp;&#x263A;'>&lt;&#128512;&gt;</m>");
    const out = run(bytewise(bytes));
    assert.equal(out.error, null);
    assert.equal(out.stanzas[0].attrs.a, "&☺");
    assert.equal(out.stanzas[0].text(), "<😀>");
  });
});

describe("well-formedness", () => {
  const bad: [string, string, RegExp][] = [
    ["mismatched end tag", "<message><body></message></body>", /expected <\/body>, got <\/message>/],
    ["end tag at depth 1", "</message>", /unexpected end tag/],
    ["end tag of another stream", "</stream:other>", /unexpected end tag/],
    ["duplicate attribute", "<message id='1' id='2'/>", /duplicate attribute "id"/],
    ["duplicate expanded attribute", "<m xmlns:a='u' xmlns:b='u' a:x='1' b:x='2'/>", /repeats/],
    ["'<' in an attribute value", "<message id='a<b'/>", /'<' in value/],
    ["unquoted attribute", "<message id=1/>", /must be quoted/],
    ["attribute without value", "<message id/>", /has no value/],
    ["attribute without '='", "<message id 'x'/>", /has no value/],
    ["no space between attributes", "<message a='1'b='2'/>", /missing whitespace/],
    ["name starting with a digit", "<1message/>", /after '<'/],
    ["bad character in a name", "<mess@ge/>", /in element name/],
    ["bad attribute name", "<message a@b='1'/>", /has no value/],
    ["space after '<'", "< message/>", /after '<'/],
    ["'/' not followed by '>'", "<message / >", /expected '>'/],
    ["bad end tag", "<a></ a>", /after '<\/'/],
    ["junk in end tag", "<a></a b>", /expected '>'/],
    ["']]>' in text", "<a>x]]>y</a>", /']]>'/],
    ["text between stanzas", "<a/>hello", /between stanzas/],
    ["CDATA between stanzas", "<![CDATA[ ]]>", /CDATA section outside a stanza/],
    ["empty qualified-name part", "<a:/>", /qualified name/],
    ["two colons", "<a xmlns:a='u'><a:b:c/></a>", /qualified name/],
  ];
  for (const [label, body, message] of bad) {
    test(`${label} → not-well-formed`, () => {
      const out = runStream(body);
      assertError(out, "not-well-formed", message);
      assert.deepEqual(run(bytewise(Buffer.from(HEADER + body))).log, out.log);
    });
  }

  test("text before the stream header", () => {
    assertError(run(["hello" + HEADER]), "not-well-formed", /before the stream header/);
  });

  test("nothing is reported after an error, even when more is written", () => {
    const { parser, out } = recorder();
    parser.write(HEADER + "<a/><b></c>");
    parser.write("<d/>");
    parser.end();
    assert.deepEqual(out.log.slice(1), ["stanza <a/> {}", "error not-well-formed"]);
  });
});

describe("namespaces", () => {
  test("the stream header must be {http://etherx.jabber.org/streams}stream", () => {
    assertError(run(["<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>"]), "invalid-namespace", /urn:wrong/);
    assertError(run(["<stream:stream xmlns='jabber:client'>"]), "invalid-namespace", /undeclared/);
    assertError(
      run(["<stream:streams xmlns:stream='http://etherx.jabber.org/streams'>"]),
      "invalid-namespace",
      /<stream:streams>/,
    );
    assertError(run(["<message xmlns='jabber:client'>"]), "invalid-namespace");
  });

  test("unbound prefixes are not-well-formed (RFC 6120 §4.9.3.13 covers XML-NAMES)", () => {
    assertError(runStream("<foo:bar/>"), "not-well-formed", /unbound namespace prefix "foo"/);
    assertError(runStream("<message><x:y/></message>"), "not-well-formed", /unbound/);
    assertError(runStream("<message x:y='1'/>"), "not-well-formed", /attribute "x:y"/);
  });

  test("prefix scope: own declaration works, a sibling's does not", () => {
    assert.equal(runStream("<p:m xmlns:p='urn:p'><p:c/></p:m>").error, null);
    assertError(runStream("<m><a xmlns:p='urn:p'/><p:b/></m>"), "not-well-formed", /unbound/);
    assertError(runStream("<m xmlns:p='urn:p'/><p:b/>"), "not-well-formed", /unbound/);
    // The stream header's prefixes stay in scope for the whole stream.
    assert.equal(runStream("<stream:error><x/></stream:error>").error, null);
  });

  test("an inner declaration shadows an outer one until its element closes", () => {
    // Observable through attribute uniqueness: p:a and q:a clash only while q means u1.
    assertError(runStream("<m xmlns:p='u1' xmlns:q='u2'><x xmlns:q='u1' p:a='1' q:a='2'/></m>"), "not-well-formed", /repeats/);
    assert.equal(runStream("<m xmlns:p='u1' xmlns:q='u2'><x xmlns:q='u3'/><y p:a='1' q:a='2'/></m>").error, null);
    assertError(runStream("<m xmlns:p='u1' xmlns:q='u2'><x xmlns:q='u3'/><y xmlns:q='u1' p:a='1' q:a='2'/></m>"), "not-well-formed");
  });

  test("reserved prefixes and empty bindings", () => {
    assert.equal(runStream("<m xml:lang='en' xmlns:xml='http://www.w3.org/XML/1998/namespace'/>").error, null);
    assertError(runStream("<m xmlns:xml='urn:x'/>"), "not-well-formed");
    assertError(runStream("<m xmlns:p='http://www.w3.org/XML/1998/namespace'/>"), "not-well-formed");
    assertError(runStream("<m xmlns:xmlns='urn:x'/>"), "not-well-formed");
    assertError(runStream("<m xmlns:p=''/>"), "not-well-formed", /empty/);
    assertError(runStream("<xmlns:m/>"), "not-well-formed");
    assertError(runStream("<m xmlns='http://www.w3.org/2000/xmlns/'/>"), "not-well-formed");
  });
});

describe("limits", () => {
  test("defaults", () => {
    assert.deepEqual({ ...DEFAULT_LIMITS }, { maxStanzaBytes: 262144, maxDepth: 64, maxAttributes: 64, maxNameLength: 1024 });
  });

  test("a stanza of exactly maxStanzaBytes UTF-8 bytes passes; one more byte is a policy-violation", () => {
    const stanza = "<message><body>" + "€".repeat(100) + "x</body></message>"; // multi-byte: bytes ≠ characters
    const size = Buffer.byteLength(stanza);
    for (const pieces of [[HEADER + stanza], bytewise(Buffer.from(HEADER + stanza))]) {
      assert.equal(run(pieces, { maxStanzaBytes: size }).error, null);
      assertError(run(pieces, { maxStanzaBytes: size - 1 }), "policy-violation", new RegExp(`stanza <message> exceeds ${size - 1} bytes`));
    }
  });

  test("default limit: a 300 kB stanza is refused", () => {
    const out = runStream("<message><body>" + "a".repeat(300_000) + "</body></message>");
    assertError(out, "policy-violation", /exceeds 262144 bytes/);
  });

  test("an endless stanza is refused before much more than the limit is buffered", () => {
    const { parser, out } = recorder({ maxStanzaBytes: 10_000 });
    parser.write(HEADER + "<message><body>");
    let fed = 0;
    const chunk = Buffer.alloc(1000, "a");
    while (out.error === null && fed < 1_000_000) {
      parser.write(chunk);
      fed += chunk.length;
    }
    assertError(out, "policy-violation");
    assert.ok(fed <= 10_000 + 1000, `fed ${fed}`);
  });

  test("an endless attribute value or name is refused too", () => {
    const { parser, out } = recorder({ maxStanzaBytes: 5000 });
    parser.write(HEADER + "<message id='");
    for (let i = 0; i < 100 && out.error === null; i++) parser.write("x".repeat(100));
    assertError(out, "policy-violation");
    const longName = HEADER + "<m" + "x".repeat(2000) + "/>";
    assertError(run([longName]), "policy-violation", /name longer than 1024/);
    assertError(run(bytewise(Buffer.from(longName))), "policy-violation", /name longer than 1024/);
  });

  test("an oversized stream header is refused", () => {
    const out = run(["<stream:stream xmlns:stream='http://etherx.jabber.org/streams' x='" + "a".repeat(3000) + "'>"], {
      maxStanzaBytes: 2000,
    });
    assertError(out, "policy-violation", /stream header exceeds 2000 bytes/);
  });

  test("maxDepth counts the stanza as 1", () => {
    const nest = (n: number) => "<a>".repeat(n) + "</a>".repeat(n);
    assert.equal(runStream(nest(64)).error, null);
    assertError(runStream(nest(65)), "policy-violation", /deeper than 64/);
    assert.equal(runStream(nest(3), { maxDepth: 3 }).error, null);
    assertError(runStream(nest(4), { maxDepth: 3 }), "policy-violation");
  });

  test("maxAttributes", () => {
    const el = (n: number) => "<m " + Array.from({ length: n }, (_, i) => `a${i}='1'`).join(" ") + "/>";
    assert.equal(runStream(el(64)).error, null);
    assertError(runStream(el(65)), "policy-violation", /more than 64 attributes/);
    assert.equal(runStream(el(4), { maxAttributes: 4 }).error, null);
    assertError(runStream(el(5), { maxAttributes: 4 }), "policy-violation");
  });
});

describe("reset() for stream restarts", () => {
  test("after STARTTLS a new header (with XML declaration) is expected", () => {
    const { parser, out } = recorder();
    parser.write("<?xml version='1.0'?>" + HEADER + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    parser.reset(); // TLS handshake happens here
    parser.write("<?xml version='1.0'?>" + HEADER + "<message/></stream:stream>");
    assert.equal(out.error, null);
    assert.equal(out.log.filter((l) => l.startsWith("start ")).length, 2);
    assert.deepEqual(out.log.slice(-2), ["stanza <message/> {}", "end"]);
  });

  test("reset() inside a handler drops the rest of the chunk (no plaintext injection)", () => {
    const seen: string[] = [];
    const parser: StreamParser = new StreamParser({
      streamStart: (name) => seen.push("start " + name),
      stanza: (el) => {
        seen.push(el.name);
        if (el.name === "starttls") parser.reset();
      },
      streamEnd: () => seen.push("end"),
      error: (e) => seen.push("error " + e.message),
    });
    parser.write(HEADER + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message>injected</message>");
    parser.write(HEADER + "<iq/>");
    assert.deepEqual(seen, ["start stream:stream", "starttls", "start stream:stream", "iq"]);
  });

  test("reset() clears an error", () => {
    const { parser, out } = recorder();
    parser.write(HEADER + "<!-- x -->");
    assertError(out, "restricted-xml");
    out.error = null;
    parser.reset();
    parser.write(HEADER + "<a/>");
    assert.equal(out.error, null);
    assert.equal(out.stanzas.length, 1);
  });

  test("an exception thrown by a handler propagates and stops the parser", () => {
    const parser = new StreamParser({
      streamStart() {},
      stanza() {
        throw new Error("handler bug");
      },
      streamEnd() {},
      error() {
        assert.fail("not a parse error");
      },
    });
    assert.throws(() => parser.write(HEADER + "<a/><b/>"), /handler bug/);
    parser.write("<c/>"); // ignored
  });
});

describe("WebSocket framing (RFC 7395)", () => {
  const ws = { framing: "websocket" } as const;
  const OPEN = `<open xmlns='${NS_FRAMING}' to='example.com' version='1.0'/>`;

  test("open, stanzas, restart and close", () => {
    const out = run(
      [
        OPEN,
        Buffer.from("<message xmlns='jabber:client' to='a@b'><body>€</body></message>"),
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms/></stream:features>",
        `<open xmlns='${NS_FRAMING}' to='example.com' version='1.0'></open>`,
        " <iq xmlns='jabber:client' type='get' id='1'/>\n",
        `<close xmlns='${NS_FRAMING}'/>`,
      ],
      ws,
    );
    assert.equal(out.error, null);
    assert.deepEqual(out.log, [
      `start open {"xmlns":"${NS_FRAMING}","to":"example.com","version":"1.0"}`,
      `stanza <message xmlns='jabber:client' to='a@b'><body>€</body></message> {"xmlns":"jabber:client","to":"a@b"}`,
      `stanza <stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms/></stream:features> {"xmlns:stream":"http://etherx.jabber.org/streams"}`,
      `start open {"xmlns":"${NS_FRAMING}","to":"example.com","version":"1.0"}`,
      `stanza <iq xmlns='jabber:client' type='get' id='1'/> {"xmlns":"jabber:client","type":"get","id":"1"}`,
      "end",
    ]);
  });

  test("each frame is a standalone document", () => {
    assertError(run([OPEN, "<a/><b/>"], ws), "not-well-formed", /more than one element/);
    assertError(run([OPEN, "<message><body>"], ws), "not-well-formed", /complete element/);
    assertError(run([OPEN, "<message>", "</message>"], ws), "not-well-formed");
    // Prefixes do not carry over from one frame to the next.
    assertError(run([OPEN, "<stream:features/>"], ws), "not-well-formed", /unbound/);
    assert.equal(run([OPEN, "  ", "<?xml version='1.0'?><a/>"], ws).error, null);
  });

  test("the first element must be <open/> in the framing namespace", () => {
    assertError(run(["<message/>"], ws), "invalid-namespace", /expected <open/);
    assertError(run([HEADER], ws), "invalid-namespace");
    assertError(run(["<open xmlns='jabber:client'/>"], ws), "invalid-namespace", /urn:ietf:params:xml:ns:xmpp-framing/);
    assertError(run([OPEN, "<close/>"], ws), "invalid-namespace");
  });

  test("limits and restrictions apply per frame", () => {
    assertError(run([OPEN, "<message>" + "a".repeat(2000) + "</message>"], { ...ws, maxStanzaBytes: 1000 }), "policy-violation", /frame exceeds 1000/);
    assertError(run([OPEN, "<message><!-- x --></message>"], ws), "restricted-xml");
    assertError(run([OPEN, Buffer.from([0x3c, 0x61, 0xff, 0x2f, 0x3e])], ws), "not-well-formed", /UTF-8/);
    assertError(run([OPEN, "<a>\u0000</a>"], ws), "not-well-formed");
  });
});

describe("fuzzing", () => {
  test("random mutations of valid streams never throw or hang", () => {
    const rnd = mulberry32(20240611);
    const seeds = [
      "<?xml version='1.0'?>" + HEADER + buildStanzas(6, 11).join(" ") + "</stream:stream>",
      HEADER + "<m xmlns:q='u' q:a='&amp;&#x41;'><![CDATA[x]]><b>é😀</b></m><stream:features/>",
    ].map((s) => Buffer.from(s));
    const alphabet = Buffer.from("<>/&;#x'\"=![]-?:CDATA xmlns \t\r\n\0\xff");
    const t0 = performance.now();
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const mutated: number[] = Array.from(seeds[i % seeds.length]);
      const edits = 1 + Math.floor(rnd() * 6);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * mutated.length);
        const r = rnd();
        if (r < 0.3) mutated[at] = alphabet[Math.floor(rnd() * alphabet.length)];
        else if (r < 0.5) mutated[at] = Math.floor(rnd() * 256);
        else if (r < 0.7) mutated.splice(at, 1 + Math.floor(rnd() * 8));
        else if (r < 0.85) mutated.splice(at, 0, ...mutated.slice(Math.floor(rnd() * mutated.length), Math.floor(rnd() * mutated.length)));
        else mutated.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]);
      }
      const bytes = Buffer.from(mutated);
      const framing = i % 5 === 0 ? "websocket" : "stream";
      const { parser, out } = recorder({ framing, maxStanzaBytes: 4096, maxDepth: 8 });
      const pieces = framing === "websocket" ? [bytes] : randomSplit(bytes, rnd, 1 + Math.floor(rnd() * 100));
      for (const p of pieces) parser.write(p); // must not throw
      parser.end();
      if (out.error) {
        errors++;
        assert.equal(out.log.at(-1)?.startsWith("error"), true, "nothing may follow an error");
        assert.ok(out.error instanceof XmlStreamError && out.error.message.length > 0);
      }
    }
    assert.ok(errors > 500, `mutations should mostly be caught (${errors})`);
    // ~0.5 s normally; generous so that a loaded CI machine does not fail it.
    assert.ok(performance.now() - t0 < 30_000, "fuzzing took too long");
  });
});
