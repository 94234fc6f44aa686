/**
 * SQLite adapter on node:sqlite (DatabaseSync): one connection per process, WAL journal,
 * busy_timeout for other processes holding the write lock, foreign keys on, a bounded
 * prepared-statement cache.
 *
 * node:sqlite is synchronous, so every statement runs to completion before its promise is
 * returned. A transaction, however, spans awaits; since all callers share the one connection,
 * a transaction holds a lock for its whole duration and everything else on this handle (other
 * transactions and plain statements) waits for it. Code running inside the transaction's
 * async context that uses the Database handle instead of `tx` joins the transaction rather
 * than deadlocking; calling transaction() inside a transaction throws.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { DatabaseSync, backup as sqliteBackup } from "node:sqlite";
import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { Database, DatabaseCaps, Migration, Queryable } from "../../core/storage/database.ts";
import { checkMigrations, pendingMigrations } from "../../core/storage/database.ts";

export type SqliteSynchronous = "off" | "normal" | "full" | "extra";

export interface SqliteOptions {
  /** File path, or ":memory:". */
  path: string;
  /** How long to wait for another process's write lock (ms). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * PRAGMA synchronous. "normal" (default) in WAL mode survives a process crash but may lose
   * the last commits on power loss or an OS crash; "full" syncs on every commit.
   */
  synchronous?: SqliteSynchronous;
  /** Prepared statements kept per connection. Default 256. */
  statementCacheSize?: number;
}

/** SQL longer than this (bulk statements) goes to a separate cache of BIG_CACHE_SIZE entries. */
const BIG_SQL = 4096;
const BIG_CACHE_SIZE = 8;

const SYNC_VALUES: readonly SqliteSynchronous[] = ["off", "normal", "full", "extra"];

/**
 * Rewrites PostgreSQL-style `$1` placeholders to SQLite's anonymous `?`, leaving string
 * literals, quoted identifiers and comments untouched, and returns for each `?` (in order)
 * the 0-based index of the parameter it takes. `$n` may repeat and appear in any order.
 *
 * Why not SQLite's own `?NNN`: node:sqlite binds numbered parameters about a hundred times
 * slower than anonymous ones (measured: 5,000 ten-column rows in 485 ms vs 6 ms), which
 * made bulk imports crawl. A literal `?` in the SQL is refused: write `$n`.
 */
export function rewritePlaceholders(sql: string): { sql: string; order: number[] } {
  const order: number[] = [];
  if (!sql.includes("$") && !sql.includes("?")) return { sql, order };
  let out = "";
  let i = 0;
  let from = 0; // start of the not-yet-copied span
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      const end = sql.indexOf(c, i + 1);
      i = end === -1 ? n : end + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "$" && isDigit(sql.charCodeAt(i + 1)) && !isWordChar(sql.charCodeAt(i - 1))) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      const index = Number(sql.slice(i + 1, j));
      if (index < 1) throw new Error(`bad placeholder $${index} in SQL: ${sql.slice(0, 200)}`);
      out += sql.slice(from, i) + "?";
      order.push(index - 1);
      i = from = j;
    } else if (c === "?") {
      throw new Error(`use $1, $2 … placeholders, not "?", in SQL: ${sql.slice(0, 200)}`);
    } else {
      i++;
    }
  }
  out += sql.slice(from);
  return { sql: out, order };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
