import type { Database, Queryable } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, listPlaceholders, toInt, valuesPlaceholders } from "../../../core/storage/values.ts";
import type { BlockingStore } from "./types.ts";

/** Migration owner and table prefix. */
export const BLOCKING_OWNER = "blocking";

const BATCH = 500; // rows per statement (1,000 parameters)

/** Distinct values in first-seen order. */
function distinct(jids: readonly string[]): string[] {
  return [...new Set(jids)];
}

function checkJids(jids: readonly string[]): void {
  for (const j of jids) if (typeof j !== "string" || j === "") throw new TypeError("blocked JIDs must be non-empty strings");
}

export class SqlBlockingStore implements BlockingStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async list(owner: string): Promise<string[]> {
    const rows = await this.#db.query<{ jid: string }>("SELECT jid FROM blocking_items WHERE owner = $1 ORDER BY id", [owner]);
    return rows.map((r) => r.jid);
  }

  async add(owner: string, jids: readonly string[]): Promise<string[]> {
    checkJids(jids);
    const wanted = distinct(jids);
    if (wanted.length === 0) return [];
    const run = async (q: Queryable): Promise<Set<string>> => {
      const added = new Set<string>();
      for (const batch of chunks(wanted, BATCH)) {
        const args: unknown[] = [];
        for (const j of batch) args.push(owner, j);
        const rows = await q.query<{ jid: string }>(
          `INSERT INTO blocking_items (owner, jid) VALUES ${valuesPlaceholders(batch.length, 2)}
           ON CONFLICT (owner, jid) DO NOTHING RETURNING jid`,
          args,
        );
        for (const r of rows) added.add(r.jid);
      }
      return added;
    };
    const added = wanted.length <= BATCH ? await run(this.#db) : await this.#db.transaction(run);
    return wanted.filter((j) => added.has(j));
  }

  async remove(owner: string, jids: readonly string[]): Promise<string[]> {
    checkJids(jids);
    const wanted = distinct(jids);
    if (wanted.length === 0) return [];
    const run = async (q: Queryable): Promise<Set<string>> => {
      const removed = new Set<string>();
      for (const batch of chunks(wanted, BATCH)) {
        const rows = await q.query<{ jid: string }>(
          `DELETE FROM blocking_items WHERE owner = $1 AND jid IN (${listPlaceholders(batch.length, 2)}) RETURNING jid`,
          [owner, ...batch],
        );
        for (const r of rows) removed.add(r.jid);
      }
      return removed;
    };
    const removed = wanted.length <= BATCH ? await run(this.#db) : await this.#db.transaction(run);
    return wanted.filter((j) => removed.has(j));
  }

  async clear(owner: string): Promise<string[]> {
    const rows = await this.#db.query<{ id: unknown; jid: string }>("DELETE FROM blocking_items WHERE owner = $1 RETURNING id, jid", [owner]);
    return rows
      .map((r) => ({ id: toInt(r.id), jid: r.jid }))
      .sort((a, b) => a.id - b.id)
      .map((r) => r.jid);
  }

  async count(owner: string): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM blocking_items WHERE owner = $1", [owner]);
    return toInt(rows[0].n);
  }

  async removeOwner(owner: string): Promise<void> {
    await this.#db.run("DELETE FROM blocking_items WHERE owner = $1", [owner]);
  }
}

/** Applies the blocking migrations and returns the store. */
export async function openBlockingStore(db: Database): Promise<SqlBlockingStore> {
  await db.migrate(BLOCKING_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlBlockingStore(db);
}
