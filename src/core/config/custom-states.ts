// Custom presence states defined by the administrator (lync-spec §2): an id, the class they
// are bound to (Available, Busy or Do not disturb) and a label per language (≤ 64 characters).
// At most 4 by default; the administrator may raise the limit. Pure validation; it lives in the
// config layer so that loadConfig reports bad custom states among the boot problems
// (src/core may not import modules). Lookups and labels: src/modules/enterprise-presence/custom-states.ts.
/** Lowercased tag with "_" read as "-" ("de_CH" → "de-ch") (same as enterprise-presence/lang.ts). */
function normalizeLang(tag: string): string {
  return tag.trim().replace(/_/g, "-").toLowerCase();
}

export type CustomStateAvailability = "available" | "busy" | "dnd";
export const CUSTOM_STATE_AVAILABILITIES: readonly CustomStateAvailability[] = Object.freeze(["available", "busy", "dnd"]);

export interface CustomStateDef {
  /** Stable identifier used on the wire (`custom='…'`) and in stored manual states. */
  readonly id: string;
  readonly availability: CustomStateAvailability;
  /** Language tag → label, at least one. */
  readonly labels: Readonly<Record<string, string>>;
}

export const DEFAULT_MAX_CUSTOM_STATES = 4;
export const MAX_LABEL_CHARS = 64;
export const MAX_ID_CHARS = 64;

export interface CustomStateProblem {
  /** Where, in config terms: "presence.customStates[2].labels.de". */
  readonly path: string;
  /** Index of the entry (undefined for problems with the list itself). */
  readonly index?: number;
  /** The entry's id when it has a usable one. */
  readonly id?: string;
  /** Field of the entry: "id", "availability", "labels", "labels.<lang>" or an unknown key. */
  readonly field?: string;
  readonly message: string;
}

export type CustomStatesResult =
  | { readonly ok: true; readonly states: readonly CustomStateDef[] }
  | { readonly ok: false; readonly errors: readonly CustomStateProblem[] };

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LANG_RE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
// Labels are one line of text: no control characters (C0, DEL, C1) and no line/paragraph separators.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const KNOWN_KEYS = new Set(["id", "availability", "class", "labels"]);
const AVAILABILITY_HINTS: Record<string, string> = {
  online: 'use "available" (Lync\'s "online")',
  free: 'use "available"',
  "do-not-disturb": 'use "dnd"',
  donotdisturb: 'use "dnd"',
  "do not disturb": 'use "dnd"',
};

/** Length in characters (code points), as a user counts them. */
function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "object") return "a map";
  return `${typeof v} ${String(v)}`;
}

/**
 * Validates the administrator's list. Reports every problem (which entry, which field, what is
 * wrong), not just the first. On success the states are normalised (ids as strings, labels
 * trimmed) and frozen.
 *
 * @param maxCount how many states are allowed (default 4, Lync's limit)
 * @param path     config path used in messages (default "presence.customStates")
 */