function isWordChar(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function toSqliteValue(v: unknown, i: number): SQLInputValue {
  let out: SQLInputValue;
  switch (typeof v) {
    case "string":
    case "bigint":
      out = v;
      break;
    case "number":
      // node:sqlite binds every JS number as REAL; bind integers as INTEGER so that
      // `SELECT $1`, LIMIT and typeof() behave as they do on PostgreSQL.
      out = Number.isSafeInteger(v) ? BigInt(v) : v;
      break;
    case "boolean":
      out = v ? 1n : 0n;
      break;
    case "undefined":
      out = null;
      break;
    default:
      if (v === null) out = null;
      else if (v instanceof Date) {
        const ms = v.getTime();
        if (Number.isNaN(ms)) throw new TypeError(`SQL parameter $${i + 1}: invalid Date`);
        out = BigInt(ms);
      } else if (v instanceof Uint8Array) out = v;
      else throw new TypeError(`SQL parameter $${i + 1}: cannot bind a value of type ${(v as object).constructor?.name ?? typeof v}`);
  }
  return out;
}

/** A prepared statement and, for each `?`, the index of the `$n` parameter it binds. */
interface Prepared {
  stmt: StatementSync;
  order: number[];
  /** Highest $n used: the number of parameters the caller must pass. */
  arity: number;
}

function bind(p: Prepared, params: readonly unknown[] | undefined): SQLInputValue[] {
  // as strict as PostgreSQL, so that a mistake shows up on either backend
  const given = params?.length ?? 0;
  if (given !== p.arity) throw new RangeError(`SQL expects ${p.arity} parameters, got ${given}`);
  const out = new Array<SQLInputValue>(p.order.length);
  for (let k = 0; k < p.order.length; k++) {
    const i = p.order[k];
    out[k] = toSqliteValue(params![i], i);
  }
  return out;
}

type QueryFn = (sql: string, params?: readonly unknown[]) => unknown[];
type RunFn = (sql: string, params?: readonly unknown[]) => { changes: number };

class SqliteTx implements Queryable {
  active = true;
  readonly #query: QueryFn;
  readonly #run: RunFn;
  constructor(query: QueryFn, run: RunFn) {
    this.#query = query;
    this.#run = run;
  }
  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    this.#check();
    return this.#query(sql, params) as T[];
  }
  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    this.#check();
    return this.#run(sql, params);
  }
  #check(): void {
    if (!this.active) throw new Error("transaction handle used after its transaction ended");
  }
}

export class SqliteDatabase implements Database {
  readonly dialect = "sqlite" as const;
  readonly caps: DatabaseCaps;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, Prepared>();
  readonly #cacheSize: number;
  /**
   * Bulk statements (multi-row inserts) are large, in SQL and in the prepared program; they get
   * their own small cache so that a few of them cannot crowd out, or bloat, the main one.
   */
  readonly #bigCache = new Map<string, Prepared>();
  readonly #txContext = new AsyncLocalStorage<SqliteTx>();
  /** Set while a transaction (or migration) holds the connection; resolves on release. */
  #lock: Promise<void> | undefined;
  #closed = false;

