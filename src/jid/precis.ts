// PRECIS (RFC 8264) string classes and the RFC 8265 profiles Parley needs:
//   UsernameCaseMapped (IdentifierClass)  — JID localparts, SASL usernames
//   OpaqueString       (FreeformClass)    — JID resourceparts, passwords
//
// The derived-property algorithm of RFC 8264 §8 is evaluated per code point with the
// Unicode property escapes of the JavaScript engine (General_Category, Script,
// Default_Ignorable_Code_Point, Noncharacter_Code_Point, Join_Control) plus NFKC for
// HasCompat, so the Unicode version is the engine's (Node 24: Unicode 17).
// Where JavaScript exposes no property (Bidi_Class, Joining_Type, Canonical_Combining_Class)
// the approximation used is described next to the code and in docs/jid.md.

export class PrecisError extends Error {
  /** The offending code point, when one is to blame. */
  readonly codePoint: number | undefined;
  /** Its index in code points (not UTF-16 units) within the string that was checked. */
  readonly index: number | undefined;
  /** Why, without quoting the string or the code point (safe to log for secrets). */
  readonly reason: string;

  constructor(message: string, codePoint?: number, index?: number, reason?: string) {
    super(message);
    this.name = "PrecisError";
    this.codePoint = codePoint;
    this.index = index;
    this.reason = reason ?? message;
  }
}

// ---------------------------------------------------------------------------
// Derived property (RFC 8264 §8 / §9)

/** Which rule of RFC 8264 §8 classified a code point (in evaluation order). */
export type PrecisCategory =
  | "exception-pvalid" // (F) Exceptions, PVALID
  | "exception-contexto" // (F) Exceptions, CONTEXTO
  | "exception-disallowed" // (F) Exceptions, DISALLOWED
  | "unassigned" // (J)
  | "ascii7" // (K) U+0021..U+007E
  | "join-control" // (H) CONTEXTJ
  | "old-hangul-jamo" // (I)
  | "ignorable" // (M) Default_Ignorable_Code_Point or Noncharacter_Code_Point
  | "control" // (L)
  | "has-compat" // (Q) toNFKC(cp) != cp
  | "letter-digit" // (A) Ll Lu Lo Nd Lm Mn Mc
  | "other-letter-digit" // (R) Lt Nl No Me
  | "space" // (N) Zs
  | "symbol" // (O) Sm Sc Sk So
  | "punctuation" // (P) Pc Pd Ps Pe Pi Pf Po
  | "other"; // everything else (Cf, Co, Cs, Zl, Zp): DISALLOWED

// RFC 5892 §2.6 Exceptions (F), which RFC 8264 §9.6 reuses.
const EXCEPTIONS = new Map<number, PrecisCategory>();
for (const cp of [0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]) EXCEPTIONS.set(cp, "exception-pvalid");
for (const cp of [0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb]) EXCEPTIONS.set(cp, "exception-contexto");
for (let cp = 0x0660; cp <= 0x0669; cp++) EXCEPTIONS.set(cp, "exception-contexto");
for (let cp = 0x06f0; cp <= 0x06f9; cp++) EXCEPTIONS.set(cp, "exception-contexto");
for (const cp of [0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]) {
  EXCEPTIONS.set(cp, "exception-disallowed");
}

const RE_UNASSIGNED = /^\p{Cn}$/u; // noncharacters are Cn too, but (M) disallows them just the same
const RE_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;
const RE_CONTROL = /^\p{Cc}$/u;
const RE_LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const RE_OTHER_LETTER_DIGIT = /^[\p{Lt}\p{Nl}\p{No}\p{Me}]$/u;
const RE_SPACE = /^\p{Zs}$/u;
const RE_SYMBOL = /^[\p{Sm}\p{Sc}\p{Sk}\p{So}]$/u;
const RE_PUNCTUATION = /^\p{P}$/u;

function isOldHangulJamo(cp: number): boolean {
  // Hangul_Syllable_Type L, V or T
  return (
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0xa960 && cp <= 0xa97c) ||
    (cp >= 0xd7b0 && cp <= 0xd7c6) ||
    (cp >= 0xd7cb && cp <= 0xd7fb)
  );
}