export function validateCustomStates(input: unknown, maxCount: number = DEFAULT_MAX_CUSTOM_STATES, path = "presence.customStates"): CustomStatesResult {
  const errors: CustomStateProblem[] = [];
  if (!Number.isInteger(maxCount) || maxCount < 0) {
    return { ok: false, errors: [{ path: "presence.maxCustomStates", message: `${describe(maxCount)} is not a valid limit; expected an integer ≥ 0` }] };
  }
  if (input === undefined || input === null) return { ok: true, states: Object.freeze([]) };
  if (!Array.isArray(input)) {
    return { ok: false, errors: [{ path, message: `must be a list of custom states, got ${describe(input)}` }] };
  }
  if (input.length > maxCount) {
    errors.push({
      path,
      message: `${input.length} custom states defined; at most ${maxCount} allowed (raise presence.maxCustomStates to allow more)`,
    });
  }
  const states: CustomStateDef[] = [];
  const seenIds = new Map<string, number>(); // lowercased id → first index
  input.forEach((entry: unknown, index: number) => {
    const at = `${path}[${index}]`;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      errors.push({ path: at, index, message: `must be a map with id, availability and labels, got ${describe(entry)}` });
      return;
    }
    const e = entry as Record<string, unknown>;
    let entryOk = true;
    const problem = (field: string | undefined, message: string, id?: string) => {
      entryOk = false;
      const p: { -readonly [K in keyof CustomStateProblem]: CustomStateProblem[K] } = { path: field ? `${at}.${field}` : at, index, message };
      if (field !== undefined) p.field = field;
      if (id !== undefined) p.id = id;
      errors.push(p);
    };

    // id
    let id: string | undefined;
    const rawId = e.id;
    if (rawId === undefined) problem("id", "missing; every custom state needs an id");
    else if (typeof rawId === "number" && Number.isInteger(rawId) && rawId >= 0) id = String(rawId);
    else if (typeof rawId !== "string") problem("id", `${describe(rawId)} is not an id; expected a string such as "wfh" or "1"`);
    else if (rawId === "") problem("id", "is empty");
    else if (charLength(rawId) > MAX_ID_CHARS) problem("id", `is ${charLength(rawId)} characters long; at most ${MAX_ID_CHARS}`);
    else if (!ID_RE.test(rawId)) problem("id", `${describe(rawId)} may only contain letters A–Z, digits, ".", "_" and "-", starting with a letter or digit`);
    else id = rawId;
    if (id !== undefined) {
      const key = id.toLowerCase();
      const first = seenIds.get(key);
      if (first !== undefined) {
        problem("id", `duplicate id ${JSON.stringify(id)}: already used by ${path}[${first}] (ids are compared ignoring case)`, id);
        id = undefined;
      } else seenIds.set(key, index);
    }

    // availability ("class" is accepted as another name for it)
    let availability: CustomStateAvailability | undefined;
    if (e.class !== undefined && e.availability !== undefined) problem("class", 'give either "availability" or "class" (the same thing), not both', id);
    const rawAv = e.availability ?? e.class;
    if (rawAv === undefined) problem("availability", 'missing; expected "available", "busy" or "dnd"', id);
    else if (typeof rawAv !== "string") problem("availability", `${describe(rawAv)} is not valid; expected "available", "busy" or "dnd"`, id);
    else if ((CUSTOM_STATE_AVAILABILITIES as readonly string[]).includes(rawAv)) availability = rawAv as CustomStateAvailability;
    else {
      const hint = AVAILABILITY_HINTS[rawAv.toLowerCase()];
      problem(
        "availability",
        hint
          ? `${describe(rawAv)} is not valid; ${hint}`
          : `${describe(rawAv)} is not valid; custom states can only be bound to "available", "busy" or "dnd"`,
        id,
      );
    }

    // labels
    const labels: Record<string, string> = {};
    const rawLabels = e.labels;
    if (rawLabels === undefined) problem("labels", 'missing; give at least one label, e.g. labels: { en: "Working from home" }', id);
    else if (rawLabels === null || typeof rawLabels !== "object" || Array.isArray(rawLabels)) {
      problem("labels", `${describe(rawLabels)} is not valid; expected a map of language → label, e.g. { en: "Working from home" }`, id);
    } else {
      const seenLangs = new Map<string, string>();
      const entries = Object.entries(rawLabels as Record<string, unknown>);
      if (entries.length === 0) problem("labels", "is empty; give at least one label", id);
      for (const [lang, text] of entries) {
        const field = `labels.${lang}`;
        if (!LANG_RE.test(lang)) {
          problem(field, `${JSON.stringify(lang)} is not a language tag; expected e.g. "en", "de-CH", "zh-Hant"`, id);
          continue;
        }
        const norm = normalizeLang(lang);
        const dup = seenLangs.get(norm);
        if (dup !== undefined) {
          problem(field, `duplicate language: ${JSON.stringify(dup)} is the same language tag`, id);
          continue;
        }
        seenLangs.set(norm, lang);
        if (typeof text !== "string") {
          problem(field, `${describe(text)} is not a label; expected text`, id);
          continue;
        }
        const t = text.trim();
        if (t === "") problem(field, "is empty", id);
        else if (CONTROL_RE.test(t)) problem(field, "contains a control character or line break; labels are one line of text", id);
        else if (charLength(t) > MAX_LABEL_CHARS) problem(field, `is ${charLength(t)} characters long; at most ${MAX_LABEL_CHARS}`, id);
        else labels[lang] = t;
      }
    }

    for (const k of Object.keys(e)) {
      if (!KNOWN_KEYS.has(k)) problem(k, `unknown key ${JSON.stringify(k)}; a custom state has id, availability (or class) and labels`, id);
    }
    if (entryOk && id !== undefined && availability !== undefined) {
      states.push(Object.freeze({ id, availability, labels: Object.freeze(labels) }));
    }
  });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, states: Object.freeze(states) };
}

/** One line per problem, for the config loader's report. */
export function formatCustomStateProblems(errors: readonly CustomStateProblem[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("\n");
}

