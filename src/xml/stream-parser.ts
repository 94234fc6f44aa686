// Streaming parser for XMPP streams (RFC 6120 §4, §11) and RFC 7395 WebSocket frames.
//
// Hand-written state machine over decoded text. Input is decoded strictly from UTF-8 (a
// character split by a chunk boundary is carried over), scanned once per chunk for characters
// XML 1.0 forbids, then tokenised with indexOf fast-forwarding through text and attribute values.
// A token cut by the end of a chunk is kept as a string piece in the state that was interrupted,
// so chunks may end at any byte and earlier input is never re-scanned. Errors are positional:
// everything before the offending byte is delivered first, whatever the chunking.
//
// Restricted XML (RFC 6120 §11.1): DOCTYPE, DTD declarations, comments and processing
// instructions are refused with "restricted-xml"; the one XML declaration before the stream
// header is allowed. CDATA sections are accepted as text. Only the five predefined entities and
// character references exist; any other entity reference is "not-well-formed" (it violates the
// XML "Entity Declared" constraint, since no DTD can declare it).
//
// Memory: everything the parser buffers belongs to one "unit" (the XML declaration, the stream
// header tag, one depth-1 stanza, or the closing tag), whose UTF-8 size is capped by
// maxStanzaBytes. Whitespace between stanzas is consumed without being buffered.
//
// docs/xml-parser.md records the benchmark against saxes and ltx and the reasons for each choice.

import { isAscii, isUtf8 } from "node:buffer";
import { Element } from "./element.ts";
import type { Attrs } from "./element.ts";

export interface StreamParserLimits {
  /** UTF-8 bytes of one depth-1 stanza, from its `<` to its last `>` (also caps the header and WebSocket frames). */
  maxStanzaBytes: number;
  /** Element nesting depth, counting the stanza itself as 1. */
  maxDepth: number;
  /** Attributes on one element, namespace declarations included. */
  maxAttributes: number;
  /** Length (UTF-16 units) of one element or attribute name. */
  maxNameLength: number;
}

export interface StreamParserOptions extends Partial<StreamParserLimits> {
  /**
   * "stream": one TCP/TLS XML stream, chunks split anywhere (RFC 6120).
   * "websocket": each write() is one complete RFC 7395 frame holding one element.
   */
  framing?: "stream" | "websocket";
}

export const DEFAULT_LIMITS: Readonly<StreamParserLimits> = Object.freeze({
  maxStanzaBytes: 262144,
  maxDepth: 64,
  maxAttributes: 64,
  maxNameLength: 1024,
});

export type XmlErrorCondition =
  | "restricted-xml"
  | "not-well-formed"
  | "policy-violation"
  | "invalid-namespace"
  | "unsupported-encoding";

export class XmlStreamError extends Error {
  condition: XmlErrorCondition;

  constructor(condition: XmlErrorCondition, message: string) {
    super(message);
    this.name = "XmlStreamError";
    this.condition = condition;
  }
}

export interface StreamParserEvents {
  /** The stream header (`<stream:stream ...>`, name as written), or `<open/>` in WebSocket framing. */
  streamStart(name: string, attrs: Record<string, string>): void;
  /** One complete depth-1 element (depth 0 in WebSocket framing), names and attributes as written. */
  stanza(el: Element): void;
  /** `</stream:stream>`, or `<close/>` in WebSocket framing. The parser ignores input after it. */
  streamEnd(): void;
  /** The input was refused; the parser ignores further input until reset(). */
  error(err: XmlStreamError): void;
}

export const NS_STREAMS = "http://etherx.jabber.org/streams";
export const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
const NS_XML = "http://www.w3.org/XML/1998/namespace";
const NS_XMLNS = "http://www.w3.org/2000/xmlns/";

// Tokenizer states. Plain numbers: `const enum` is not erasable syntax.
const S_TEXT = 0; // character data, or whitespace between stanzas
const S_LT = 1; // just after '<'
const S_NAME = 2; // element name in a start tag
const S_TAG = 3; // inside a start tag (or the XML declaration), between attributes
const S_ATTR_NAME = 4;
const S_ATTR_EQ = 5; // after an attribute name, expecting '='
const S_ATTR_QUOTE = 6; // after '=', expecting a quote
const S_ATTR_VALUE = 7;
const S_SLASH = 8; // '/' in a start tag, expecting '>'
const S_END_NAME = 9; // name in an end tag
const S_END_TAG = 10; // after the end tag name, expecting '>'
const S_BANG = 11; // after '<!': CDATA, or a refused construct
const S_CDATA = 12;
const S_PI = 13; // after '<?': PI target
const S_DECL_END = 14; // '?' in the XML declaration, expecting '>'

// ASCII name-character table: bit 1 = may start a name, bit 2 = may continue one.
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME[c] = 3;
  else if (/[0-9.\-]/.test(ch)) NAME[c] = 2;
}

/** XML 1.0 (5th ed.) NameStartChar beyond ASCII, on UTF-16 units (high surrogates = planes 1–14). */
function nameStartNonAscii(c: number): boolean {
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xd800 && c <= 0xdb7f) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd)
  );
}

function nameCharNonAscii(c: number): boolean {
  return (
    nameStartNonAscii(c) ||
    c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) ||
    c === 0x203f ||
    c === 0x2040 ||
    (c >= 0xdc00 && c <= 0xdfff) // low half of a pair whose high half was a name char
  );
}