/** Classify one code point following the evaluation order of RFC 8264 §8. */
export function precisCategory(cp: number): PrecisCategory {
  const ex = EXCEPTIONS.get(cp);
  if (ex !== undefined) return ex;
  // (G) BackwardCompatible is empty.
  const ch = String.fromCodePoint(cp);
  if (RE_UNASSIGNED.test(ch) && !RE_IGNORABLE.test(ch)) return "unassigned";
  if (cp >= 0x21 && cp <= 0x7e) return "ascii7";
  if (cp === 0x200c || cp === 0x200d) return "join-control";
  if (isOldHangulJamo(cp)) return "old-hangul-jamo";
  if (RE_IGNORABLE.test(ch)) return "ignorable";
  if (RE_CONTROL.test(ch)) return "control";
  if (ch.normalize("NFKC") !== ch) return "has-compat";
  if (RE_LETTER_DIGIT.test(ch)) return "letter-digit";
  if (RE_OTHER_LETTER_DIGIT.test(ch)) return "other-letter-digit";
  if (RE_SPACE.test(ch)) return "space";
  if (RE_SYMBOL.test(ch)) return "symbol";
  if (RE_PUNCTUATION.test(ch)) return "punctuation";
  return "other";
}

type Validity = "valid" | "contextj" | "contexto" | "invalid";

function identifierValidity(cat: PrecisCategory): Validity {
  switch (cat) {
    case "exception-pvalid":
    case "ascii7":
    case "letter-digit":
      return "valid";
    case "exception-contexto":
      return "contexto";
    case "join-control":
      return "contextj";
    default:
      return "invalid";
  }
}

function freeformValidity(cat: PrecisCategory): Validity {
  switch (cat) {
    case "has-compat":
    case "other-letter-digit":
    case "space":
    case "symbol":
    case "punctuation":
      return "valid";
    default:
      return identifierValidity(cat);
  }
}

const WHY: Record<PrecisCategory, string> = {
  "exception-pvalid": "",
  "exception-contexto": "",
  "exception-disallowed": "it is explicitly disallowed (RFC 5892 exceptions)",
  unassigned: "it is an unassigned code point",
  ascii7: "",
  "join-control": "",
  "old-hangul-jamo": "old Hangul jamo are disallowed",
  ignorable: "default-ignorable and noncharacter code points are disallowed",
  control: "control characters are disallowed",
  "has-compat": "compatibility characters are disallowed here (use the character it stands for)",
  "letter-digit": "",
  "other-letter-digit": "titlecase letters, letter-like numbers, other numbers and enclosing marks are disallowed here",
  space: "spaces are disallowed here",
  symbol: "symbols are disallowed here",
  punctuation: "punctuation is disallowed here",
  other: "format, private-use, surrogate and line/paragraph separator code points are disallowed",
};

/** "U+00E9 'é'" — printable form for error messages (control and invisible code points are not echoed). */
export function describeCodePoint(cp: number): string {
  const hex = "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
  const ch = String.fromCodePoint(cp);
  if (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch)) return `${hex} '${ch}'`;
  return hex;
}

// ---------------------------------------------------------------------------
// Contextual rules (RFC 5892 Appendix A)

const viramaCache = new Map<number, boolean>();

/**
 * Canonical_Combining_Class(cp) == 9 (Virama). JavaScript does not expose ccc, so it is
 * measured through canonical reordering: NFD sorts adjacent non-starters by ccc, so
 * cp sorts after U+3099 (ccc 8) and before U+05B0 (ccc 10) exactly when its ccc is 9.
 */
export function isVirama(cp: number): boolean {
  let v = viramaCache.get(cp);
  if (v !== undefined) return v;
  const c = String.fromCodePoint(cp);
  v = false;
  if (cp !== 0x3099 && cp !== 0x05b0 && /^\p{M}$/u.test(c) && c.normalize("NFD") === c) {
    const gt8 = ("a" + c + "\u3099").normalize("NFD") === "a\u3099" + c;
    const lt10 = ("a\u05B0" + c).normalize("NFD") === "a" + c + "\u05B0";
    v = gt8 && lt10;
  }
  if (viramaCache.size < 4096) viramaCache.set(cp, v);
  return v;
}

const RE_GREEK = /^\p{Script=Greek}$/u;
const RE_HEBREW = /^\p{Script=Hebrew}$/u;
const RE_KANA_HAN = /^[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]$/u;

