// A Database decorator that times every statement and transaction. Applied once, at
// composition (src/server.ts), so no adapter and no store knows about metrics.
import type { Database, DatabaseCaps, Dialect, Migration, Queryable } from "../storage/database.ts";

export type StorageOp = "query" | "run" | "transaction";

/** Receives one observation: the operation, its duration in seconds, and whether it succeeded. */
export type QueryTimer = (op: StorageOp, seconds: number, ok: boolean) => void;

function timed<R>(timer: QueryTimer, op: StorageOp, run: () => Promise<R>): Promise<R> {
  const start = performance.now();
  let p: Promise<R>;
  try {
    p = run();
  } catch (err) {
    timer(op, (performance.now() - start) / 1000, false);
    return Promise.reject(err);
  }
  return p.then(
    (v) => {
      timer(op, (performance.now() - start) / 1000, true);
      return v;
    },
    (err) => {
      timer(op, (performance.now() - start) / 1000, false);
      throw err;
    },
  );
}

function timedQueryable(inner: Queryable, timer: QueryTimer): Queryable {
  return {
    query: <T = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => timed(timer, "query", () => inner.query<T>(sql, params)),
    run: (sql: string, params?: readonly unknown[]) => timed(timer, "run", () => inner.run(sql, params)),
  };
}

class TimedDatabase implements Database {
  private readonly inner: Database;
  private readonly timer: QueryTimer;

  constructor(inner: Database, timer: QueryTimer) {
    this.inner = inner;
    this.timer = timer;
  }

  get dialect(): Dialect {
    return this.inner.dialect;
  }
  get caps(): DatabaseCaps {
    return this.inner.caps;
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return timed(this.timer, "query", () => this.inner.query<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return timed(this.timer, "run", () => this.inner.run(sql, params));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return timed(this.timer, "transaction", () => this.inner.transaction((tx) => fn(timedQueryable(tx, this.timer))));
  }

  migrate(owner: string, migrations: Migration[]): Promise<void> {
    return this.inner.migrate(owner, migrations);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function timeDatabase(db: Database, timer: QueryTimer): Database {
  return new TimedDatabase(db, timer);
}
