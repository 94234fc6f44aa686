// The generic XML element tree used everywhere inside Parley.
// Typed codecs decode from and encode to this; unknown payloads pass through untouched.
// Kept deliberately small and monomorphic: it sits on the hottest path (every stanza).

export type Node = Element | string;
export type Attrs = Record<string, string>;

export class Element {
  name: string;
  attrs: Attrs;
  children: Node[];

  constructor(name: string, attrs?: Attrs | null, children?: Node[]) {
    this.name = name;
    this.attrs = attrs ?? {};
    this.children = children ?? [];
  }

  /** The namespace declared on this element (`xmlns`), or "" when it inherits one. */
  get xmlns(): string {
    return this.attrs.xmlns ?? "";
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  setAttr(name: string, value: string | undefined): this {
    if (value === undefined) delete this.attrs[name];
    else this.attrs[name] = value;
    return this;
  }

  /** First child element with this name (and namespace, when given). */
  getChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)) return c;
    }
    return undefined;
  }

  getChildren(name: string, xmlns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)) out.push(c);
    }
    return out;
  }

  /** First child element in a namespace, whatever its name. */
  getChildByNs(xmlns: string): Element | undefined {
    for (const c of this.children) if (typeof c !== "string" && c.attrs.xmlns === xmlns) return c;
    return undefined;
  }

  /** All child elements (text nodes skipped). */
  elements(): Element[] {
    const out: Element[] = [];
    for (const c of this.children) if (typeof c !== "string") out.push(c);
    return out;
  }

  /** Concatenated direct text content. */
  text(): string {
    let s = "";
    for (const c of this.children) if (typeof c === "string") s += c;
    return s;
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  append(...nodes: (Node | null | undefined | false)[]): this {
    for (const n of nodes) if (n !== null && n !== undefined && n !== false) this.children.push(n);
    return this;
  }

  /** Adds a child element and returns it (for building nested trees). */
  c(name: string, attrs?: Attrs | null): Element {
    const child = new Element(name, attrs);
    this.children.push(child);
    return child;
  }

  removeChildren(name: string, xmlns?: string): this {
    this.children = this.children.filter(
      (c) => typeof c === "string" || c.name !== name || (xmlns !== undefined && c.attrs.xmlns !== xmlns),
    );
    return this;
  }

  /** Deep copy: stanzas are mutated per recipient (to/from), so routing clones when fanning out. */
  clone(): Element {
    const copy = new Element(this.name, { ...this.attrs });
    for (const c of this.children) copy.children.push(typeof c === "string" ? c : c.clone());
    return copy;
  }

  toString(): string {
    return serialize(this);
  }
}

/** Builder: x("message", { to }, x("body", null, "hi")). Null/false children are skipped. */
export function x(name: string, attrs?: Attrs | null, ...children: (Node | null | undefined | false)[]): Element {
  const el = new Element(name, attrs ? { ...attrs } : {});
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.children.push(c);
  return el;
}

const TEXT_SPECIAL = /[&<>]/;
const ATTR_SPECIAL = /[&<>"']/;

export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Opening tag only, e.g. for `<stream:stream ...>`. */
export function openTag(name: string, attrs: Attrs): string {
  let s = "<" + name;
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined) s += " " + k + "='" + escapeAttr(v) + "'";
  }
  return s + ">";
}

export function serialize(el: Element): string {
  let s = "<" + el.name;
  const attrs = el.attrs;
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined) s += " " + k + "='" + escapeAttr(v) + "'";
  }
  const children = el.children;
  if (children.length === 0) return s + "/>";
  s += ">";
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    s += typeof c === "string" ? escapeText(c) : serialize(c);
  }
  return s + "</" + el.name + ">";
}
