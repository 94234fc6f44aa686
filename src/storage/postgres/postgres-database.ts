/**
 * PostgreSQL adapter on a `pg` Pool. Plain statements take any pooled connection; a
 * transaction holds one dedicated client from BEGIN to COMMIT/ROLLBACK. int8 (BIGINT,
 * COUNT(*)) is parsed to a JavaScript number for this pool only (the global pg type table is
 * left alone); a value beyond 2^53 stays a string and fails loudly in toInt().
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import type { PoolClient } from "pg";
import type { Database, DatabaseCaps, Migration, Queryable } from "../../core/storage/database.ts";
import { checkMigrations, pendingMigrations } from "../../core/storage/database.ts";

export interface PostgresOptions {
  url: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Give up connecting after this long (ms). Default 10000. */
  connectTimeoutMs?: number;
  /** Errors of idle pooled connections (server restart…). Default: process.emitWarning. */
  onError?: (err: Error) => void;
  applicationName?: string;
}

/** Arbitrary constant key for pg_advisory_lock while migrating (the same for every module). */
const MIGRATION_LOCK_KEY = "7165863254721580633";

/** The URL with its password replaced by "***", for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
  }
}

/** One line describing a connection error, including AggregateError's inner errors. */
export function describePgError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map((e) => describePgError(e)))].join("; ");
  }
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const msg = err.message || err.name;
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

function parseInt8(v: string): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

class PostgresTx implements Queryable {
  active = true;
  readonly client: PoolClient;
  constructor(client: PoolClient) {
    this.client = client;
  }
  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    this.#check();
    const r = await this.client.query(sql, params as unknown[] | undefined);
    return r.rows as T[];
  }
  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    this.#check();
    const r = await this.client.query(sql, params as unknown[] | undefined);
    return { changes: r.rowCount ?? 0 };
  }
  #check(): void {
    if (!this.active) throw new Error("transaction handle used after its transaction ended");
  }
}

export class PostgresDatabase implements Database {
  readonly dialect = "postgres" as const;
  readonly caps: DatabaseCaps = { fullText: true };
  /** The URL with the password redacted. */
  readonly label: string;
  readonly #pool: pg.Pool;
  readonly #txContext = new AsyncLocalStorage<PostgresTx>();
  #closed = false;

  private constructor(pool: pg.Pool, label: string) {
    this.#pool = pool;
    this.label = label;
  }

  /** Creates the pool and checks that the server answers; throws a descriptive error if not. */
  static async connect(opts: PostgresOptions): Promise<PostgresDatabase> {
    const label = redactUrl(opts.url);
    const types = new pg.TypeOverrides();
    types.setTypeParser(20, parseInt8); // int8
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: opts.applicationName ?? "parley",
      types,
    });
    const onError =
      opts.onError ?? ((err: Error) => process.emitWarning(`PostgreSQL ${label}: ${describePgError(err)}`, "ParleyDatabase"));
    pool.on("error", onError);
    try {
      await pool.query("SELECT 1");
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`cannot connect to PostgreSQL at ${label}: ${describePgError(err)}`, { cause: err });
    }
    return new PostgresDatabase(pool, label);
  }

  #check(): void {
    if (this.#closed) throw new Error(`database ${this.label} is closed`);
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const tx = this.#txContext.getStore();
    if (tx?.active) return tx.query<T>(sql, params); // joined: same semantics as SQLite
    this.#check();
    const r = await this.#pool.query(sql, params as unknown[] | undefined);
    return r.rows as T[];
  }

  async run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    const tx = this.#txContext.getStore();
    if (tx?.active) return tx.run(sql, params);
    this.#check();
    const r = await this.#pool.query(sql, params as unknown[] | undefined);
    return { changes: r.rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.#txContext.getStore()?.active) {
      throw new Error("nested transaction: use the tx handle you were given (transactions do not nest)");
    }
    this.#check();
    const client = await this.#pool.connect();
    const tx = new PostgresTx(client);
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await this.#txContext.run(tx, () => fn(tx));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // connection unusable: destroy it rather than return it to the pool
      }
      throw err;
    } finally {
      tx.active = false;
      client.release(broken || undefined);
    }
  }

  async migrate(owner: string, migrations: Migration[]): Promise<void> {
    const list = checkMigrations(owner, migrations);
    this.#check();
    const client = await this.#pool.connect();
    let broken = false;
    try {
      // Session-level advisory lock: a second process starting at the same moment waits here
      // and then finds the migrations applied.
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      try {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          owner TEXT NOT NULL,
          version INTEGER NOT NULL,
          name TEXT NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          PRIMARY KEY (owner, version)
        )`);
        const { rows } = await client.query<{ version: number; name: string }>(
          "SELECT version, name FROM schema_migrations WHERE owner = $1",
          [owner],
        );
        const applied = new Map(rows.map((r) => [Number(r.version), r.name]));
        for (const m of pendingMigrations(owner, list, applied)) {
          await client.query("BEGIN");
          try {
            await client.query(m.sql); // simple protocol: several statements allowed
            await client.query("INSERT INTO schema_migrations (owner, version, name) VALUES ($1, $2, $3)", [
              owner,
              m.version,
              m.name,
            ]);
            await client.query("COMMIT");
          } catch (err) {
            await client.query("ROLLBACK").catch(() => {
              broken = true;
            });
            throw new Error(`${owner}: migration ${m.version}_${m.name} failed: ${describePgError(err)}`, { cause: err });
          }
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {
          broken = true; // closing the connection releases the lock
        });
      }
    } finally {
      client.release(broken || undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Errors of connections that are going away (e.g. a database dropped right after close)
    // are of no interest any more; a listener must stay, or pg would throw them.
    this.#pool.removeAllListeners("error");
    this.#pool.on("error", () => {});
    await this.#pool.end();
  }
}
