// XMPP addresses (JIDs) per RFC 7622: localpart@domainpart/resourcepart.
// Every Jid holds its parts already prepared and enforced (canonical), so comparison is
// plain string equality. See docs/jid.md for the exact rules and the deviations.

import { domainToASCII, domainToUnicode } from "node:url";
import { isIPv4, isIPv6 } from "node:net";
import { PrecisError, describeCodePoint, enforceOpaqueString, enforceUsernameCaseMapped, utf8Length } from "./precis.ts";

export type JidPart = "localpart" | "domainpart" | "resourcepart" | "jid";

export class JidError extends Error {
  readonly condition = "jid-malformed";
  /** Which part of the address is wrong ("jid" when the address as a whole is). */
  readonly part: JidPart;

  constructor(part: JidPart, message: string) {
    super(message);
    this.name = "JidError";
    this.part = part;
  }
}

/** RFC 7622 §3.3/§3.4/§3.2: each part is at most 1023 octets of UTF-8. */
export const MAX_PART_BYTES = 1023;
/** Inputs longer than this (UTF-16 units) are rejected before any Unicode processing. */
const MAX_INPUT_UNITS = 4 * 1024;
const MAX_JID_UNITS = 3 * MAX_INPUT_UNITS + 2;

function quote(s: string): string {
  const q = JSON.stringify(s.length > 64 ? s.slice(0, 64) + "…" : s);
  return q;
}

function precisFail(part: JidPart, input: string, e: unknown): never {
  if (e instanceof PrecisError) throw new JidError(part, `invalid ${part} ${quote(input)}: ${e.message}`);
  throw e;
}

function checkLength(part: JidPart, input: string, out: string): void {
  const n = utf8Length(out);
  if (n > MAX_PART_BYTES) {
    throw new JidError(part, `invalid ${part} ${quote(input)}: longer than ${MAX_PART_BYTES} bytes of UTF-8 (${n})`);
  }
}

// ---------------------------------------------------------------------------
// localpart: PRECIS UsernameCaseMapped (RFC 8265 §3.3) + RFC 7622 §3.3.1 exclusions

