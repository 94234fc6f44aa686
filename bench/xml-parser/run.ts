// Benchmark: Parley's StreamParser vs saxes vs ltx's tokenizer (the one @xmpp/xml uses), each
// building the same Element trees from the same realistic XMPP stream, then a probe of how each
// treats the constructs RFC 6120 §11.1 restricts. Run: npx node bench/xml-parser/run.ts
//
// Every contender gets Buffers and must decode UTF-8 itself (saxes and ltx through a streaming
// TextDecoder, which ltx would otherwise get wrong at chunk boundaries: it calls Buffer#toString).

import { SaxesParser } from "saxes";
import SaxLtx from "ltx/lib/parsers/ltx.js";
import { Element, serialize } from "../../src/xml/element.ts";
import { StreamParser } from "../../src/xml/stream-parser.ts";
import { buildStream, STREAM_HEADER, STREAM_OPEN, XML_DECL } from "./corpus.ts";

type Contender = { name: string; run: (chunks: Buffer[], onStanza: (el: Element) => void) => void };

function appendText(el: Element, t: string): void {
  const c = el.children;
  if (c.length !== 0 && typeof c[c.length - 1] === "string") c[c.length - 1] += t;
  else c.push(t);
}

const parley: Contender = {
  name: "parley StreamParser",
  run(chunks, onStanza) {
    const p = new StreamParser({
      streamStart() {},
      stanza: onStanza,
      streamEnd() {},
      error(e) {
        throw e;
      },
    });
    for (const c of chunks) p.write(c);
  },
};

function saxes(xmlns: boolean): Contender {
  return {
    name: `saxes (xmlns: ${xmlns})`,
    run(chunks, onStanza) {
      const p = new SaxesParser({ xmlns, position: false });
      const td = new TextDecoder("utf-8", { fatal: true });
      const stack: Element[] = [];
      let depth = 0;
      p.on("opentag", (tag) => {
        if (depth++ === 0) return; // the stream root
        let attrs: Record<string, string>;
        if (xmlns) {
          attrs = {};
          const a = tag.attributes as Record<string, { value: string }>;
          for (const k in a) attrs[k] = a[k].value;
        } else {
          attrs = tag.attributes as Record<string, string>;
        }
        const el = new Element(tag.name, attrs);
        if (stack.length !== 0) stack[stack.length - 1].children.push(el);
        stack.push(el);
      });
      p.on("closetag", () => {
        if (--depth === 0) return;
        const el = stack.pop()!;
        if (stack.length === 0) onStanza(el);
      });
      p.on("text", (t) => {
        if (stack.length !== 0) appendText(stack[stack.length - 1], t);
      });
      p.on("cdata", (t) => {
        if (stack.length !== 0) appendText(stack[stack.length - 1], t);
      });
      p.on("error", (e) => {
        throw e;
      });
      for (const c of chunks) p.write(td.decode(c, { stream: true }));
    },
  };
}

const ltx: Contender = {
  name: "ltx (SaxLtx)",
  run(chunks, onStanza) {
    const p = new SaxLtx();
    const td = new TextDecoder("utf-8", { fatal: true });
    const stack: Element[] = [];
    const open: string[] = []; // SaxLtx does not match end tags; @xmpp/xml checks them like this
    p.on("startElement", (name: string, attrs: Record<string, string>) => {
      if (open.push(name) === 1) return; // the stream root
      const el = new Element(name, attrs);
      if (stack.length !== 0) stack[stack.length - 1].children.push(el);
      stack.push(el);
    });
    p.on("endElement", (name: string) => {
      if (open.pop() !== name) throw new Error(`${name} must be closed`);
      if (open.length === 0) return;
      const el = stack.pop()!;
      if (stack.length === 0) onStanza(el);
    });
    p.on("text", (t: string) => {
      if (stack.length !== 0) appendText(stack[stack.length - 1], t);
    });
    p.on("error", (e: Error) => {
      throw e;
    });
    for (const c of chunks) p.write(td.decode(c, { stream: true }));
  },
};

const contenders = [parley, saxes(false), saxes(true), ltx];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const STANZAS = Number(process.env.STANZAS ?? 40000);
const RUNS = Number(process.env.RUNS ?? 9);

