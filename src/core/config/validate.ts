// Validation of raw configuration values against the schema (schema.ts).
// Collects every problem instead of stopping at the first, so one boot shows them all.

import { envName, isSection, leaves, schema } from "./schema.ts";
import type { FieldSpec, FieldValue, SectionSpec } from "./schema.ts";

export interface Problem {
  /** Where the value came from: "parley.yaml:12:3", "environment PARLEY_C2S_PORT", … */
  readonly source: string;
  /** Dotted key path ("c2s.port"), or "" for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: Problem): string {
  return p.path ? `${p.source}: ${p.path}: ${p.message}` : `${p.source}: ${p.message}`;
}

/** Validated values by dotted key path; only keys that were actually set appear. */
export type Values = Map<string, FieldValue>;

/** Shows a raw value in an error: strings quoted, others as YAML would show them. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

function describeType(spec: FieldSpec): string {
  switch (spec.type) {
    case "integer":
      return spec.min !== undefined && spec.max !== undefined
        ? `an integer from ${spec.min} to ${spec.max}`
        : "an integer";
    case "number":
      return spec.min !== undefined && spec.max !== undefined ? `a number from ${spec.min} to ${spec.max}` : "a number";
    case "boolean":
      return "true or false";
    case "string":
      return spec.oneOf ? `one of ${spec.oneOf.join(", ")}` : "a string";
    case "list":
      return spec.items === "map" ? "a list of mappings" : "a list of strings";
  }
}

/** A list value: each string item checked and normalised; map items are left to the loader. */
function checkList(spec: FieldSpec, items: readonly unknown[], shown: string): { value: FieldValue } | { error: string } {
  if (spec.items === "map") return { value: items };
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== "string") return { error: `item ${i + 1} of ${shown} (${show(item)}) is not a string; expected ${describeType(spec)}` };
    const r = checkValue({ ...spec, type: "string" }, item, JSON.stringify(item));
    if ("error" in r) return { error: `item ${i + 1}: ${r.error}` };
    if (!out.includes(r.value as string)) out.push(r.value as string);
  }
  return { value: out };
}

/**
 * Checks one typed value against the spec's bounds and checks; returns the normalised value
 * or an error message.
 */
function checkValue(spec: FieldSpec, value: FieldValue, shown: string): { value: FieldValue } | { error: string } {
  if (spec.normalize) value = (spec.normalize as (v: FieldValue) => FieldValue)(value);
  if (spec.type === "integer" || spec.type === "number") {
    const n = value as number;
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      return { error: `${shown} is out of range; expected ${describeType(spec)}` };
    }
  }
  if (spec.oneOf && !spec.oneOf.includes(value as string)) {
    const hint = didYouMean(String(value), spec.oneOf);
    return { error: `${shown} is not allowed; expected one of ${spec.oneOf.join(", ")}${hint}` };
  }
  if (spec.check) {
    const expected = (spec.check as (v: FieldValue) => string | undefined)(value);
    if (expected !== undefined) return { error: `${shown} is not valid; expected ${expected}` };
  }
  return { value };
}

/** A value from the YAML file: types must already be right (no "5222" for a port). */
function checkFileValue(spec: FieldSpec, raw: unknown): { value: FieldValue } | { error: string } {
  const shown = show(raw);
  if (raw === null || raw === undefined) {
    return { error: `has no value; expected ${describeType(spec)} (remove the key to use the default ${show(spec.default)})` };
  }
  switch (spec.type) {
    case "integer":
      if (typeof raw !== "number" || !Number.isInteger(raw)) {
        const hint = typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? " (remove the quotes)" : "";
        return { error: `${shown} is not an integer; expected ${describeType(spec)}${hint}` };
      }
      break;
    case "number":
      if (typeof raw !== "number" || !Number.isFinite(raw)) {
        const hint = typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? " (remove the quotes)" : "";
        return { error: `${shown} is not a number; expected ${describeType(spec)}${hint}` };
      }
      break;
    case "list":
      if (!Array.isArray(raw)) {
        const hint = typeof raw === "string" && spec.items !== "map" ? ` (write a YAML list: [${raw.split(/[\s,]+/).filter(Boolean).join(", ")}])` : "";
        return { error: `${shown} is not a list; expected ${describeType(spec)}${hint}` };
      }
      return checkList(spec, raw, shown);
    case "boolean":
      if (typeof raw !== "boolean") {
        const hint =
          typeof raw === "string" && /^(true|false)$/i.test(raw.trim()) ? " (remove the quotes)"
          : typeof raw === "string" && /^(yes|no|on|off|y|n)$/i.test(raw.trim()) ? " (YAML 1.2: write true or false)"
          : "";
        return { error: `${shown} is not a boolean; expected true or false${hint}` };
      }
      break;
    case "string":
      if (typeof raw !== "string") {
        // A bare number or boolean where a string is wanted is a likely typo; say how to quote it.
        const quote = typeof raw === "number" || typeof raw === "boolean" ? ` (quote it: "${String(raw)}")` : "";
        return { error: `${shown} is not a string; expected ${describeType(spec)}${quote}` };
      }
      break;
  }
  return checkValue(spec, raw as FieldValue, shown);
}

