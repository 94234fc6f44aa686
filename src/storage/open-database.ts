/**
 * Opens the Database named by a URL; the composition root's single entry to the adapters.
 *
 *   sqlite:/var/lib/parley/parley.sqlite     absolute path (sqlite:///var/… also accepted)
 *   sqlite:data/parley.sqlite                relative to the working directory
 *   sqlite::memory:                          private in-memory database (tests)
 *   sqlite:/path/file.sqlite?synchronous=full&busy_timeout=10000
 *   postgres://user:password@host:5432/dbname   (or postgresql://; pg's sslmode etc. apply)
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Database } from "../core/storage/database.ts";
import { PostgresDatabase, redactUrl } from "./postgres/postgres-database.ts";
import { SqliteDatabase } from "./sqlite/sqlite-database.ts";
import type { SqliteOptions, SqliteSynchronous } from "./sqlite/sqlite-database.ts";

export interface OpenDatabaseOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: errors on idle pooled connections. */
  onError?: (err: Error) => void;
}

export async function openDatabase(url: string, opts: OpenDatabaseOptions = {}): Promise<Database> {
  if (url.startsWith("sqlite:")) return openSqlite(url);
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return PostgresDatabase.connect({ url, max: opts.poolSize, onError: opts.onError });
  }
  throw new Error(
    `unsupported database URL ${JSON.stringify(redactUrl(url))}: expected sqlite:/path/file.sqlite, sqlite::memory: or postgres://user@host/db`,
  );
}

/** Splits a sqlite: URL into adapter options (exported for tests). */
export function parseSqliteUrl(url: string): SqliteOptions {
  let rest = url.slice("sqlite:".length);
  let query = "";
  const q = rest.indexOf("?");
  if (q !== -1) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let path: string;
  if (rest === ":memory:") path = ":memory:";
  else if (rest.startsWith("///")) path = decodeURIComponent(rest.slice(2));
  else if (rest.startsWith("//")) {
    throw new Error(`bad database URL ${JSON.stringify(url)}: use sqlite:/absolute/path or sqlite:relative/path (no host part)`);
  } else if (rest === "") throw new Error(`bad database URL ${JSON.stringify(url)}: no file path`);
  else path = resolve(decodeURIComponent(rest));

  const opts: SqliteOptions = { path };
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === "synchronous") {
      const v = value.toLowerCase();
      if (!["off", "normal", "full", "extra"].includes(v)) {
        throw new Error(`bad database URL ${JSON.stringify(url)}: synchronous must be off, normal, full or extra`);
      }
      opts.synchronous = v as SqliteSynchronous;
    } else if (key === "busy_timeout") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad database URL ${JSON.stringify(url)}: busy_timeout must be milliseconds`);
      opts.busyTimeoutMs = n;
    } else {
      throw new Error(`bad database URL ${JSON.stringify(url)}: unknown parameter ${JSON.stringify(key)} (known: synchronous, busy_timeout)`);
    }
  }
  return opts;
}

async function openSqlite(url: string): Promise<Database> {
  const opts = parseSqliteUrl(url);
  try {
    if (opts.path !== ":memory:") mkdirSync(dirname(opts.path), { recursive: true });
    return new SqliteDatabase(opts);
  } catch (err) {
    throw new Error(`cannot open SQLite database ${url} (${opts.path}): ${(err as Error).message}`, { cause: err });
  }
}