/** Returns a reason string when the contextual rule for cps[i] is not satisfied. */
function contextFailure(cps: number[], i: number): string | undefined {
  const cp = cps[i];
  const before = i > 0 ? cps[i - 1] : -1;
  const after = i + 1 < cps.length ? cps[i + 1] : -1;
  switch (cp) {
    case 0x200d: // ZERO WIDTH JOINER
      return before >= 0 && isVirama(before) ? undefined : "ZERO WIDTH JOINER is only allowed after a virama";
    case 0x200c: // ZERO WIDTH NON-JOINER
      // RFC 5892 A.1 also allows it between Joining_Type {L,D} and {R,D} letters; JavaScript has no
      // Joining_Type data, so only the virama context is accepted (stricter than the RFC).
      return before >= 0 && isVirama(before) ? undefined : "ZERO WIDTH NON-JOINER is only allowed after a virama";
    case 0x00b7: // MIDDLE DOT
      return before === 0x6c && after === 0x6c ? undefined : "MIDDLE DOT is only allowed between two 'l'";
    case 0x0375: // GREEK LOWER NUMERAL SIGN (KERAIA)
      return after >= 0 && RE_GREEK.test(String.fromCodePoint(after))
        ? undefined
        : "GREEK LOWER NUMERAL SIGN must be followed by a Greek character";
    case 0x05f3:
    case 0x05f4: // HEBREW PUNCTUATION GERESH / GERSHAYIM
      return before >= 0 && RE_HEBREW.test(String.fromCodePoint(before))
        ? undefined
        : "Hebrew geresh/gershayim must follow a Hebrew character";
    case 0x30fb: // KATAKANA MIDDLE DOT
      for (const c of cps) {
        if (c !== 0x30fb && RE_KANA_HAN.test(String.fromCodePoint(c))) return undefined;
      }
      return "KATAKANA MIDDLE DOT requires a Hiragana, Katakana or Han character in the string";
    default:
      if (cp >= 0x0660 && cp <= 0x0669) {
        return cps.some((c) => c >= 0x06f0 && c <= 0x06f9)
          ? "Arabic-Indic digits cannot be mixed with Extended Arabic-Indic digits"
          : undefined;
      }
      if (cp >= 0x06f0 && cp <= 0x06f9) {
        return cps.some((c) => c >= 0x0660 && c <= 0x0669)
          ? "Extended Arabic-Indic digits cannot be mixed with Arabic-Indic digits"
          : undefined;
      }
      return "no contextual rule is defined for this code point";
  }
}

function checkClass(s: string, identifier: boolean): void {
  const cps: number[] = [];
  for (const ch of s) cps.push(ch.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i];
    const cat = precisCategory(cp);
    const v = identifier ? identifierValidity(cat) : freeformValidity(cat);
    if (v === "valid") continue;
    if (v === "invalid") {
      throw new PrecisError(`disallowed character ${describeCodePoint(cp)} at position ${i + 1}: ${WHY[cat]}`, cp, i, WHY[cat]);
    }
    const why = contextFailure(cps, i);
    if (why !== undefined) {
      throw new PrecisError(`disallowed character ${describeCodePoint(cp)} at position ${i + 1}: ${why}`, cp, i, why);
    }
  }
}

