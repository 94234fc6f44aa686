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

const SYNC_VALUES: readonly SqliteSynchronous[] = ["off", "normal", "full", "extra"];

/**
 * Rewrites PostgreSQL-style `$1` placeholders to SQLite's numbered `?1`, leaving string
 * literals, quoted identifiers and comments untouched.
 */
export function rewritePlaceholders(sql: string): string {
  if (!sql.includes("$")) return sql;
  let out = "";
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "$" && isDigit(sql.charCodeAt(i + 1)) && !isWordChar(sql.charCodeAt(i - 1))) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      out += "?" + sql.slice(i + 1, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
function isWordChar(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function toSqlite(params: readonly unknown[] | undefined): SQLInputValue[] {
  if (!params || params.length === 0) return [];
  const out = new Array<SQLInputValue>(params.length);
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    switch (typeof v) {
      case "string":
      case "bigint":
        out[i] = v;
        break;
      case "number":
        // node:sqlite binds every JS number as REAL; bind integers as INTEGER so that
        // `SELECT $1`, LIMIT and typeof() behave as they do on PostgreSQL.
        out[i] = Number.isSafeInteger(v) ? BigInt(v) : v;
        break;
      case "boolean":
        out[i] = v ? 1 : 0;
        break;
      case "undefined":
        out[i] = null;
        break;
      default:
        if (v === null) out[i] = null;
        else if (v instanceof Date) out[i] = v.getTime();
        else if (v instanceof Uint8Array) out[i] = v;
        else throw new TypeError(`SQL parameter $${i + 1}: cannot bind a value of type ${(v as object).constructor?.name ?? typeof v}`);
    }
  }
  return out;
}

class SqliteTx implements Queryable {
  active = true;
  readonly #db: SqliteDatabase;
  constructor(db: SqliteDatabase) {
    this.#db = db;
  }
  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    this.#check();
    return this.#db.querySync<T>(sql, params);
  }
  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    this.#check();
    return this.#db.runSync(sql, params);
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
  readonly #cache = new Map<string, StatementSync>();
  readonly #cacheSize: number;
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

  #statement(sql: string): StatementSync {
    if (this.#closed) throw new Error(`database ${this.path} is closed`);
    let stmt = this.#cache.get(sql);
    if (stmt) {
      // keep the most recently used at the end of the Map (LRU order)
      this.#cache.delete(sql);
      this.#cache.set(sql, stmt);
      return stmt;
    }
    stmt = this.#db.prepare(rewritePlaceholders(sql));
    this.#cache.set(sql, stmt);
    if (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    return stmt;
  }

  /** @internal used by the transaction handle, which already holds the lock. */
  querySync<T>(sql: string, params?: readonly unknown[]): T[] {
    return this.#statement(sql).all(...toSqlite(params)) as T[];
  }

  /** @internal */
  runSync(sql: string, params?: readonly unknown[]): { changes: number } {
    const r = this.#statement(sql).run(...toSqlite(params));
    return { changes: Number(r.changes) };
  }

  /** Waits until no transaction of another async context holds the connection. */
  async #idle(): Promise<void> {
    if (this.#txContext.getStore()?.active) return; // we are inside the holder: join it
    while (this.#lock) await this.#lock;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    if (this.#lock) await this.#idle();
    return this.querySync<T>(sql, params);
  }

  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    if (this.#lock) await this.#idle();
    return this.runSync(sql, params);
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

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.#txContext.getStore()?.active) {
      throw new Error("nested transaction: use the tx handle you were given (transactions do not nest)");
    }
    const release = await this.#acquire();
    try {
      if (this.#closed) throw new Error(`database ${this.path} is closed`);
      this.#db.exec("BEGIN IMMEDIATE");
      const tx = new SqliteTx(this);
      try {
        const result = await this.#txContext.run(tx, () => fn(tx));
        this.#db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
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
          const rows = this.querySync<{ version: number; name: string }>(
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
          this.runSync("INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES ($1, $2, $3, $4)", [
            owner,
            next.version,
            next.name,
            Date.now(),
          ]);
          this.#db.exec("COMMIT");
        } catch (err) {
          if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
          throw err;
        }
      }
    } finally {
      // schema changed: cached statements re-prepare themselves, but drop them anyway
      this.#cache.clear();
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
      this.#db.close();
    } finally {
      release();
    }
  }
}