const LOCAL_EXCLUDED = /["&'/:<>@]/u;
// Plain lowercase ASCII without the excluded characters: already canonical.
const RE_LOCAL_FAST = /^[!#-%(-.0-9;=?[-~]+$/;

export function prepLocalpart(s: string): string {
  if (s.length === 0) throw new JidError("localpart", "empty localpart");
  if (s.length <= MAX_PART_BYTES && RE_LOCAL_FAST.test(s)) return s;
  if (s.length > MAX_INPUT_UNITS) throw new JidError("localpart", `localpart is too long (${s.length} characters)`);
  let out: string;
  try {
    out = enforceUsernameCaseMapped(s);
  } catch (e) {
    precisFail("localpart", s, e);
  }
  const bad = LOCAL_EXCLUDED.exec(out);
  if (bad !== null) {
    throw new JidError(
      "localpart",
      `invalid localpart ${quote(s)}: ${describeCodePoint(bad[0].codePointAt(0)!)} is not allowed ` +
        `(RFC 7622 forbids " & ' / : < > @ in a localpart; XEP-0106 escaping can represent them)`,
    );
  }
  checkLength("localpart", s, out);
  return out;
}

// ---------------------------------------------------------------------------
// resourcepart: PRECIS OpaqueString (RFC 8265 §4.2)

const RE_RESOURCE_FAST = /^[\x20-\x7e]+$/;

export function prepResource(s: string): string {
  if (s.length === 0) throw new JidError("resourcepart", "empty resourcepart");
  if (s.length <= MAX_PART_BYTES && RE_RESOURCE_FAST.test(s)) return s;
  if (s.length > MAX_INPUT_UNITS) throw new JidError("resourcepart", `resourcepart is too long (${s.length} characters)`);
  let out: string;
  try {
    out = enforceOpaqueString(s);
  } catch (e) {
    precisFail("resourcepart", s, e);
  }
  checkLength("resourcepart", s, out);
  return out;
}

// ---------------------------------------------------------------------------
// domainpart: IP literal, IPv4 address, or a DNS name in U-label form (RFC 7622 §3.2)

const RE_ASCII_DOMAIN = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;
const RE_DOTTED_NUMERIC = /^[0-9.]+$/;
const RE_NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;
// Full stops that UTS #46 maps to "." (U+3002, U+FF0E, U+FF61).
const RE_LABEL_SEPARATOR = /[.\u3002\uFF0E\uFF61]/u;
const RE_TRAILING_SEPARATOR = /[.\u3002\uFF0E\uFF61]$/u;
const RE_NON_ASCII = /[^\x00-\x7f]/;

function domainFail(input: string, why: string): never {
  throw new JidError("domainpart", `invalid domainpart ${quote(input)}: ${why}`);
}

function checkAsciiLabel(input: string, label: string): void {
  if (label.length === 0) domainFail(input, "empty label (two consecutive dots, or a leading dot)");
  if (label.length > 63) domainFail(input, `label "${label.slice(0, 20)}…" is longer than 63 octets`);
  if (!/^[a-z0-9-]+$/.test(label)) {
    const c = /[^a-z0-9-]/.exec(label)![0];
    domainFail(input, `${describeCodePoint(c.codePointAt(0)!)} is not allowed in a domain name (letters, digits and hyphens only)`);
  }
  if (label.startsWith("-") || label.endsWith("-")) domainFail(input, `label "${label}" starts or ends with a hyphen`);
  if (label.length >= 4 && label[2] === "-" && label[3] === "-") {
    if (!label.startsWith("xn--")) domainFail(input, `label "${label}" has hyphens in the third and fourth positions`);
    // An A-label must decode to a non-ASCII U-label that encodes back to exactly itself.
    const u = domainToUnicode(label);
    if (u === label || !RE_NON_ASCII.test(u) || domainToASCII(u) !== label) {
      domainFail(input, `label "${label}" is not a valid IDNA A-label`);
    }
  }
}

function checkTopLabel(input: string, labels: string[]): void {
  if (labels.length > 1 && RE_NUMERIC_LABEL.test(labels[labels.length - 1])) {
    domainFail(input, "the last label is numeric but the domainpart is not an IPv4 address");
  }
}

export function prepDomain(s: string): string {
  if (s.length === 0) throw new JidError("domainpart", "empty domainpart");
  if (s.length > MAX_INPUT_UNITS) throw new JidError("domainpart", `domainpart is too long (${s.length} characters)`);

  // IP-literal (RFC 3986): [IPv6], canonicalised the way the WHATWG URL serializer does (RFC 5952 style).
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    const inner = s.endsWith("]") ? s.slice(1, -1) : "";
    if (!isIPv6(inner) || inner.includes("%")) domainFail(s, "not a valid IPv6 address literal");
    return new URL(`http://[${inner}]/`).hostname;
  }

  // A single trailing dot is removed (RFC 7622 §3.2).
  let d = s;
  if (RE_TRAILING_SEPARATOR.test(d)) d = d.slice(0, -1);
  if (d.length === 0) domainFail(s, "nothing but a dot");

  if (RE_DOTTED_NUMERIC.test(d)) {
    if (isIPv4(d)) return d;
    domainFail(s, "not a valid IPv4 address (four decimal numbers 0-255 without leading zeros)");
  }

  // Fast path: plain ASCII LDH names.
  const lower = RE_NON_ASCII.test(d) ? d : d.toLowerCase();
  if (RE_ASCII_DOMAIN.test(lower)) {
    const labels = lower.split(".");
    let hasALabel = false;
    for (const l of labels) {
      checkAsciiLabel(s, l);
      if (l.startsWith("xn--")) hasALabel = true;
    }
    checkTopLabel(s, labels);
    if (lower.length > MAX_PART_BYTES) domainFail(s, `longer than ${MAX_PART_BYTES} bytes`);
    if (!hasALabel) return lower;
    return domainToUnicode(lower); // A-labels are converted to U-labels (RFC 7622 §3.2.1)
  }

  // Internationalized (or invalid) names: UTS #46 processing via the WHATWG URL host parser.
  const inLabels = d.split(RE_LABEL_SEPARATOR);
  for (const l of inLabels) if (l.length === 0) domainFail(s, "empty label (two consecutive dots, or a leading dot)");
  const bad = /[\s"#%/:<>?@[\\\]^|]/u.exec(d);
  if (bad !== null) domainFail(s, `${describeCodePoint(bad[0].codePointAt(0)!)} is not allowed in a domain name`);
  const ascii = domainToASCII(d);
  if (ascii === "") domainFail(s, "not a valid internationalized domain name (IDNA2008/UTS #46 processing failed)");
  const labels = ascii.split(".");
  if (labels.length !== inLabels.length) {
    domainFail(s, "not a valid internationalized domain name (label structure changed during IDNA processing)");
  }
  for (const l of labels) checkAsciiLabel(s, l);
  checkTopLabel(s, labels);
  if (ascii.length > MAX_PART_BYTES) domainFail(s, `longer than ${MAX_PART_BYTES} bytes in ASCII form`);
  const unicode = domainToUnicode(ascii);
  if (utf8Length(unicode) > MAX_PART_BYTES) domainFail(s, `longer than ${MAX_PART_BYTES} bytes of UTF-8`);
  return unicode;
}

/** The ASCII (A-label) form of a prepared domainpart, for DNS and TLS name checks. */
export function domainToAsciiForm(domain: string): string {
  if (domain.startsWith("[") || !RE_NON_ASCII.test(domain)) return domain;
  return domainToASCII(domain);
}

// ---------------------------------------------------------------------------
// Jid

const TOKEN: unique symbol = Symbol("Jid");

export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  #bare: Jid | undefined;
  #full: string | undefined;
  #bareString: string | undefined;

  /** Internal: use Jid.parse or Jid.of, which prepare the parts. */
  constructor(token: typeof TOKEN, local: string, domain: string, resource: string) {
    if (token !== TOKEN) throw new TypeError("use Jid.parse() or Jid.of()");
    this.local = local;
    this.domain = domain;
    this.resource = resource;
    Object.freeze(this);
  }

  /** Parse a JID string (RFC 7622 §3.1). Throws JidError saying which part is wrong and why. */
  static parse(s: string): Jid {
    const hit = cacheGet(s);
    if (hit !== undefined) return hit;
    const jid = parseUncached(s);
    if (s.length <= MAX_CACHED_INPUT) cacheSet(s, jid);
    return jid;
  }

  /** Build a JID from raw parts, preparing each. An empty local or resource means "absent". */
  static of(local: string, domain: string, resource?: string): Jid {
    return new Jid(
      TOKEN,
      local === "" ? "" : prepLocalpart(local),
      prepDomain(domain),
      resource === undefined || resource === "" ? "" : prepResource(resource),
    );
  }

  get bare(): Jid {
    if (this.resource === "") return this;
    return (this.#bare ??= new Jid(TOKEN, this.local, this.domain, ""));
  }

  get isBare(): boolean {
    return this.resource === "";
  }

  get bareString(): string {
    // Cached like toString(): it is a Map key on every routed stanza (sessions, blocklists,
    // rosters …), and a fresh concatenation must be flattened and hashed at every lookup.
    return (this.#bareString ??= this.local === "" ? this.domain : `${this.local}@${this.domain}`);
  }

  toString(): string {
    return (this.#full ??= this.resource === "" ? this.bareString : `${this.bareString}/${this.resource}`);
  }

  toJSON(): string {
    return this.toString();
  }

  equals(o: Jid): boolean {
    return this === o || (this.local === o.local && this.domain === o.domain && this.resource === o.resource);
  }

  /** Same local and domain, with the given (prepared) resource; throws JidError on an empty or invalid one. */
  withResource(r: string): Jid {
    return new Jid(TOKEN, this.local, this.domain, prepResource(r));
  }
}

function parseUncached(s: string): Jid {
  if (typeof s !== "string") throw new JidError("jid", "a JID must be a string");
  if (s.length === 0) throw new JidError("jid", "empty JID");
  if (s.length > MAX_JID_UNITS) throw new JidError("jid", `JID is too long (${s.length} characters)`);
  // RFC 7622 §3.1: the resourcepart starts after the first "/"; in what precedes it, the
  // localpart ends at the first "@". A resourcepart may itself contain "/" and "@".
  const slash = s.indexOf("/");
  const head = slash < 0 ? s : s.slice(0, slash);
  const at = head.indexOf("@");
  let local = "";
  if (at >= 0) {
    if (at === 0) throw new JidError("localpart", `invalid JID ${quote(s)}: empty localpart before "@"`);
    local = prepLocalpart(head.slice(0, at));
  }
  const rawDomain = at >= 0 ? head.slice(at + 1) : head;
  if (rawDomain.length === 0) throw new JidError("domainpart", `invalid JID ${quote(s)}: empty domainpart`);
  if (rawDomain.includes("@")) {
    throw new JidError("domainpart", `invalid JID ${quote(s)}: a second "@" before the resourcepart`);
  }
  const domain = prepDomain(rawDomain);
  let resource = "";
  if (slash >= 0) {
    if (slash === s.length - 1) throw new JidError("resourcepart", `invalid JID ${quote(s)}: empty resourcepart after "/"`);
    resource = prepResource(s.slice(slash + 1));
  }
  return new Jid(TOKEN, local, domain, resource);
}

export function tryParseJid(s: string): Jid | undefined {
  try {
    return Jid.parse(s);
  } catch (e) {
    if (e instanceof JidError) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Parse cache: two generations of at most CACHE_GENERATION entries each (an O(1)
// approximation of LRU: a hit in the old generation is promoted; when the young one
// fills up, the old one is dropped). Jids are immutable, so sharing them is safe.

const CACHE_GENERATION = 5_000;
const MAX_CACHED_INPUT = 512;
let young = new Map<string, Jid>();
let old = new Map<string, Jid>();

function cacheGet(s: string): Jid | undefined {
  let j = young.get(s);
  if (j !== undefined) return j;
  j = old.get(s);
  if (j !== undefined) cacheSet(s, j);
  return j;
}

function cacheSet(s: string, j: Jid): void {
  if (young.size >= CACHE_GENERATION) {
    old = young;
    young = new Map();
  }
  young.set(s, j);
}

/** For tests and benchmarks. */
export function clearJidCache(): void {
  young = new Map();
  old = new Map();
}

export function jidCacheSize(): number {
  return young.size + old.size;
}
