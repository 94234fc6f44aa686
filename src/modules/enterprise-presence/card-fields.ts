// The contact card under the privacy matrix (PRODUCT.md §2): which matrix row governs each
// vCard field — vcard-temp (XEP-0054) and vCard4 (RFC 6351 XML, XEP-0292) share ONE table —
// and which row governs each PEP node (XEP-0163). Pure functions; the vcard module applies
// filterCard() in VcardService.get, the enterprise-presence module hooks PEP with pepNodeRow()
// and filterCard(). Rules: docs/presence.md, "Contact card and PEP filtering".
import { Element } from "../../xml/element.ts";
import { PRIVACY_MATRIX, PRIVACY_LEVELS, type MatrixRow, type ViewerLevel } from "./privacy.ts";

export const NS_VCARD_TEMP = "vcard-temp";
export const NS_VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0";
/** XEP-0292's PEP node for the vCard4 contact card. */
export const NODE_VCARD4 = "urn:xmpp:vcard4";

/**
 * THE field → row table (field names lower-case; vcard-temp's upper-case names and vCard4's
 * lower-case ones both map through it). "typed" fields (addresses, phones) take their row from
 * their TYPE qualifiers (TYPED_ROWS). A field not listed is shown to the owner only.
 */
export const CARD_FIELD_ROWS: Readonly<Record<string, MatrixRow | "typed">> = Object.freeze({
  // display name, email
  fn: "identity",
  n: "identity",
  nickname: "identity",
  email: "identity",
  jabberid: "identity", // vcard-temp
  impp: "identity", // vCard4
  // title, company, photo
  title: "profile",
  role: "profile",
  org: "profile",
  photo: "profile",
  logo: "profile",
  url: "profile",
  // office (and work phone / work address, typed below)
  tz: "office",
  // personal note, location
  note: "notes",
  desc: "notes", // vcard-temp's free text
  geo: "notes",
  // personal data: Friends & Family, like home phones
  bday: "other-phones",
  anniversary: "other-phones",
  gender: "other-phones",
  // card metadata (no personal data)
  version: "identity",
  prodid: "identity",
  rev: "identity",
  uid: "identity",
  kind: "identity",
  // addresses and phones: by type
  adr: "typed",
  label: "typed", // vcard-temp's address label
  tel: "typed",
});

/**
 * Rows of the type qualifiers of addresses and phones. A field takes the most restrictive row
 * among its qualifiers (a home cell phone is a home phone; a work cell phone a mobile phone);
 * with none of them (no type, "other", pager, fax…) it is "home and other phones".
 */
export const TYPED_ROWS: Readonly<Record<string, MatrixRow>> = Object.freeze({
  work: "office",
  cell: "mobile-phone",
  home: "other-phones",
});
const TYPED_DEFAULT: MatrixRow = "other-phones";

/** How many levels see a row: fewer = more restrictive. */
function openness(r: MatrixRow): number {
  let n = 0;
  for (const l of PRIVACY_LEVELS) if (PRIVACY_MATRIX[r][l] === "yes") n++;
  return n;
}

function localName(el: Element): string {
  const i = el.name.indexOf(":");
  return (i < 0 ? el.name : el.name.slice(i + 1)).toLowerCase();
}

/** The type qualifiers of a field: vcard-temp's empty child elements, vCard4's parameters/type/text. */
function typesOf(el: Element): string[] {
  const out: string[] = [];
  for (const c of el.elements()) {
    const n = localName(c);
    if (n === "parameters") {
      for (const p of c.elements()) {
        if (localName(p) !== "type") continue;
        for (const t of p.elements()) out.push(t.text().trim().toLowerCase());
      }
    } else if (c.elements().length === 0 && c.text().trim() === "") out.push(n);
  }
  return out;
}

/** The matrix row of one field of a vCard (vcard-temp or vCard4); undefined = the owner only. */
export function fieldRow(el: Element): MatrixRow | undefined {
  const r = CARD_FIELD_ROWS[localName(el)];
  if (r !== "typed") return r;
  let best: MatrixRow | undefined;
  for (const t of typesOf(el)) {
    const tr = TYPED_ROWS[t];
    if (tr !== undefined && (best === undefined || openness(tr) < openness(best))) best = tr;
  }
  return best ?? TYPED_DEFAULT;
}

/** Whether `level` sees the fields of `row` ("self" sees everything; Blocked nothing). */
export function seesRow(row: MatrixRow, level: ViewerLevel): boolean {
  return level === "self" || PRIVACY_MATRIX[row][level] === "yes";
}

/**
 * `card` (a vcard-temp <vCard/> or a vCard4 <vcard/>) as `level` may see it: a new element with
 * only the fields of the rows the level sees; undefined for Blocked (no card at all: the
 * XEP-0191 rule). The owner ("self") gets a copy of everything. Never mutates `card`.
 */
export function filterCard(card: Element, level: ViewerLevel): Element | undefined {
  if (level === "self") return card.clone();
  if (level === "blocked") return undefined;
  const out = new Element(card.name, { ...card.attrs });
  for (const c of card.children) {
    if (typeof c === "string") continue;
    const r = fieldRow(c);
    if (r !== undefined && seesRow(r, level)) out.children.push(c.clone());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// PEP nodes

/**
 * PEP node → the row that governs it. "card" = the vCard4 contact card, filtered field by
 * field with CARD_FIELD_ROWS (the item itself is visible wherever "display name, email" is).
 * Nodes not listed follow their access model only (Blocked still gets nothing).
 */
export const PEP_NODE_ROWS: Readonly<Record<string, MatrixRow | "card">> = Object.freeze({
  "http://jabber.org/protocol/geoloc": "notes", // XEP-0080 location
  "urn:xmpp:avatar:data": "profile", // XEP-0084
  "urn:xmpp:avatar:metadata": "profile",
  "http://jabber.org/protocol/mood": "activity", // XEP-0107
  "http://jabber.org/protocol/activity": "activity", // XEP-0108
  "http://jabber.org/protocol/tune": "activity", // XEP-0118: what they are doing
  "http://jabber.org/protocol/nick": "identity", // XEP-0172
  [NODE_VCARD4]: "card", // XEP-0292
});

export function pepNodeRow(node: string): MatrixRow | "card" | undefined {
  return PEP_NODE_ROWS[node];
}

/**
 * Whether a watcher of `level` may see anything of `node` (its items, retractions, deletion,
 * its listing), once the node's access model allowed it: the owner always; Blocked never;
 * listed nodes per their row (the contact card per "display name, email"); others yes.
 */
export function pepNodeVisible(node: string, level: ViewerLevel): boolean {
  if (level === "self") return true;
  if (level === "blocked") return false;
  const r = pepNodeRow(node);
  if (r === undefined) return true;
  return seesRow(r === "card" ? "identity" : r, level);
}

/** The payload `level` gets of an item of `node`: the contact card filtered by field, others as is. */
export function pepPayloadFor(node: string, payload: Element, level: ViewerLevel): Element | undefined {
  if (pepNodeRow(node) !== "card" || level === "self") return payload;
  if (payload.attrs.xmlns !== NS_VCARD4 || localName(payload) !== "vcard") {
    // Not a vCard4 card: only the owner could tell what it holds.
    return undefined;
  }
  return filterCard(payload, level);
}
