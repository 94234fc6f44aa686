/**
 * Reading column values the same way on both dialects. SQLite returns booleans as 0/1 and
 * timestamps as epoch milliseconds; PostgreSQL returns booleans and Dates (and, through
 * drivers that do not parse int8, numeric strings). Stores convert every column through
 * these helpers instead of trusting the runtime type.
 */

export function toInt(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint" || typeof v === "string") {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new RangeError(`integer column value out of range: ${String(v)}`);
    return n;
  }
  throw new TypeError(`expected an integer column value, got ${v === null ? "null" : typeof v}`);
}

export function toBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number" || typeof v === "bigint") return v !== 0 && v !== 0n;
  if (v === "t" || v === "true" || v === "1") return true;
  if (v === "f" || v === "false" || v === "0") return false;
  throw new TypeError(`expected a boolean column value, got ${JSON.stringify(v)}`);
}

export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === "number" || typeof v === "bigint") return new Date(Number(v));
  if (typeof v === "string") {
    const d = /^-?\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new TypeError(`expected a timestamp column value, got ${JSON.stringify(v)}`);
}

/** null/undefined become undefined; anything else must be a string. */
export function toOptString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  throw new TypeError(`expected a text column value, got ${typeof v}`);
}

/** Splits rows into batches (bulk inserts stay under the dialects' parameter limits). */
export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Builds `($1, $2, $3), ($4, $5, $6), …` for a multi-row INSERT of `rows` rows with
 * `columns` columns each, numbering from `start` (1 by default).
 */
export function valuesPlaceholders(rows: number, columns: number, start = 1): string {
  const parts: string[] = [];
  let n = start;
  for (let r = 0; r < rows; r++) {
    const cols: string[] = [];
    for (let c = 0; c < columns; c++) cols.push(`$${n++}`);
    parts.push(`(${cols.join(", ")})`);
  }
  return parts.join(", ");
}

/** `$start, $start+1, …` for an IN (…) list. */
export function listPlaceholders(count: number, start = 1): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`$${start + i}`);
  return parts.join(", ");
}