function isNameStart(c: number): boolean {
  return c < 128 ? (NAME[c] & 1) !== 0 : nameStartNonAscii(c);
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

let nameHash = 0; // hash of the name nameEnd() last scanned

/** Index of the first character at or after `pos` that cannot continue a name (hash in nameHash). */
function nameEnd(s: string, pos: number): number {
  const len = s.length;
  let h = 0;
  while (pos < len) {
    const c = s.charCodeAt(pos);
    if (c < 128 ? (NAME[c] & 2) === 0 : !nameCharNonAscii(c)) break;
    h = (Math.imul(h, 31) + c) | 0;
    pos++;
  }
  nameHash = h;
  return pos;
}

// Names repeat endlessly in XMPP (message, body, to, id, xmlns...). Reusing one string per name,
// instead of slicing a fresh copy each time, saves allocation and, above all, the string-table
// lookup V8 makes whenever a fresh string becomes a property key (every attribute name).
// Shared by all parsers; direct-mapped, so a collision just replaces the entry.
const INTERN_SIZE = 1024;
const INTERN_MAX_LENGTH = 32;
const internTable: string[] = new Array<string>(INTERN_SIZE).fill("");

/** s[pos, end) as a string, from the intern table when possible; nameEnd(s, pos) must have just returned end. */
function internName(s: string, pos: number, end: number): string {
  const n = end - pos;
  if (n > INTERN_MAX_LENGTH) return s.slice(pos, end);
  const slot = (nameHash ^ (nameHash >>> 10)) & (INTERN_SIZE - 1);
  const cached = internTable[slot];
  if (cached.length === n && s.startsWith(cached, pos)) return cached;
  const name = s.slice(pos, end);
  internTable[slot] = name;
  return name;
}

// Characters outside XML 1.0 `Char`. Lone surrogates are caught separately (strict UTF-8
// decoding cannot produce them; string input is checked with isWellFormed()).
const FORBIDDEN_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

function describeChar(c: number): string {
  const hex = "U+" + c.toString(16).toUpperCase().padStart(4, "0");
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}' (${hex})` : hex;
}

function indexOrEnd(s: string, needle: string, pos: number): number {
  const i = s.indexOf(needle, pos);
  return i === -1 ? s.length : i;
}

function utf8SequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/** End of the last complete UTF-8 sequence: a character cut short at the end is held back. */
function completeUtf8End(buf: Uint8Array): number {
  const len = buf.length;
  for (let i = len - 1; i >= 0 && i >= len - 4; i--) {
    const c = buf[i];
    if (c < 0x80) return len;
    if (c >= 0xc0) return len - i < utf8SequenceLength(c) ? i : len; // a lead byte
  }
  return len; // no lead byte in reach: malformed, left for isUtf8 to reject
}

/**
 * Length of the longest well-formed UTF-8 prefix (RFC 3629: no overlongs, surrogates or code
 * points above U+10FFFF). Only used to locate an error isUtf8() has already found.
 */
function validUtf8Prefix(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    // The second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n;
  }
  return i;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 9 ||
    cp === 10 ||
    cp === 13 ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** UTF-8 length of s[a, b); the string is well-formed, so each surrogate half is 2 of a pair's 4 bytes. */
