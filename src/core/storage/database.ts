/**
 * The database handle as the core and every module see it. The core knows no backend: the
 * adapters live in src/storage/ (sqlite/, postgres/) and are chosen by the composition root
 * through openDatabase(url).
 *
 * Conventions every store follows (docs/storage.md explains them):
 * - SQL is written with PostgreSQL-style numbered placeholders `$1, $2 …` for both dialects;
 *   the SQLite adapter rewrites them to `?1, ?2 …`.
 * - Parameters may be string, number, bigint, boolean, Date, Uint8Array or null/undefined.
 *   SQLite stores booleans as 0/1 and Dates as epoch milliseconds (INTEGER); PostgreSQL
 *   receives them natively (BOOLEAN, TIMESTAMPTZ). Read them back with the helpers in
 *   ./values.ts (toDate, toBool, toInt), which accept either representation.
 * - Integers come back as JavaScript numbers on both backends (the PostgreSQL adapter parses
 *   int8 itself, so COUNT(*) and BIGINT columns are numbers, not strings).
 * - Tables are prefixed with the owning module's id; each module migrates its own tables.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export type Dialect = "sqlite" | "postgres";

export interface DatabaseCaps {
  /** Full-text search is available (SQLite FTS5 / PostgreSQL tsvector). */
  fullText: boolean;
}

export interface Queryable {
  /** Runs a statement and returns its rows (also for INSERT … RETURNING). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

export interface Database extends Queryable {
  readonly dialect: Dialect;
  readonly caps: DatabaseCaps;
  /**
   * Runs fn inside one transaction: committed if fn resolves, rolled back if it throws.
   * Use only the `tx` handle inside fn. Transactions do not nest: calling transaction() again
   * from inside fn throws.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Applies the owner's pending migrations in version order, each in its own transaction,
   * recording them in `schema_migrations`. Safe when several processes start at once.
   */
  migrate(owner: string, migrations: Migration[]): Promise<void>;
  close(): Promise<void>;
}

export interface Migration {
  version: number;
  name: string;
  /** One or more statements, separated by semicolons. */
  sql: string;
}

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Reads `<dir>/<dialect>/NNNN_name.sql` files, sorted by version. Typical use from a store:
 *   loadMigrations(new URL("./migrations/", import.meta.url), db.dialect)
 * Files not ending in .sql are ignored; a .sql file with a malformed name or a duplicate
 * version is an error (a typo must not silently skip a migration).
 */
export function loadMigrations(dir: URL | string, dialect: Dialect): Migration[] {
  const base = dir instanceof URL || dir.startsWith("file:") ? fileURLToPath(dir) : dir;
  const folder = join(base, dialect);
  let files: string[];
  try {
    files = readdirSync(folder);
  } catch (err) {
    throw new Error(`cannot read migrations folder ${folder}: ${(err as Error).message}`);
  }
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of files) {
    if (!file.endsWith(".sql")) continue;
    const m = MIGRATION_FILE.exec(file);
    if (!m) throw new Error(`bad migration file name ${join(folder, file)} (expected NNNN_name.sql)`);
    const version = Number(m[1]);
    if (version === 0) throw new Error(`migration versions start at 0001: ${join(folder, file)}`);
    const dup = seen.get(version);
    if (dup) throw new Error(`duplicate migration version ${version} in ${folder}: ${dup} and ${file}`);
    seen.set(version, file);
    out.push({ version, name: m[2], sql: readFileSync(join(folder, file), "utf8") });
  }
  out.sort((a, b) => a.version - b.version);
  return out;
}

/** Checks a migration list before applying it (shared by both adapters). */
export function checkMigrations(owner: string, migrations: readonly Migration[]): Migration[] {
  if (!/^[a-z][a-z0-9_-]*$/.test(owner)) throw new Error(`bad migration owner ${JSON.stringify(owner)}`);
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i];
    if (!Number.isInteger(m.version) || m.version < 1) throw new Error(`${owner}: bad migration version ${m.version}`);
    if (i > 0 && sorted[i - 1].version === m.version) throw new Error(`${owner}: duplicate migration version ${m.version}`);
  }
  return sorted;
}

/**
 * Compares what is recorded with what the code ships. A recorded version whose name differs
 * means the migration files were renumbered or replaced: refuse rather than guess. Versions
 * recorded but unknown to this code (a newer node already migrated, during a rolling upgrade)
 * are tolerated.
 */
export function pendingMigrations(
  owner: string,
  migrations: readonly Migration[],
  applied: ReadonlyMap<number, string>,
): Migration[] {
  const pending: Migration[] = [];
  for (const m of migrations) {
    const name = applied.get(m.version);
    if (name === undefined) pending.push(m);
    else if (name !== m.name) {
      throw new Error(`${owner}: migration ${m.version} was applied as "${name}" but the code calls it "${m.name}"`);
    }
  }
  return pending;
}