// 1. Same trees from everyone (otherwise the speed comparison means nothing).
{
  const { chunks } = buildStream(3000, 1000);
  const results = contenders.map((c) => {
    const out: string[] = [];
    c.run(chunks, (el) => out.push(serialize(el)));
    return out;
  });
  for (let i = 1; i < contenders.length; i++) {
    const diff = results[i].findIndex((s, k) => s !== results[0][k]);
    if (diff !== -1 || results[i].length !== results[0].length) {
      console.error(`tree mismatch: ${contenders[i].name} at stanza ${diff}:\n${results[0][diff]}\n${results[i][diff]}`);
      process.exit(1);
    }
  }
  console.log(`equivalence: ${contenders.length} parsers build identical trees for ${results[0].length} stanzas`);
}

// 2. Throughput. Contenders take turns run by run so that load from other processes hits all of
// them alike, and time is the process's CPU time (user + system), which a busy machine distorts
// far less than wall-clock time.
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

for (const chunkBytes of [65536, 1460]) {
  const { bytes, chunks, stanzas } = buildStream(STANZAS, chunkBytes);
  console.log(
    `\n${stanzas} stanzas, ${(bytes.length / 1e6).toFixed(2)} MB, ${chunks.length} chunks of ${chunkBytes} bytes; median of ${RUNS} runs (CPU time)`,
  );
  console.log("parser                   MB/s   stanzas/s   (runs MB/s)");
  const times = contenders.map(() => [] as number[]);
  let count = 0;
  const sink = () => count++;
  for (const c of contenders) for (let w = 0; w < 3; w++) c.run(chunks, sink); // warm up the JIT
  for (let r = 0; r < RUNS; r++) {
    contenders.forEach((c, i) => {
      count = 0;
      const t0 = cpuSeconds();
      c.run(chunks, sink);
      times[i].push(cpuSeconds() - t0);
      if (count !== stanzas) throw new Error(`${c.name}: ${count} stanzas, expected ${stanzas}`);
    });
  }
  contenders.forEach((c, i) => {
    const t = median(times[i]);
    const runs = times[i].map((x) => (bytes.length / 1e6 / x).toFixed(0)).join(" ");
    console.log(
      `${c.name.padEnd(22)} ${(bytes.length / 1e6 / t).toFixed(1).padStart(6)} ${(stanzas / t).toFixed(0).padStart(11)}   (${runs})`,
    );
  });
}

// 3. What each accepts of the restricted or malformed constructs. Each probe is a stream
// (declaration, header, one stanza) with the construct placed where it is syntactically
// possible; "accepted" means no error, with the stanzas that were still delivered.
const MSG = "<message><body>hi</body></message>";
const probes: [string, string][] = [
  ["DOCTYPE", XML_DECL + "<!DOCTYPE stream:stream>" + STREAM_OPEN + MSG],
  [
    "billion laughs (DTD + &lol9;)",
    XML_DECL +
      "<!DOCTYPE s [<!ENTITY lol 'lol'><!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>" +
      "<!ENTITY lol9 '&lol1;&lol1;&lol1;'>]>" + STREAM_OPEN + "<message><body>&lol9;</body></message>",
  ],
  ["comment", STREAM_HEADER + "<!-- hi -->" + MSG],
  ["processing instruction", STREAM_HEADER + "<?foo bar?>" + MSG],
  ["undefined entity &b;", STREAM_HEADER + "<message><body>&b;</body></message>"],
  ["&#0;", STREAM_HEADER + "<message><body>&#0;</body></message>"],
  ["control char U+0001", STREAM_HEADER + "<message><body>\u0001</body></message>"],
  ["mismatched end tag", STREAM_HEADER + "<message><body></message></body>"],
  ["duplicate attribute", STREAM_HEADER + "<message id='1' id='2'/>"],
  ["unquoted attribute", STREAM_HEADER + "<message id=1/>"],
  ["'<' in attribute", STREAM_HEADER + "<message id='<'/>"],
  ["unbound prefix", STREAM_HEADER + "<foo:bar/>"],
  ["text between stanzas", STREAM_HEADER + "hello" + MSG],
];

function probe(c: Contender, input: string): string {
  let stanzas = 0;
  let refused = "";
  try {
    if (c === parley) {
      const p = new StreamParser({
        streamStart() {},
        stanza: () => stanzas++,
        streamEnd() {},
        error: (e) => (refused = e.condition),
      });
      p.write(Buffer.from(input));
    } else {
      c.run([Buffer.from(input)], () => stanzas++);
    }
  } catch (e) {
    refused = (e as Error).message.split("\n")[0].slice(0, 48);
  }
  return refused ? `refused: ${refused}` : `accepted, ${stanzas} stanza(s) delivered`;
}

console.log("\nrestricted / malformed input:");
for (const [label, input] of probes) {
  console.log(`  ${label}`);
  for (const c of contenders) console.log(`    ${c.name.padEnd(22)} ${probe(c, input)}`);
}