/** A value from the environment: always a string, parsed per the key's type. */
function checkEnvValue(spec: FieldSpec, raw: string): { value: FieldValue } | { error: string } {
  const shown = JSON.stringify(raw);
  switch (spec.type) {
    case "integer": {
      const t = raw.trim();
      if (!/^[+-]?\d+$/.test(t)) return { error: `${shown} is not an integer; expected ${describeType(spec)}` };
      return checkValue(spec, Number(t), shown);
    }
    case "boolean": {
      const t = raw.trim().toLowerCase();
      if (t === "true") return { value: true };
      if (t === "false") return { value: false };
      return { error: `${shown} is not a boolean; expected "true" or "false"` };
    }
    case "number": {
      const t = raw.trim();
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return { error: `${shown} is not a number; expected ${describeType(spec)}` };
      return checkValue(spec, Number(t), shown);
    }
    case "string":
      return checkValue(spec, raw, shown);
    case "list": {
      if (spec.items === "map") {
        let v: unknown;
        try {
          v = JSON.parse(raw);
        } catch {
          return { error: `${shown} is not JSON; expected a JSON list of objects, e.g. [{"id":"wfh","availability":"available","labels":{"en":"Working from home"}}]` };
        }
        if (!Array.isArray(v)) return { error: `${shown} is not a JSON list; expected ${describeType(spec)}` };
        return checkList(spec, v, shown);
      }
      return checkList(spec, raw.split(/[\s,]+/).filter((t) => t !== ""), shown);
    }
  }
}

export interface Locator {
  /** Source text ("parley.yaml:3:5") of the value at this path, or of its key when `key`. */
  (path: readonly string[], key?: boolean): string;
}

/**
 * Walks the parsed YAML document against the schema. Unknown keys, wrong types, bad values
 * are recorded in `problems`; valid values land in the result.
 */
export function validateTree(raw: unknown, locate: Locator, problems: Problem[]): Values {
  const values: Values = new Map();
  if (raw === null || raw === undefined) return values; // an empty file: all defaults
  walk(schema, raw, [], locate, problems, values);
  return values;
}

function walk(
  section: SectionSpec,
  raw: unknown,
  prefix: string[],
  locate: Locator,
  problems: Problem[],
  values: Values,
): void {
  const where = prefix.join(".");
  if (raw === null) return; // `c2s:` with nothing under it: defaults
  if (typeof raw !== "object" || Array.isArray(raw)) {
    const keys = Object.keys(section.fields).join(", ");
    problems.push({
      source: locate(prefix),
      path: where,
      message: `${show(raw)} is not a mapping; expected ${prefix.length ? "a section" : "a mapping of settings"} with keys ${keys}`,
    });
    return;
  }
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const path = [...prefix, key];
    const spec = section.fields[key];
    if (spec === undefined) {
      problems.push({ source: locate(path, true), path: path.join("."), message: `unknown key${suggestKey(key, section, prefix)}` });
      continue;
    }
    if (isSection(spec)) {
      walk(spec, value, path, locate, problems, values);
      continue;
    }
    const r = checkFileValue(spec, value);
    if ("error" in r) problems.push({ source: locate(path), path: path.join("."), message: r.error });
    else values.set(path.join("."), r.value);
  }
}

/** Variables with the PARLEY_ prefix that are not configuration keys. */
export const NON_KEY_ENV = new Set(["PARLEY_CONFIG"]);

/**
 * Reads PARLEY_* overrides for every schema key. Empty variables count as unset.
 * A PARLEY_* variable that is not a key but is within two edits of one is reported as a
 * likely typo (others are left alone: tests and tools may have their own PARLEY_* names).
 */
export function readEnv(env: NodeJS.ProcessEnv, problems: Problem[]): Values {
  const values: Values = new Map();
  const known = leaves().map(([p]) => envName(p));
  for (const name of Object.keys(env)) {
    if (!name.startsWith("PARLEY_") || NON_KEY_ENV.has(name) || known.includes(name)) continue;
    const near = known.find((k) => editDistance(k, name) <= 2);
    if (near !== undefined) {
      problems.push({ source: `environment ${name}`, path: "", message: `unknown variable; did you mean ${near}?` });
    }
  }
  for (const [path, spec] of leaves()) {
    const name = envName(path);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const r = checkEnvValue(spec, raw);
    if ("error" in r) problems.push({ source: `environment ${name}`, path: path.join("."), message: r.error });
    else values.set(path.join("."), r.value);
  }
  return values;
}

// ---------------------------------------------------------------------------------------
// Did-you-mean

/** Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** Lowercased with separators removed: "max_stanza_bytes" ~ "maxStanzaBytes". */
function squash(s: string): string {
  return s.toLowerCase().replace(/[-_.\s]/g, "");
}

/** The closest candidate, if close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (squash(c) === squash(word)) return c;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestD <= limit ? best : undefined;
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` (did you mean ${JSON.stringify(c)}?)`;
}

/** Suggestion text for an unknown key: a sibling typo, or the same key in another section. */
function suggestKey(key: string, section: SectionSpec, prefix: readonly string[]): string {
  const siblings = Object.keys(section.fields);
  const near = closest(key, siblings);
  const full = (k: string) => [...prefix, k].join(".");
  if (near !== undefined) return `; did you mean "${full(near)}"?`;
  // `port:` at the top level, `level:` under c2s…: point at where that key does live.
  const elsewhere = leaves()
    .map(([p]) => p)
    .filter((p) => squash(p[p.length - 1]) === squash(key) || editDistance(p[p.length - 1].toLowerCase(), key.toLowerCase()) <= 1)
    .map((p) => `"${p.join(".")}"`);
  if (elsewhere.length > 0) return `; did you mean ${elsewhere.join(" or ")}?`;
  return `; expected one of ${siblings.join(", ")}`;
}