// ---------------------------------------------------------------------------
// Width mapping (RFC 8265 §3.3.1 step 1): fullwidth and halfwidth code points map to their
// decomposition mappings. Generated from UnicodeData.txt: every code point whose
// decomposition type is <wide> or <narrow> (unchanged since Unicode 3.2), as runs
// [first, last, mapping of first] where the mapping increases with the code point.
const WIDTH_RUNS: ReadonlyArray<readonly [number, number, number]> = [
  [0x3000, 0x3000, 0x20], [0xff01, 0xff5e, 0x21], [0xff5f, 0xff60, 0x2985], [0xff61, 0xff61, 0x3002],
  [0xff62, 0xff63, 0x300c], [0xff64, 0xff64, 0x3001], [0xff65, 0xff65, 0x30fb], [0xff66, 0xff66, 0x30f2],
  [0xff67, 0xff67, 0x30a1], [0xff68, 0xff68, 0x30a3], [0xff69, 0xff69, 0x30a5], [0xff6a, 0xff6a, 0x30a7],
  [0xff6b, 0xff6b, 0x30a9], [0xff6c, 0xff6c, 0x30e3], [0xff6d, 0xff6d, 0x30e5], [0xff6e, 0xff6e, 0x30e7],
  [0xff6f, 0xff6f, 0x30c3], [0xff70, 0xff70, 0x30fc], [0xff71, 0xff71, 0x30a2], [0xff72, 0xff72, 0x30a4],
  [0xff73, 0xff73, 0x30a6], [0xff74, 0xff74, 0x30a8], [0xff75, 0xff76, 0x30aa], [0xff77, 0xff77, 0x30ad],
  [0xff78, 0xff78, 0x30af], [0xff79, 0xff79, 0x30b1], [0xff7a, 0xff7a, 0x30b3], [0xff7b, 0xff7b, 0x30b5],
  [0xff7c, 0xff7c, 0x30b7], [0xff7d, 0xff7d, 0x30b9], [0xff7e, 0xff7e, 0x30bb], [0xff7f, 0xff7f, 0x30bd],
  [0xff80, 0xff80, 0x30bf], [0xff81, 0xff81, 0x30c1], [0xff82, 0xff82, 0x30c4], [0xff83, 0xff83, 0x30c6],
  [0xff84, 0xff84, 0x30c8], [0xff85, 0xff8a, 0x30ca], [0xff8b, 0xff8b, 0x30d2], [0xff8c, 0xff8c, 0x30d5],
  [0xff8d, 0xff8d, 0x30d8], [0xff8e, 0xff8e, 0x30db], [0xff8f, 0xff93, 0x30de], [0xff94, 0xff94, 0x30e4],
  [0xff95, 0xff95, 0x30e6], [0xff96, 0xff9b, 0x30e8], [0xff9c, 0xff9c, 0x30ef], [0xff9d, 0xff9d, 0x30f3],
  [0xff9e, 0xff9f, 0x3099], [0xffa0, 0xffa0, 0x3164], [0xffa1, 0xffbe, 0x3131], [0xffc2, 0xffc7, 0x314f],
  [0xffca, 0xffcf, 0x3155], [0xffd2, 0xffd7, 0x315b], [0xffda, 0xffdc, 0x3161], [0xffe0, 0xffe1, 0xa2],
  [0xffe2, 0xffe2, 0xac], [0xffe3, 0xffe3, 0xaf], [0xffe4, 0xffe4, 0xa6], [0xffe5, 0xffe5, 0xa5],
  [0xffe6, 0xffe6, 0x20a9], [0xffe8, 0xffe8, 0x2502], [0xffe9, 0xffec, 0x2190], [0xffed, 0xffed, 0x25a0],
  [0xffee, 0xffee, 0x25cb],
];

function widthMapCodePoint(cp: number): number {
  if (cp !== 0x3000 && (cp < 0xff01 || cp > 0xffee)) return cp;
  for (const [first, last, to] of WIDTH_RUNS) {
    if (cp >= first && cp <= last) return to + (cp - first);
  }
  return cp;
}

const RE_MAYBE_WIDE = /[\u3000\uFF01-\uFFEE]/;

export function widthMap(s: string): string {
  if (!RE_MAYBE_WIDE.test(s)) return s;
  let out = "";
  for (const ch of s) out += String.fromCodePoint(widthMapCodePoint(ch.codePointAt(0)!));
  return out;
}

// ---------------------------------------------------------------------------
// Bidi Rule (RFC 5893 §2), applied to strings containing right-to-left code points.
// JavaScript has no Bidi_Class property; the classes are derived from General_Category,
// Script and small code point lists. This is exact for the code points the
// IdentifierClass allows (checked against Python's unicodedata for Unicode 14, see
// docs/jid.md); for other code points it is an approximation, which does not matter
// because the class check rejects them first.

type Bidi = "L" | "R" | "AN" | "EN" | "ES" | "CS" | "ET" | "ON" | "NSM" | "BN";