function utf8Length(s: string, a: number, b: number): number {
  let n = b - a;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

const BANG_KEYWORDS = ["--", "[CDATA[", "DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST", "NOTATION"];

export class StreamParser {
  private readonly events: StreamParserEvents;
  private readonly limits: StreamParserLimits;
  private readonly websocket: boolean;
  private carry: Buffer | null = null; // leading bytes of a character split by the chunk boundary

  // Lifecycle.
  private stopped = false; // after an error, end(), or the end of the stream
  private writing = false; // inside write(), guards against re-entrant writes from handlers
  private generation = 0; // bumped by reset(): a write() in progress abandons its chunk
  private failure: XmlStreamError | null = null; // the error fail() is throwing
  private atStreamStart = true; // nothing decoded yet: a BOM may be skipped
  private declAllowed = true; // nothing but a BOM seen yet: `<?xml ...?>` allowed
  private streamOpen = false; // header (or WebSocket <open/>) received
  private rootName = "";
  private frameHasElement = false; // WebSocket: this frame's element has been seen

  // Tokenizer.
  private state = S_TEXT;
  private name = ""; // element name / end-tag name / PI target being read
  private attrName = "";
  private value = ""; // raw attribute value pieces
  private valueSpecial = false; // a carried piece of the value holds '&', TAB, LF or CR
  private quote = '"';
  private sawSpace = false; // whitespace since the last attribute (required before the next)
  private attrs: Attrs | null = null;
  private attrCount = 0;
  private attrNames: string[] = []; // names on the current tag, [0, attrCount)
  private nsDeclCount = 0; // xmlns:prefix attributes on the current tag
  private prefixedAttrCount = 0; // other prefixed attributes on the current tag
  private defaultNs: string | null = null; // the current tag's xmlns attribute (read here, not from attrs: cheaper)
  private inDecl = false; // S_TAG is reading the XML declaration's pseudo-attributes
  private bang = ""; // characters after '<!', until the construct is recognised
  private cdata = "";
  private cdataCarried = false; // cdata holds a previous chunk's piece (']]>' may straddle)
  private text = ""; // raw character data carried from previous chunks

  // Tree: the open elements of the current stanza (the stream root is not kept).
  private stack: Element[] = [];

  // Namespace prefixes in scope: prefix → bound URIs, innermost last. A map, not a list to scan:
  // depth × attributes allows thousands of bindings, and a stanza could look them up thousands
  // of times. The declarations are also logged in order, with their nesting level (0 = stream
  // header), to be undone when their element closes.
  private nsScopes = new Map<string, string[]>();
  private nsDeclared: string[] = [];
  private nsLevel: number[] = [];

  // Size accounting of the current unit (stream framing only).
  private inUnit = false;
  private unitFrom = 0; // index in the current chunk where the unit (or this chunk's part of it) starts
  private unitBytes = 0; // bytes of the unit in earlier chunks
  private unitStanza = ""; // name of the stanza the unit holds, for error messages
  private ascii = true; // current chunk is ASCII: string indices are byte offsets

  // Per-chunk lookahead: index of the next occurrence at or after the last query (chunk length if
  // none). Each is searched at most once per occurrence, so text and attribute values are checked
  // for '<', references, CR/TAB/LF and ']]>' without re-scanning them.
  private ltAt = -1;
  private ampAt = -1;
  private crAt = -1;
  private tabLfAt = -1;
  private cdEndAt = -1;

  constructor(events: StreamParserEvents, options?: StreamParserOptions) {
    this.events = events;
    this.limits = {
      maxStanzaBytes: options?.maxStanzaBytes ?? DEFAULT_LIMITS.maxStanzaBytes,
      maxDepth: options?.maxDepth ?? DEFAULT_LIMITS.maxDepth,
      maxAttributes: options?.maxAttributes ?? DEFAULT_LIMITS.maxAttributes,
      maxNameLength: options?.maxNameLength ?? DEFAULT_LIMITS.maxNameLength,
    };
    this.websocket = options?.framing === "websocket";
  }

  /**
   * Feeds input. Stream framing: any slice of the byte stream. WebSocket framing: exactly one
   * frame. Parse errors never throw: they arrive through `events.error`. An exception thrown by
   * an event handler propagates and stops the parser (the rest of its chunk is lost).
   */
  write(chunk: Buffer | string): void {
    if (this.stopped) return;
    // The tokenizer's state belongs to the chunk being parsed: a handler may reset() or end()
    // the parser, but feeding it more input from inside a handler would interleave two chunks.
    if (this.writing) throw new Error("StreamParser.write() called from one of its own event handlers");
    this.writing = true;
    try {
      if (this.websocket) this.writeFrame(chunk);
      else if (typeof chunk === "string") this.writeString(chunk);
      else this.writeBytes(chunk);
    } catch (e) {
      this.stopped = true;
      if (e !== this.failure) throw e;
      this.failure = null;
      this.events.error(e as XmlStreamError);
    } finally {
      this.writing = false;
    }
  }

  /**
   * Starts over, expecting a new stream header (after STARTTLS or SASL success), and clears
   * any error. Input not yet parsed is dropped, including the rest of a chunk whose handler
   * calls reset(): the peer must wait for our <proceed/> or <success/> before sending the new
   * stream, and anything it sent earlier (plaintext before TLS) must not leak into it.
   */
  reset(): void {
    this.generation++;
    this.carry = null;
    this.stopped = false;
    this.failure = null;
    this.atStreamStart = true;
    this.declAllowed = true;
    this.streamOpen = false;
    this.rootName = "";
    this.frameHasElement = false;
    this.clearTokenizer();
  }

  /**
   * Gives back scratch memory while the stream idles between stanzas (the listener calls this
   * for quiet connections): the per-tag arrays the first stanzas grew to 17 slots shrink to
   * what they hold. Nothing changes for the parse; the next stanza grows them again.
   */
  compact(): void {
    if (this.writing || this.stack.length !== 0 || this.state !== S_TEXT || this.inUnit) return;
    this.stack = [];
    this.attrNames = [];
    this.nsDeclared = this.nsDeclared.slice();
    this.nsLevel = this.nsLevel.slice();
  }

  /**
   * The input has ended (connection closed). Reports "not-well-formed" if it ended inside a
   * UTF-8 sequence or inside markup or a stanza; ending between stanzas without
   * `</stream:stream>` is not reported (no streamEnd is emitted either).
   */
  end(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      if (this.carry !== null) this.fail("not-well-formed", "input ended inside a UTF-8 sequence");
      if (this.stack.length !== 0) this.fail("not-well-formed", `input ended inside <${this.stack[this.stack.length - 1].name}>`);
      if (this.state !== S_TEXT || this.inUnit) this.fail("not-well-formed", "input ended inside a tag");
    } catch (e) {
      if (e !== this.failure) throw e;
      this.failure = null;
      this.events.error(e as XmlStreamError);
    }
  }

  // ---- input decoding ------------------------------------------------------------------
  // Strict UTF-8 without TextDecoder: in streaming mode it costs microseconds per call, which
  // dominates with TCP-sized chunks. isAscii/isUtf8 are simdutf scans; only the bytes of a
  // character split by a chunk boundary (at most 3) are carried over.

  private writeString(s: string): void {
    if (this.carry !== null) this.fail("not-well-formed", "incomplete UTF-8 sequence before string input");
    if (!s.isWellFormed()) this.fail("not-well-formed", "unpaired UTF-16 surrogate in input");
    this.ascii = s.length === Buffer.byteLength(s);
    this.parseChecked(s);
  }

  private writeBytes(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // UTF-16/32 byte-order marks start with 0xFE/0xFF, which never occur in UTF-8.
    if (this.atStreamStart && chunk[0] >= 0xfe) {
      this.fail("unsupported-encoding", "stream is not UTF-8 (found a UTF-16 byte-order mark); RFC 6120 §11.6 requires UTF-8");
    }
    let body = chunk;
    if (this.carry !== null) {
      // Complete the character the previous chunk split, and parse it on its own.
      const carry = this.carry;
      const take = Math.min(utf8SequenceLength(carry[0]) - carry.length, chunk.length);
      for (let i = 0; i < take; i++) {
        if ((chunk[i] & 0xc0) !== 0x80) this.fail("not-well-formed", "invalid UTF-8 byte sequence");
      }
      const joined = Buffer.concat([carry, chunk.subarray(0, take)]);
      body = chunk.subarray(take);
      if (joined.length < utf8SequenceLength(joined[0])) {
        this.carry = joined;
        return;
      }
      this.carry = null;
      if (!isUtf8(joined)) this.fail("not-well-formed", "invalid UTF-8 byte sequence");
      this.ascii = false;
      const gen = this.generation;
      this.parseChecked(joined.toString("utf8"));
      if (gen !== this.generation || this.stopped || body.length === 0) return;
    }
    if (isAscii(body)) {
      this.ascii = true;
      return this.parseChecked(body.toString("latin1")); // the cheapest way to a one-byte string
    }
    this.ascii = false;
    const end = completeUtf8End(body);
    const part = end === body.length ? body : body.subarray(0, end);
    if (!isUtf8(part)) {
      // Parse what precedes the bad bytes first, so the outcome never depends on chunking.
      const valid = validUtf8Prefix(part);
      const gen = this.generation;
      this.parseChecked(part.toString("utf8", 0, valid));
      if (gen === this.generation && !this.stopped) this.fail("not-well-formed", "invalid UTF-8 byte sequence");
      return;
    }
    if (end < body.length) this.carry = Buffer.from(body.subarray(end)); // a copy: the caller may reuse its buffer
    this.parseChecked(part.toString("utf8"));
  }

  /** Parses s up to its first character that XML 1.0 forbids, then reports that character. */
  private parseChecked(s: string): void {
    const m = FORBIDDEN_CHAR.exec(s);
    if (m === null) {
      if (s.length !== 0) this.parse(s);
      return;
    }
    const gen = this.generation;
    if (m.index !== 0) this.parse(s.slice(0, m.index));
    if (gen === this.generation && !this.stopped) this.failChar(m[0].charCodeAt(0));
  }

  /** RFC 7395 §3.3.3: one frame is one complete element, parsed as a standalone document. */
  private writeFrame(chunk: Buffer | string): void {
    const max = this.limits.maxStanzaBytes;
    const bytes = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    if (bytes > max) this.fail("policy-violation", `WebSocket frame exceeds ${max} bytes`);
    let s: string;
    if (typeof chunk === "string") {
      if (!chunk.isWellFormed()) this.fail("not-well-formed", "unpaired UTF-16 surrogate in frame");
      s = chunk;
    } else {
      if (!isUtf8(chunk)) this.fail("not-well-formed", "invalid UTF-8 byte sequence in frame");
      s = chunk.toString("utf8");
    }
    const bad = FORBIDDEN_CHAR.exec(s);
    if (bad !== null) this.failChar(bad[0].charCodeAt(0)); // a frame is one document: all or nothing
    this.clearTokenizer();
    this.declAllowed = true;
    this.frameHasElement = false;
    if (s.length !== 0) this.parse(s);
    if (!this.stopped && (this.stack.length !== 0 || this.state !== S_TEXT)) {
      this.fail("not-well-formed", "WebSocket frame does not contain a complete element");
    }
  }

  private failChar(c: number): never {
    this.fail("not-well-formed", `character ${describeChar(c)} is not allowed in XML`);
  }

  // ---- tokenizer ---------------------------------------------------------------------------

  private clearTokenizer(): void {
    this.state = S_TEXT;
    this.name = "";
    this.attrName = "";
    this.value = "";
    this.valueSpecial = false;
    this.attrs = null;
    this.inDecl = false;
    this.bang = "";
    this.cdata = "";
    this.cdataCarried = false;
    this.text = "";
    this.stack.length = 0;
    this.nsScopes.clear();
    this.nsDeclared.length = 0;
    this.nsLevel.length = 0;
    this.inUnit = false;
    this.unitBytes = 0;
  }

  private fail(condition: XmlErrorCondition, message: string): never {
    const err = new XmlStreamError(condition, message);
    this.failure = err;
    throw err;
  }

  private parse(s: string): void {
    const len = s.length;
    const gen = this.generation;
    let pos = 0;
    this.ltAt = this.ampAt = this.crAt = this.tabLfAt = this.cdEndAt = -1;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (s.charCodeAt(0) === 0xfeff) pos = 1; // byte-order mark (as a string: decoding keeps it)
    }
    // Handlers run inside this loop; one may reset() or end() the parser: then stop at once.
    while (pos < len && gen === this.generation && !this.stopped) {
      switch (this.state) {
        case S_TEXT:
          pos = this.stack.length !== 0 ? this.scanText(s, pos) : this.scanBetween(s, pos);
          break;
        case S_LT:
          pos = this.afterLt(s, pos);
          break;
        case S_NAME:
          pos = this.scanElementName(s, pos);
          break;
        case S_TAG:
          pos = this.scanTag(s, pos);
          break;
        case S_ATTR_NAME:
          pos = this.scanAttrName(s, pos);
          break;
        case S_ATTR_EQ:
          pos = this.scanAttrEq(s, pos);
          break;
        case S_ATTR_QUOTE:
          pos = this.scanAttrQuote(s, pos);
          break;
        case S_ATTR_VALUE:
          pos = this.scanAttrValue(s, pos);
          break;
        case S_SLASH:
          if (s.charCodeAt(pos) !== 62) this.fail("not-well-formed", `expected '>' after '/' in <${this.name}`);
          this.openTag(s, pos, true);
          pos++;
          break;
        case S_END_NAME:
          pos = this.scanEndName(s, pos);
          break;
        case S_END_TAG:
          pos = this.scanEndTag(s, pos);
          break;
        case S_BANG:
          pos = this.scanBang(s, pos);
          break;
        case S_CDATA:
          pos = this.scanCdata(s, pos);
          break;
        case S_PI:
          pos = this.scanPiTarget(s, pos);
          break;
        case S_DECL_END:
          if (s.charCodeAt(pos) !== 62) this.fail("not-well-formed", "expected '?>' to end the XML declaration");
          this.endDecl(s, pos);
          pos++;
          break;
      }
    }
    if (gen !== this.generation || this.stopped || !this.inUnit) return;
    // The unit continues in the next chunk: count this chunk's part of it now.
    this.unitBytes += this.ascii ? len - this.unitFrom : utf8Length(s, this.unitFrom, len);
    this.unitFrom = 0;
    if (this.unitBytes > this.limits.maxStanzaBytes) this.failTooLarge();
  }

  private nextLt(s: string, pos: number): number {
    let i = this.ltAt;
    if (i < pos) this.ltAt = i = indexOrEnd(s, "<", pos);
    return i;
  }

  private nextAmp(s: string, pos: number): number {
    let i = this.ampAt;
    if (i < pos) this.ampAt = i = indexOrEnd(s, "&", pos);
    return i;
  }

  private nextCr(s: string, pos: number): number {
    let i = this.crAt;
    if (i < pos) this.crAt = i = indexOrEnd(s, "\r", pos);
    return i;
  }

  private nextTabLf(s: string, pos: number): number {
    let i = this.tabLfAt;
    if (i < pos) this.tabLfAt = i = Math.min(indexOrEnd(s, "\n", pos), indexOrEnd(s, "\t", pos));
    return i;
  }

  private nextCdataEnd(s: string, pos: number): number {
    let i = this.cdEndAt;
    if (i < pos) this.cdEndAt = i = indexOrEnd(s, "]]>", pos);
    return i;
  }

  /** Character data inside a stanza: jump to the next '<'. */
  private scanText(s: string, pos: number): number {
    const lt = this.nextLt(s, pos);
    if (lt === s.length) {
      this.text += s.slice(pos);
      return lt;
    }
    if (this.text.length !== 0) {
      // Continued from an earlier chunk: the lookahead only covers this one, check it all.
      const raw = this.text + s.slice(pos, lt);
      this.text = "";
      this.addText(raw, raw.indexOf("\r") !== -1, raw.indexOf("]]>") !== -1, raw.indexOf("&") !== -1);
    } else if (lt !== pos) {
      this.addText(s.slice(pos, lt), this.nextCr(s, pos) < lt, this.nextCdataEnd(s, pos) < lt, this.nextAmp(s, pos) < lt);
    }
    this.state = S_LT;
    return lt + 1;
  }

  /** Outside any stanza only whitespace may appear (keepalives); it is consumed, not buffered. */
  private scanBetween(s: string, pos: number): number {
    const len = s.length;
    for (; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (c === 60) {
        if (this.websocket && this.frameHasElement) this.fail("not-well-formed", "WebSocket frame contains more than one element");
        if (!this.websocket) {
          this.inUnit = true;
          this.unitFrom = pos;
          this.unitBytes = 0;
          this.unitStanza = "";
        }
        this.state = S_LT;
        return pos + 1;
      }
      if (!isWs(c)) {
        const where = this.streamOpen ? (this.websocket ? "outside an element" : "between stanzas") : "before the stream header";
        this.fail("not-well-formed", `text not allowed ${where} (found ${describeChar(c)})`);
      }
      this.declAllowed = false;
    }
    return pos;
  }

  private afterLt(s: string, pos: number): number {
    const c = s.charCodeAt(pos);
    const declAllowed = this.declAllowed;
    this.declAllowed = false;
    if (c === 63) {
      if (!declAllowed) this.fail("restricted-xml", "processing instruction not allowed (RFC 6120 §11.1)");
      this.state = S_PI;
      return pos + 1;
    }
    if (c === 47) {
      this.state = S_END_NAME;
      return pos + 1;
    }
    if (c === 33) {
      this.bang = "";
      this.state = S_BANG;
      return pos + 1;
    }
    if (!isNameStart(c)) this.fail("not-well-formed", `invalid character ${describeChar(c)} after '<'`);
    this.state = S_NAME;
    return pos;
  }

  /** Appends s[pos, end) (just scanned by nameEnd) to the name being read, enforcing maxNameLength. */
  private growName(current: string, s: string, pos: number, end: number): string {
    if (current.length + end - pos > this.limits.maxNameLength) {
      this.fail("policy-violation", `name longer than ${this.limits.maxNameLength} characters`);
    }
    if (current.length === 0 && end < s.length) return internName(s, pos, end); // whole name in this chunk
    return current + s.slice(pos, end);
  }

  private scanElementName(s: string, pos: number): number {
    const end = nameEnd(s, pos);
    this.name = this.growName(this.name, s, pos, end);
    if (end === s.length) return end;
    const c = s.charCodeAt(end);
    this.attrs = {};
    this.attrCount = 0;
    this.nsDeclCount = 0;
    this.prefixedAttrCount = 0;
    this.defaultNs = null;
    if (isWs(c)) {
      this.sawSpace = true;
      this.state = S_TAG;
    } else if (c === 62) {
      this.openTag(s, end, false);
    } else if (c === 47) {
      this.state = S_SLASH;
    } else {
      this.fail("not-well-formed", `invalid character ${describeChar(c)} in element name <${this.name}`);
    }
    return end + 1;
  }

  private scanTag(s: string, pos: number): number {
    const len = s.length;
    let sawSpace = this.sawSpace;
    for (; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isWs(c)) {
        sawSpace = true;
        continue;
      }
      if (this.inDecl) {
        if (c === 63) {
          this.state = S_DECL_END;
          return pos + 1;
        }
      } else if (c === 62) {
        this.openTag(s, pos, false);
        return pos + 1;
      } else if (c === 47) {
        this.state = S_SLASH;
        return pos + 1;
      }
      if (!isNameStart(c)) this.fail("not-well-formed", `invalid character ${describeChar(c)} in tag <${this.name}>`);
      if (!sawSpace) this.fail("not-well-formed", `missing whitespace between attributes in <${this.name}>`);
      this.attrName = "";
      this.state = S_ATTR_NAME;
      return pos;
    }
    this.sawSpace = sawSpace;
    return pos;
  }

  private scanAttrName(s: string, pos: number): number {
    const end = nameEnd(s, pos);
    this.attrName = this.growName(this.attrName, s, pos, end);
    if (end === s.length) return end;
    const c = s.charCodeAt(end);
    if (c === 61) this.state = S_ATTR_QUOTE;
    else if (isWs(c)) this.state = S_ATTR_EQ;
    else this.fail("not-well-formed", `attribute "${this.attrName}" in <${this.name}> has no value`);
    return end + 1;
  }

  private scanAttrEq(s: string, pos: number): number {
    const len = s.length;
    for (; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isWs(c)) continue;
      if (c !== 61) this.fail("not-well-formed", `attribute "${this.attrName}" in <${this.name}> has no value`);
      this.state = S_ATTR_QUOTE;
      return pos + 1;
    }
    return pos;
  }

  private scanAttrQuote(s: string, pos: number): number {
    const len = s.length;
    for (; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isWs(c)) continue;
      if (c !== 34 && c !== 39) this.fail("not-well-formed", `value of attribute "${this.attrName}" in <${this.name}> must be quoted`);
      this.quote = c === 34 ? '"' : "'";
      this.value = "";
      this.state = S_ATTR_VALUE;
      return pos + 1;
    }
    return pos;
  }

  private scanAttrValue(s: string, pos: number): number {
    const q = indexOrEnd(s, this.quote, pos);
    if (this.nextLt(s, pos) < q) this.fail("not-well-formed", `'<' in value of attribute "${this.attrName}" in <${this.name}>`);
    const special = this.nextAmp(s, pos) < q || this.nextTabLf(s, pos) < q || this.nextCr(s, pos) < q;
    if (q === s.length) {
      this.value += s.slice(pos);
      this.valueSpecial ||= special;
      return q;
    }
    let raw = s.slice(pos, q);
    if (this.value.length !== 0) {
      raw = this.value + raw;
      this.value = "";
    }
    this.addAttr(this.attrName, special || this.valueSpecial ? this.normalizeAttrValue(raw) : raw);
    this.valueSpecial = false;
    this.sawSpace = false;
    this.state = S_TAG;
    return q + 1;
  }

  private addAttr(name: string, value: string): void {
    const n = this.attrCount;
    if (n === this.limits.maxAttributes) {
      this.fail("policy-violation", `<${this.name}> has more than ${this.limits.maxAttributes} attributes`);
    }
    // A linear scan of a few names beats a lookup in the attrs object, whose shape varies
    // from tag to tag (and would see Object.prototype members such as "constructor").
    const names = this.attrNames;
    for (let i = 0; i < n; i++) {
      if (names[i] === name) this.fail("not-well-formed", `duplicate attribute "${name}" in <${this.name}>`);
    }
    names[n] = name;
    this.attrCount = n + 1;
    const attrs = this.attrs!;
    // Plain assignment to "__proto__" would be silently dropped by the prototype setter.
    if (name === "__proto__") Object.defineProperty(attrs, name, { value, enumerable: true, writable: true, configurable: true });
    else attrs[name] = value;
    if (name.charCodeAt(0) === 120 /* x */ && name.startsWith("xmlns")) {
      if (name.length === 5) this.defaultNs = value;
      else if (name.charCodeAt(5) === 58) this.nsDeclCount++;
      else if (name.indexOf(":") !== -1) this.prefixedAttrCount++;
    } else if (name.indexOf(":") !== -1) {
      this.prefixedAttrCount++;
    }
  }

  /** Attribute-value normalisation (XML 1.0 §3.3.3): literal tab/CR/LF become spaces, then references. */
  private normalizeAttrValue(raw: string): string {
    if (this.inDecl) return raw; // pseudo-attributes are checked against fixed patterns
    let v = raw;
    if (/[\t\n\r]/.test(v)) v = v.replace(/\r\n?|[\n\t]/g, " ");
    return v.indexOf("&") === -1 ? v : this.decodeReferences(v);
  }

  private addText(raw: string, hasCr: boolean, hasCdataEnd: boolean, hasAmp: boolean): void {
    let t = raw;
    if (hasCr) t = t.replace(/\r\n?/g, "\n"); // end-of-line handling, XML 1.0 §2.11
    if (hasCdataEnd) this.fail("not-well-formed", "']]>' is not allowed in character data");
    if (hasAmp) t = this.decodeReferences(t);
    this.appendText(t);
  }

  /** Adjacent text (split by CDATA sections) becomes one string child. */
  private appendText(t: string): void {
    if (t.length === 0) return;
    const parent = this.stack[this.stack.length - 1];
    const children = parent.children;
    const n = children.length;
    if (n === 0) parent.children = [t]; // exact size (see openTag)
    else if (typeof children[n - 1] === "string") children[n - 1] += t;
    else children.push(t);
  }

  /** The five predefined entities and character references; nothing else exists without a DTD. */
  private decodeReferences(s: string): string {
    let out = "";
    let last = 0;
    let amp = s.indexOf("&");
    while (amp !== -1) {
      const semi = s.indexOf(";", amp + 1);
      // Names are bounded by maxNameLength; a far-away ';' means the '&' was never a reference.
      if (semi === -1 || semi - amp > this.limits.maxNameLength + 2) {
        this.fail("not-well-formed", `unescaped '&' or unterminated reference near "${s.slice(amp, amp + 16)}"`);
      }
      const ref = s.slice(amp + 1, semi);
      let ch: string;
      switch (ref) {
        case "lt": ch = "<"; break;
        case "gt": ch = ">"; break;
        case "amp": ch = "&"; break;
        case "quot": ch = '"'; break;
        case "apos": ch = "'"; break;
        default:
          ch = ref.charCodeAt(0) === 35 /* # */ ? this.decodeCharRef(ref) : this.failEntity(ref);
      }
      out += s.slice(last, amp) + ch;
      last = semi + 1;
      amp = s.indexOf("&", last);
    }
    return out + s.slice(last);
  }

  private decodeCharRef(ref: string): string {
    const hex = ref.charCodeAt(1) === 120; /* x */
    const digits = hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
    const body = ref.slice(hex ? 2 : 1);
    if (!digits.test(body)) this.fail("not-well-formed", `malformed character reference "&${ref};"`);
    const cp = parseInt(body, hex ? 16 : 10); // long digit strings overflow to huge/Infinity: rejected below
    if (!isXmlChar(cp)) this.fail("not-well-formed", `character reference "&${ref.slice(0, 16)};" is not an XML character`);
    return String.fromCodePoint(cp);
  }

  private failEntity(ref: string): never {
    this.fail("not-well-formed", `undefined entity "&${ref.slice(0, 32)};" (only the five predefined entities exist; DTDs are refused)`);
  }

  private scanEndName(s: string, pos: number): number {
    if (this.name.length === 0) {
      // Fast path: the end tag names the open element, as it nearly always does.
      const n = this.stack.length;
      if (n !== 0) {
        const open = this.stack[n - 1].name;
        const end = pos + open.length;
        if (s.charCodeAt(end) === 62 && s.startsWith(open, pos)) {
          this.name = open;
          this.closeTag(s, end);
          return end + 1;
        }
      }
    }
    if (this.name.length === 0 && !isNameStart(s.charCodeAt(pos))) {
      this.fail("not-well-formed", `invalid character ${describeChar(s.charCodeAt(pos))} after '</'`);
    }
    const end = nameEnd(s, pos);
    this.name = this.growName(this.name, s, pos, end);
    if (end === s.length) return end;
    const c = s.charCodeAt(end);
    if (c === 62) this.closeTag(s, end);
    else if (isWs(c)) this.state = S_END_TAG;
    else this.fail("not-well-formed", `invalid character ${describeChar(c)} in end tag </${this.name}`);
    return end + 1;
  }

  private scanEndTag(s: string, pos: number): number {
    const len = s.length;
    for (; pos < len; pos++) {
      const c = s.charCodeAt(pos);
      if (isWs(c)) continue;
      if (c !== 62) this.fail("not-well-formed", `expected '>' in end tag </${this.name}`);
      this.closeTag(s, pos);
      return pos + 1;
    }
    return pos;
  }

  /** Recognises what follows '<!' one character at a time, so it may be split across chunks. */
  private scanBang(s: string, pos: number): number {
    const len = s.length;
    while (pos < len) {
      const b = this.bang + s[pos++];
      this.bang = b;
      switch (b) {
        case "--":
          this.fail("restricted-xml", "comment not allowed (RFC 6120 §11.1)");
        case "DOCTYPE":
          this.fail("restricted-xml", "DOCTYPE (document type declaration) not allowed (RFC 6120 §11.1)");
        case "ENTITY":
          this.fail("restricted-xml", "entity declaration not allowed (RFC 6120 §11.1)");
        case "ELEMENT":
        case "ATTLIST":
        case "NOTATION":
          this.fail("restricted-xml", `DTD declaration <!${b} not allowed (RFC 6120 §11.1)`);
        case "[CDATA[":
          if (this.stack.length === 0) this.fail("not-well-formed", "CDATA section outside a stanza");
          this.cdata = "";
          this.cdataCarried = false;
          this.state = S_CDATA;
          return pos;
      }
      if (!BANG_KEYWORDS.some((k) => k.startsWith(b))) this.fail("not-well-formed", `invalid markup "<!${b}"`);
    }
    return pos;
  }

  private scanCdata(s: string, pos: number): number {
    if (this.cdataCarried) {
      // ']]>' may straddle the chunk boundary: the carried piece ends in ']' or ']]'.
      const carried = this.cdata;
      const n = carried.length;
      if (n >= 2 && carried.charCodeAt(n - 1) === 93 && carried.charCodeAt(n - 2) === 93 && s.charCodeAt(pos) === 62) {
        return this.endCdata(carried.slice(0, n - 2), pos + 1);
      }
      if (n >= 1 && carried.charCodeAt(n - 1) === 93 && s.charCodeAt(pos) === 93 && s.charCodeAt(pos + 1) === 62) {
        return this.endCdata(carried.slice(0, n - 1), pos + 2);
      }
    }
    const end = s.indexOf("]]>", pos);
    if (end === -1) {
      this.cdata += s.slice(pos);
      this.cdataCarried = true;
      return s.length;
    }
    return this.endCdata(this.cdata + s.slice(pos, end), end + 3);
  }

  private endCdata(content: string, next: number): number {
    this.cdata = "";
    this.cdataCarried = false;
    this.state = S_TEXT;
    this.appendText(content.indexOf("\r") === -1 ? content : content.replace(/\r\n?/g, "\n"));
    return next;
  }

  /** '<?' is only reached where the XML declaration may stand (start of stream or frame). */
  private scanPiTarget(s: string, pos: number): number {
    const end = nameEnd(s, pos);
    this.name = this.growName(this.name, s, pos, end);
    if (end === s.length) return end;
    const target = this.name;
    this.name = "";
    if (target !== "xml") {
      this.fail("restricted-xml", `processing instruction <?${target.slice(0, 32)} not allowed (RFC 6120 §11.1)`);
    }
    if (!isWs(s.charCodeAt(end))) this.fail("not-well-formed", "malformed XML declaration");
    this.name = "?xml"; // for error messages
    this.attrs = {};
    this.attrCount = 0;
    this.inDecl = true;
    this.sawSpace = true;
    this.state = S_TAG;
    return end + 1;
  }

  /** XML 1.0 §2.8: version, then optional encoding, then optional standalone, in this order. */
  private endDecl(s: string, pos: number): void {
    const attrs = this.attrs!;
    const keys = Object.keys(attrs);
    this.attrs = null;
    this.name = "";
    this.inDecl = false;
    this.state = S_TEXT;
    const order = ["version", "encoding", "standalone"];
    let k = 0;
    for (const key of keys) {
      while (k < order.length && order[k] !== key) k++;
      if (k === order.length) this.fail("not-well-formed", `"${key}" is unknown or out of order in the XML declaration`);
    }
    if (keys[0] !== "version" || !/^1\.[0-9]+$/.test(attrs.version)) {
      this.fail("not-well-formed", "XML declaration must start with version=\"1.0\"");
    }
    const enc = attrs.encoding;
    if (enc !== undefined && !/^utf-?8$/i.test(enc)) {
      this.fail("unsupported-encoding", `encoding "${enc.slice(0, 32)}" is not supported; RFC 6120 §11.6 requires UTF-8`);
    }
    const sa = attrs.standalone;
    if (sa !== undefined && sa !== "yes" && sa !== "no") this.fail("not-well-formed", 'standalone must be "yes" or "no"');
    this.endUnit(s, pos);
  }

  // ---- elements -------------------------------------------------------------------------

  /** A start tag ended at s[pos] ('>'). */
  private openTag(s: string, pos: number, selfClosing: boolean): void {
    const name = this.name;
    const attrs = this.attrs!;
    this.name = "";
    this.attrs = null;
    this.state = S_TEXT;
    if (!this.streamOpen && !this.websocket) return this.openStream(s, pos, name, attrs, selfClosing);

    const level = this.stack.length + 1;
    if (level > this.limits.maxDepth) {
      this.fail("policy-violation", `elements nested deeper than ${this.limits.maxDepth} levels`);
    }
    if (level === 1) this.unitStanza = name;
    if (level === 1 && this.websocket) {
      if (!this.streamOpen && name !== "open") {
        this.fail("invalid-namespace", `expected <open xmlns='${NS_FRAMING}'/>, got <${name}>`);
      }
      this.frameHasElement = true;
    }
    this.declareNamespaces(name, attrs, level);
    // Cheap early bound (one UTF-16 unit is at least one byte); the exact check is at the end.
    if (this.inUnit && this.unitBytes + (pos + 1 - this.unitFrom) > this.limits.maxStanzaBytes) this.failTooLarge();

    const el = new Element(name, attrs);
    if (level > 1) {
      // A first child gets an exact-size array: push() onto an empty array reserves 17 slots
      // (152 bytes) that stay with the element as long as it lives (e.g. a session's stored
      // presence), and most elements have a single child. It is also less to allocate per stanza.
      const parent = this.stack[level - 2];
      if (parent.children.length === 0) parent.children = [el];
      else parent.children.push(el);
    }
    this.stack.push(el);
    if (selfClosing) this.closeElement(s, pos);
  }

  private openStream(s: string, pos: number, name: string, attrs: Attrs, selfClosing: boolean): void {
    // Checked before namespace well-formedness so that a missing xmlns:stream reads as what it is.
    const colon = name.indexOf(":");
    const local = colon === -1 ? name : name.slice(colon + 1);
    const ns = colon === -1 ? attrs.xmlns : attrs["xmlns:" + name.slice(0, colon)];
    if (local !== "stream" || ns !== NS_STREAMS) {
      this.fail(
        "invalid-namespace",
        `stream header must be <stream:stream> in namespace ${NS_STREAMS}, got <${name}>` +
          (ns === undefined ? " with an undeclared namespace" : ` in namespace "${ns}"`),
      );
    }
    this.declareNamespaces(name, attrs, 0);
    this.endUnit(s, pos);
    this.streamOpen = true;
    this.rootName = name;
    const gen = this.generation;
    this.events.streamStart(name, attrs);
    if (selfClosing && gen === this.generation && !this.stopped) this.endStream();
  }

  private closeTag(s: string, pos: number): void {
    const name = this.name;
    this.name = "";
    this.state = S_TEXT;
    const n = this.stack.length;
    if (n === 0) {
      if (!this.websocket && this.streamOpen && name === this.rootName) {
        this.endUnit(s, pos);
        return this.endStream();
      }
      this.fail("not-well-formed", `unexpected end tag </${name}>` + (this.rootName ? ` (stream is <${this.rootName}>)` : ""));
    }
    const open = this.stack[n - 1].name;
    if (open !== name) this.fail("not-well-formed", `mismatched end tag: expected </${open}>, got </${name}>`);
    this.closeElement(s, pos);
  }

  /** The innermost open element ended at s[pos]. */
  private closeElement(s: string, pos: number): void {
    const el = this.stack.pop()!;
    const level = this.stack.length + 1;
    const ns = this.nsLevel;
    while (ns.length !== 0 && ns[ns.length - 1] === level) {
      ns.pop();
      this.nsScopes.get(this.nsDeclared.pop()!)!.pop();
    }
    if (level !== 1) return;
    if (!this.websocket) {
      this.endUnit(s, pos);
      this.events.stanza(el);
    } else if (el.name === "open" || el.name === "close") {
      if (el.attrs.xmlns !== NS_FRAMING) {
        this.fail("invalid-namespace", `<${el.name}/> must be in namespace ${NS_FRAMING} (RFC 7395)`);
      }
      if (el.name === "close") return this.endStream();
      this.streamOpen = true; // a later <open/> is a stream restart (RFC 7395 §3.5)
      this.events.streamStart(el.name, el.attrs);
    } else {
      this.events.stanza(el);
    }
  }

  private endStream(): void {
    this.stopped = true;
    this.events.streamEnd();
  }

  private endUnit(s: string, pos: number): void {
    if (!this.inUnit) return; // WebSocket frames were measured whole
    const units = pos + 1 - this.unitFrom;
    // A UTF-16 unit is 1 to 3 bytes (a surrogate pair is 4): count exactly only near the limit.
    const max = this.limits.maxStanzaBytes;
    if (this.unitBytes + (this.ascii ? units : 3 * units) > max && this.unitBytes + utf8Length(s, this.unitFrom, pos + 1) > max) {
      this.failTooLarge();
    }
    this.inUnit = false;
    this.unitBytes = 0;
  }

  private failTooLarge(): never {
    const max = this.limits.maxStanzaBytes;
    if (this.unitStanza !== "") this.fail("policy-violation", `stanza <${this.unitStanza}> exceeds ${max} bytes`);
    this.fail("policy-violation", (this.streamOpen ? "element" : "stream header") + ` exceeds ${max} bytes`);
  }

  // ---- namespaces (Namespaces in XML 1.0) ----------------------------------------------

  private lookupPrefix(prefix: string): string | undefined {
    if (prefix === "xml") return NS_XML;
    return this.nsScopes.get(prefix)?.at(-1);
  }

  /** Binds this tag's prefixes, then checks that every prefix it uses is bound. */
  private declareNamespaces(name: string, attrs: Attrs, level: number): void {
    if (this.nsDeclCount !== 0) {
      for (const key in attrs) {
        if (key.length < 6 || !key.startsWith("xmlns:")) continue;
        const prefix = key.slice(6);
        // The stream header's xmlns:stream stays bound for the life of the stream: keep the
        // literal, not a slice of the first chunk (which would keep that whole chunk alive).
        const uri = attrs[key] === NS_STREAMS ? NS_STREAMS : attrs[key];
        this.checkNcName(prefix, key);
        if (prefix === "xmlns") this.fail("not-well-formed", 'the "xmlns" prefix must not be declared');
        if ((prefix === "xml") !== (uri === NS_XML) || uri === NS_XMLNS) {
          this.fail("not-well-formed", `prefix "${prefix}" may not be bound to "${uri}"`);
        }
        if (uri === "") this.fail("not-well-formed", `namespace prefix "${prefix}" bound to an empty name`);
        const uris = this.nsScopes.get(prefix);
        if (uris === undefined) this.nsScopes.set(prefix, [uri]);
        else uris.push(uri);
        this.nsDeclared.push(prefix);
        this.nsLevel.push(level);
      }
    }
    const dflt = this.defaultNs;
    if (dflt !== null && (dflt === NS_XML || dflt === NS_XMLNS)) this.fail("not-well-formed", `"${dflt}" cannot be the default namespace`);

    const colon = name.indexOf(":");
    if (colon !== -1) {
      const prefix = this.checkQName(name, colon);
      if (prefix === "xmlns") this.fail("not-well-formed", `element <${name}> uses the reserved "xmlns" prefix`);
      if (this.lookupPrefix(prefix) === undefined) this.fail("not-well-formed", `unbound namespace prefix "${prefix}" in <${name}>`);
    }
    if (this.prefixedAttrCount !== 0) this.checkPrefixedAttrs(name, attrs);
  }

  private checkPrefixedAttrs(name: string, attrs: Attrs): void {
    const seen = this.prefixedAttrCount > 1 ? new Set<string>() : null;
    for (const key in attrs) {
      const colon = key.indexOf(":");
      if (colon === -1 || key.startsWith("xmlns:")) continue;
      const prefix = this.checkQName(key, colon);
      const uri = this.lookupPrefix(prefix);
      if (uri === undefined) this.fail("not-well-formed", `unbound namespace prefix "${prefix}" on attribute "${key}" of <${name}>`);
      if (seen !== null) {
        // Two prefixes bound to one namespace make the same attribute twice (NSC: Attributes Unique).
        const expanded = uri + " " + key.slice(colon + 1);
        if (seen.has(expanded)) this.fail("not-well-formed", `attribute "${key}" of <${name}> repeats a namespaced attribute`);
        seen.add(expanded);
      }
    }
  }

  /** prefix:local with both parts NCNames; returns the prefix. */
  private checkQName(qname: string, colon: number): string {
    const prefix = qname.slice(0, colon);
    this.checkNcName(prefix, qname);
    this.checkNcName(qname.slice(colon + 1), qname);
    return prefix;
  }

  private checkNcName(part: string, qname: string): void {
    if (part.length === 0 || part.indexOf(":") !== -1 || !isNameStart(part.charCodeAt(0))) {
      this.fail("not-well-formed", `"${qname}" is not a valid qualified name`);
    }
  }
}