  constructor(opts: SqliteOptions) {
    this.path = opts.path;
    this.#cacheSize = opts.statementCacheSize ?? 256;
    const sync = opts.synchronous ?? "normal";
    if (!SYNC_VALUES.includes(sync)) throw new Error(`bad synchronous setting ${JSON.stringify(sync)}`);
    this.#db = new DatabaseSync(opts.path, {
      enableForeignKeyConstraints: true,
      enableDoubleQuotedStringLiterals: false,
      timeout: opts.busyTimeoutMs ?? 5000,
    });
    try {
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      const options = this.#db.prepare("PRAGMA compile_options").all() as Array<{ compile_options: string }>;
      this.caps = { fullText: options.some((o) => o.compile_options === "ENABLE_FTS5") };
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  // -- statements -------------------------------------------------------------------------

  #statement(sql: string): Prepared {
    if (this.#closed) throw new Error(`database ${this.path} is closed`);
    const big = sql.length > BIG_SQL;
    const cache = big ? this.#bigCache : this.#cache;
    let p = cache.get(sql);
    if (p) {
      // keep the most recently used at the end of the Map (LRU order)
      cache.delete(sql);
      cache.set(sql, p);
      return p;
    }
    const rewritten = rewritePlaceholders(sql);
    p = { stmt: this.#db.prepare(rewritten.sql), order: rewritten.order, arity: 0 };
    for (const i of p.order) p.arity = Math.max(p.arity, i + 1);
    cache.set(sql, p);
    if (cache.size > (big ? BIG_CACHE_SIZE : this.#cacheSize)) cache.delete(cache.keys().next().value as string);
    return p;
  }

  /** Runs at once: for the lock holder only (transactions, migrate) or when no one holds it. */
  #querySync<T>(sql: string, params?: readonly unknown[]): T[] {
    const p = this.#statement(sql);
    return p.stmt.all(...bind(p, params)) as T[];
  }

  #runSync(sql: string, params?: readonly unknown[]): { changes: number } {
    const p = this.#statement(sql);
    const r = p.stmt.run(...bind(p, params));
    return { changes: Number(r.changes) };
  }

  /** Waits until no transaction of another async context holds the connection. */
  async #idle(): Promise<void> {
    if (this.#txContext.getStore()?.active) return; // we are inside the holder: join it
    while (this.#lock) await this.#lock;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    if (this.#lock) await this.#idle();
    return this.#querySync<T>(sql, params);
  }

  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    if (this.#lock) await this.#idle();
    return this.#runSync(sql, params);
  }

  // -- transactions -----------------------------------------------------------------------

  async #acquire(): Promise<() => void> {
    while (this.#lock) await this.#lock;
    let resolve!: () => void;
    this.#lock = new Promise<void>((r) => (resolve = r));
    return () => {
      this.#lock = undefined;
      resolve();
    };
  }

  /** Rolls back if a transaction is open; a failing ROLLBACK must not hide the original error. */
  #rollback(): void {
    try {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // SQLite already rolled back (e.g. after SQLITE_FULL); nothing more to do
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.#txContext.getStore()?.active) {
      throw new Error("nested transaction: use the tx handle you were given (transactions do not nest)");
    }
    const release = await this.#acquire();
    try {
      if (this.#closed) throw new Error(`database ${this.path} is closed`);
      this.#db.exec("BEGIN IMMEDIATE");
      const tx = new SqliteTx(
        (sql, params) => this.#querySync(sql, params),
        (sql, params) => this.#runSync(sql, params),
      );
      try {
        const result = await this.#txContext.run(tx, () => fn(tx));
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        this.#rollback();
        throw err;
      } finally {
        tx.active = false;
      }
    } finally {
      release();
    }
  }

  // -- migrations -------------------------------------------------------------------------

  async migrate(owner: string, migrations: Migration[]): Promise<void> {
    const list = checkMigrations(owner, migrations);
    if (this.#txContext.getStore()?.active) throw new Error("migrate() cannot run inside a transaction");
    const release = await this.#acquire();
    try {
      this.#db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        owner TEXT NOT NULL,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        applied_at INTEGER NOT NULL,
        PRIMARY KEY (owner, version)
      )`);
      // One migration per transaction. BEGIN IMMEDIATE takes the write lock, so a second
      // process starting at the same moment waits (busy_timeout) and then sees our rows.
      for (;;) {
        this.#db.exec("BEGIN IMMEDIATE");
        try {
          const rows = this.#querySync<{ version: number; name: string }>(
            "SELECT version, name FROM schema_migrations WHERE owner = $1",
            [owner],
          );
          const applied = new Map(rows.map((r) => [Number(r.version), r.name]));
          const next = pendingMigrations(owner, list, applied)[0];
          if (!next) {
            this.#db.exec("COMMIT");
            return;
          }
          try {
            this.#db.exec(next.sql);
          } catch (err) {
            throw new Error(`${owner}: migration ${next.version}_${next.name} failed: ${(err as Error).message}`, { cause: err });
          }
          this.#runSync("INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES ($1, $2, $3, $4)", [
            owner,
            next.version,
            next.name,
            Date.now(),
          ]);
          this.#db.exec("COMMIT");
        } catch (err) {
          this.#rollback();
          throw err;
        }
      }
    } finally {
      // schema changed: cached statements re-prepare themselves, but drop them anyway
      this.#cache.clear();
      this.#bigCache.clear();
      release();
    }
  }

  // -- maintenance ------------------------------------------------------------------------

  /**
   * Writes a consistent copy of the database to toPath with SQLite's online backup API,
   * a few hundred pages at a time so the event loop keeps running. Safe while the server runs
   * (and against other processes writing the file). Returns the number of pages copied.
   */
  async backup(toPath: string): Promise<number> {
    if (this.#closed) throw new Error(`database ${this.path} is closed`);
    return sqliteBackup(this.#db, toPath, { rate: 256 });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const release = await this.#acquire();
    try {
      if (this.#closed) return;
      this.#closed = true;
      this.#cache.clear();
      this.#bigCache.clear();
      this.#db.close();
    } finally {
      release();
    }
  }
}