const RTL_SCRIPTS = [
  "Adlam", "Arabic", "Avestan", "Chorasmian", "Cypriot", "Elymaic", "Garay", "Hanifi_Rohingya", "Hatran",
  "Hebrew", "Imperial_Aramaic", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Kharoshthi", "Lydian",
  "Mandaic", "Manichaean", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Nabataean", "Nko",
  "Old_Hungarian", "Old_North_Arabian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Old_Uyghur",
  "Palmyrene", "Phoenician", "Psalter_Pahlavi", "Samaritan", "Sidetic", "Sogdian", "Syriac", "Thaana", "Yezidi",
];
function scriptClassRegex(names: string[]): RegExp {
  // Built defensively: an engine without one of the newer scripts simply omits it.
  const parts: string[] = [];
  for (const n of names) {
    try {
      new RegExp(`\\p{Script=${n}}`, "u");
      parts.push(`\\p{Script=${n}}`);
    } catch {
      /* unknown to this engine */
    }
  }
  return new RegExp(`^[${parts.join("")}]$`, "u");
}
const RE_RTL_SCRIPT = scriptClassRegex(RTL_SCRIPTS);
const RE_NSM = /^[\p{Mn}\p{Me}]$/u;
const RE_L_LIKE = /^[\p{L}\p{Nd}\p{Mc}\p{Nl}]$/u;

function isAN(cp: number): boolean {
  return (
    (cp >= 0x0600 && cp <= 0x0605) || (cp >= 0x0660 && cp <= 0x0669) || cp === 0x066b || cp === 0x066c ||
    cp === 0x06dd || cp === 0x0890 || cp === 0x0891 || cp === 0x08e2 || (cp >= 0x10d30 && cp <= 0x10d39) ||
    (cp >= 0x10d40 && cp <= 0x10d49) || (cp >= 0x10e60 && cp <= 0x10e7e)
  );
}

function isEN(cp: number): boolean {
  return (
    (cp >= 0x30 && cp <= 0x39) || cp === 0xb2 || cp === 0xb3 || cp === 0xb9 || (cp >= 0x06f0 && cp <= 0x06f9) ||
    cp === 0x2070 || (cp >= 0x2074 && cp <= 0x2079) || (cp >= 0x2080 && cp <= 0x2089) ||
    (cp >= 0x2488 && cp <= 0x249b) || (cp >= 0xff10 && cp <= 0xff19) || (cp >= 0x102e1 && cp <= 0x102fb) ||
    (cp >= 0x1d7ce && cp <= 0x1d7ff) || (cp >= 0x1f100 && cp <= 0x1f10a) || (cp >= 0x1fbf0 && cp <= 0x1fbf9)
  );
}

// Code points whose Bidi_Class differs from what the rules below derive (found by comparing
// every IdentifierClass-valid code point with Python's unicodedata, Unicode 14).
const BIDI_OVERRIDES = new Map<number, Bidi>();
for (const cp of [0x02b9, 0x02ba, 0x02ec, 0x2e2f, 0xa67f, 0xa788]) BIDI_OVERRIDES.set(cp, "ON");
for (let cp = 0x02c6; cp <= 0x02cf; cp++) BIDI_OVERRIDES.set(cp, "ON");
for (let cp = 0xa717; cp <= 0xa71f; cp++) BIDI_OVERRIDES.set(cp, "ON");
for (const cp of [0x0cbf, 0x0cc6, 0x0f0b, 0x11a07, 0x11a08, 0x11c3f]) BIDI_OVERRIDES.set(cp, "L");

export function bidiClass(cp: number): Bidi {
  if (cp < 0x80) {
    if (cp >= 0x30 && cp <= 0x39) return "EN";
    if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return "L";
    if (cp === 0x2b || cp === 0x2d) return "ES";
    if (cp === 0x2c || cp === 0x2e || cp === 0x2f || cp === 0x3a) return "CS";
    if (cp === 0x23 || cp === 0x24 || cp === 0x25) return "ET";
    if (cp < 0x20 || cp === 0x7f) return "BN";
    return "ON";
  }
  const o = BIDI_OVERRIDES.get(cp);
  if (o !== undefined) return o;
  if (isAN(cp)) return "AN";
  if (isEN(cp)) return "EN";
  const ch = String.fromCodePoint(cp);
  if (RE_NSM.test(ch)) return "NSM";
  if (cp === 0x200f) return "R"; // RIGHT-TO-LEFT MARK
  if (RE_RTL_SCRIPT.test(ch)) return "R";
  if (RE_L_LIKE.test(ch)) return "L";
  if (RE_IGNORABLE.test(ch) || RE_CONTROL.test(ch)) return "BN";
  return "ON";
}

