// XEP-0115 §5: the verification string ('ver') of a disco#info result — generation (§5.1) and
// the well-formedness checks of the processing method (§5.4).
import { createHash } from "node:crypto";
import type { Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

export interface CapsIdentity {
  category: string;
  type: string;
  lang?: string;
  name?: string;
}

export interface CapsForm {
  /** Character data of the hidden FORM_TYPE field. */
  formType: string;
  /** Fields other than FORM_TYPE, each with its values, in document order. */
  fields: Array<{ var: string; values: string[] }>;
}

export interface CapsInfo {
  identities: CapsIdentity[];
  features: string[];
  forms: CapsForm[];
}

/** 'hash' attribute values (IANA Hash Function Textual Names) → node:crypto names. */
const HASHES: Readonly<Record<string, string>> = {
  "sha-1": "sha1",
  "sha-224": "sha224",
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
};

export function supportedHash(name: string): boolean {
  return Object.hasOwn(HASHES, name);
}

/** "i;octet" collation (RFC 4790 §9.3): compares the UTF-8 bytes. */
export function octetCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export class IllFormedInfo extends Error {}

function childrenNamed(parent: Element, name: string, ns: string): Element[] {
  return parent.children.filter((c): c is Element => typeof c !== "string" && c.name === name && (c.attrs.xmlns === undefined || c.attrs.xmlns === ns));
}

/**
 * Reads a disco#info <query/> for hashing. Throws IllFormedInfo for the §5.4 cases that make
 * the whole response ill-formed (repeated identities, features or FORM_TYPEs, a FORM_TYPE with
 * differing values) and for identities without category or type (XEP-0030 requires them).
 * Forms without a hidden FORM_TYPE are ignored, as §5.4 says.
 */
export function parseDiscoInfo(query: Element): CapsInfo {
  const identities: CapsIdentity[] = [];
  const seenIdentity = new Set<string>();
  for (const el of childrenNamed(query, "identity", NS.DISCO_INFO)) {
    const { category, type } = el.attrs;
    if (!category || !type) throw new IllFormedInfo("an identity lacks its category or type");
    const id: CapsIdentity = { category, type };
    if (el.attrs["xml:lang"] !== undefined) id.lang = el.attrs["xml:lang"];
    if (el.attrs.name !== undefined) id.name = el.attrs.name;
    const k = identityString(id);
    if (seenIdentity.has(k)) throw new IllFormedInfo(`identity ${k} appears more than once`);
    seenIdentity.add(k);
    identities.push(id);
  }
  const features: string[] = [];
  const seenFeature = new Set<string>();
  for (const el of childrenNamed(query, "feature", NS.DISCO_INFO)) {
    const v = el.attrs.var;
    if (v === undefined) continue;
    if (seenFeature.has(v)) throw new IllFormedInfo(`feature ${v} appears more than once`);
    seenFeature.add(v);
    features.push(v);
  }
  const forms: CapsForm[] = [];
  const seenForm = new Set<string>();
  for (const x of query.children) {
    if (typeof x === "string" || x.name !== "x" || x.attrs.xmlns !== NS.DATA_FORMS) continue;
    const fields = childrenNamed(x, "field", NS.DATA_FORMS);
    const formTypeField = fields.find((f) => f.attrs.var === "FORM_TYPE");
    if (!formTypeField) continue;
    const ftValues = childrenNamed(formTypeField, "value", NS.DATA_FORMS).map((v) => v.text());
    if (new Set(ftValues).size > 1) throw new IllFormedInfo("a FORM_TYPE field has differing values");
    if (formTypeField.attrs.type !== "hidden" || ftValues.length === 0) continue;
    const formType = ftValues[0];
    if (seenForm.has(formType)) throw new IllFormedInfo(`two forms have the FORM_TYPE ${formType}`);
    seenForm.add(formType);
    forms.push({
      formType,
      fields: fields
        .filter((f) => f.attrs.var !== undefined && f.attrs.var !== "FORM_TYPE")
        .map((f) => ({ var: f.attrs.var!, values: childrenNamed(f, "value", NS.DATA_FORMS).map((v) => v.text()) })),
    });
  }
  return { identities, features, forms };
}

function identityString(i: CapsIdentity): string {
  return `${i.category}/${i.type}/${i.lang ?? ""}/${i.name ?? ""}`;
}

/** §5.1 steps 1–7: the string S (before UTF-8 encoding and hashing). */
export function verificationString(info: CapsInfo): string {
  let s = "";
  const identities = [...info.identities].sort(
    (a, b) =>
      octetCompare(a.category, b.category) ||
      octetCompare(a.type, b.type) ||
      octetCompare(a.lang ?? "", b.lang ?? "") ||
      octetCompare(a.name ?? "", b.name ?? ""),
  );
  for (const i of identities) s += identityString(i) + "<";
  for (const f of [...info.features].sort(octetCompare)) s += f + "<";
  for (const form of [...info.forms].sort((a, b) => octetCompare(a.formType, b.formType))) {
    s += form.formType + "<";
    for (const field of [...form.fields].sort((a, b) => octetCompare(a.var, b.var))) {
      s += field.var + "<";
      for (const v of [...field.values].sort(octetCompare)) s += v + "<";
    }
  }
  return s;
}

/** §5.1 steps 8–9: base64 of the hash of S in UTF-8. `hash` is the 'hash' attribute (e.g. "sha-1"). */
export function capsVer(info: CapsInfo, hash: string): string {
  const algo = HASHES[hash];
  if (algo === undefined) throw new RangeError(`unsupported caps hash ${hash}`);
  return createHash(algo).update(verificationString(info), "utf8").digest("base64");
}
