import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, listPlaceholders, toDate, toInt, valuesPlaceholders } from "../../../core/storage/values.ts";
import type { OfflineMessage, OfflineStore } from "./types.ts";

/** Migration owner and table prefix. */
export const OFFLINE_OWNER = "offline";

const BATCH = 1000; // rows per multi-row insert (3,000 parameters)
const DELETE_BATCH = 500; // ids per DELETE … IN (…)

interface Row {
  id: unknown;
  owner: string;
  stanza: string;
  stamp: unknown;
}

function checkStamp(stamp: Date): Date {
  if (!(stamp instanceof Date) || Number.isNaN(stamp.getTime())) throw new TypeError("offline message stamp must be a valid Date");
  return stamp;
}

export class SqlOfflineStore implements OfflineStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async push(owner: string, stanza: string, stamp: Date): Promise<number> {
    const rows = await this.#db.query<{ id: unknown }>(
      "INSERT INTO offline_messages (owner, stanza, stamp) VALUES ($1, $2, $3) RETURNING id",
      [owner, stanza, checkStamp(stamp)],
    );
    return toInt(rows[0].id);
  }

  async pushMany(items: Array<{ owner: string; stanza: string; stamp: Date }>): Promise<void> {
    if (items.length === 0) return;
    await this.#db.transaction(async (tx) => {
      for (const batch of chunks(items, BATCH)) {
        const args: unknown[] = [];
        for (const m of batch) args.push(m.owner, m.stanza, checkStamp(m.stamp));
        await tx.run(`INSERT INTO offline_messages (owner, stanza, stamp) VALUES ${valuesPlaceholders(batch.length, 3)}`, args);
      }
    });
  }

  async list(owner: string, limit?: number): Promise<OfflineMessage[]> {
    let sql = "SELECT id, owner, stanza, stamp FROM offline_messages WHERE owner = $1 ORDER BY id";
    const args: unknown[] = [owner];
    if (limit !== undefined) {
      if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`bad limit ${limit}`);
      sql += " LIMIT $2";
      args.push(limit);
    }
    const rows = await this.#db.query<Row>(sql, args);
    return rows.map((r) => ({ id: toInt(r.id), owner: r.owner, stanza: r.stanza, stamp: toDate(r.stamp) }));
  }

  async delete(owner: string, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const unique = [...new Set(ids)];
    if (unique.length <= DELETE_BATCH) return this.#deleteBatch(this.#db, owner, unique);
    return this.#db.transaction(async (tx) => {
      let n = 0;
      for (const batch of chunks(unique, DELETE_BATCH)) n += await this.#deleteBatch(tx, owner, batch);
      return n;
    });
  }

  async #deleteBatch(q: Pick<Database, "run">, owner: string, ids: number[]): Promise<number> {
    const { changes } = await q.run(
      `DELETE FROM offline_messages WHERE owner = $1 AND id IN (${listPlaceholders(ids.length, 2)})`,
      [owner, ...ids],
    );
    return changes;
  }

  async count(owner: string): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM offline_messages WHERE owner = $1", [owner]);
    return toInt(rows[0].n);
  }

  async removeOwner(owner: string): Promise<void> {
    await this.#db.run("DELETE FROM offline_messages WHERE owner = $1", [owner]);
  }
}

/** Applies the offline migrations and returns the store. */
export async function openOfflineStore(db: Database): Promise<SqlOfflineStore> {
  await db.migrate(OFFLINE_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlOfflineStore(db);
}