function checkBidiRule(s: string): void {
  const classes: Bidi[] = [];
  let rtl = false;
  for (const ch of s) {
    const b = bidiClass(ch.codePointAt(0)!);
    if (b === "R" || b === "AN") rtl = true;
    classes.push(b);
  }
  if (!rtl) return; // the Bidi Rule applies only to strings containing RTL code points
  const fail = (why: string): never => {
    throw new PrecisError(`violates the Bidi Rule (RFC 5893): ${why}`);
  };
  const first = classes[0];
  if (first !== "R") {
    // An RTL string must start with an R/AL character (an L start makes it an LTR label,
    // which may not contain R/AL/AN at all).
    fail("a string containing right-to-left characters must start with a right-to-left letter");
  }
  let hasEN = false;
  let hasAN = false;
  for (const b of classes) {
    if (b === "L") fail("left-to-right characters cannot be mixed with right-to-left characters");
    if (b === "EN") hasEN = true;
    if (b === "AN") hasAN = true;
  }
  if (hasEN && hasAN) fail("European and Arabic-Indic digits cannot be mixed");
  let end = classes.length - 1;
  while (end > 0 && classes[end] === "NSM") end--;
  const last = classes[end];
  if (last !== "R" && last !== "EN" && last !== "AN") {
    fail("a right-to-left string must end with a right-to-left letter or a digit");
  }
}

// ---------------------------------------------------------------------------
// Profiles

/**
 * RFC 8264 §7: the rules are not guaranteed idempotent, so they are re-applied until the
 * output is stable; a string that is not stable after three further applications is rejected.
 */
function untilStable(s: string, rules: (s: string) => string): string {
  let out = rules(s);
  for (let i = 0; i < 3; i++) {
    const again = rules(out);
    if (again === out) return out;
    out = again;
  }
  throw new PrecisError("the string does not become stable under the profile's rules");
}

function usernameCaseMappedRules(s: string): string {
  // 1 width mapping, 2 additional mapping (none), 3 case mapping (Unicode toLowerCase), 4 NFC
  return widthMap(s).toLowerCase().normalize("NFC");
}

// Every ASCII string of PVALID code points other than A-Z is already in canonical form.
const RE_ASCII_PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * UsernameCaseMapped profile, enforcement (RFC 8265 §3.3.3): preparation (width mapping,
 * IdentifierClass check), then width mapping, toLowerCase, NFC (repeated until stable),
 * then the IdentifierClass check again on the result, the Bidi Rule, and non-emptiness.
 * Throws PrecisError.
 */
export function enforceUsernameCaseMapped(input: string): string {
  if (RE_ASCII_PRINTABLE.test(input)) return input.toLowerCase();
  if (input.length === 0) throw new PrecisError("the string is empty");
  // Preparation (RFC 8265 §3.3.2), which enforcement includes: width mapping, then every
  // code point must be valid in the IdentifierClass (so e.g. U+2126 OHM SIGN is rejected
  // here rather than being lowercased/normalised into ω).
  checkClass(widthMap(input), true);
  const out = untilStable(input, usernameCaseMappedRules);
  if (out.length === 0) throw new PrecisError("the string is empty after preparation");
  checkClass(out, true);
  checkBidiRule(out);
  return out;
}

// Zs other than U+0020 (RFC 8265 §4.2.1 additional mapping rule: non-ASCII space → SPACE).
const RE_NON_ASCII_SPACE = /[^\P{Zs} ]/gu;

function opaqueStringRules(s: string): string {
  // 1 width mapping: none, 2 non-ASCII spaces → U+0020, 3 case mapping: none, 4 NFC
  return s.replace(RE_NON_ASCII_SPACE, " ").normalize("NFC");
}

const RE_ASCII_FREEFORM = /^[\x20-\x7e]+$/;

/**
 * OpaqueString profile, enforcement (RFC 8265 §4.2.3): preparation (FreeformClass check),
 * then non-ASCII spaces → U+0020 and NFC (repeated until stable), then the FreeformClass
 * check again on the result, and non-emptiness.
 * Throws PrecisError.
 */
export function enforceOpaqueString(input: string): string {
  if (RE_ASCII_FREEFORM.test(input)) return input;
  if (input.length === 0) throw new PrecisError("the string is empty");
  checkClass(input, false); // preparation (RFC 8265 §4.2.2)
  const out = untilStable(input, opaqueStringRules);
  if (out.length === 0) throw new PrecisError("the string is empty after preparation");
  checkClass(out, false);
  return out;
}

/** Number of bytes of the UTF-8 encoding of s (lone surrogates count as U+FFFD: 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
