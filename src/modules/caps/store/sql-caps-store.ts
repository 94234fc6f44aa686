import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { toInt } from "../../../core/storage/values.ts";
import type { CapsRecord, CapsStore } from "./types.ts";

/** Migration owner and table prefix. */
export const CAPS_OWNER = "caps";

export class SqlCapsStore implements CapsStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async get(hash: string, ver: string): Promise<CapsRecord | undefined> {
    const rows = await this.#db.query<CapsRecord>("SELECT hash, ver, identities, features, forms FROM caps_entries WHERE hash = $1 AND ver = $2", [hash, ver]);
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { hash: r.hash, ver: r.ver, identities: r.identities, features: r.features, forms: r.forms };
  }

  async put(rec: CapsRecord): Promise<void> {
    for (const k of ["hash", "ver", "identities", "features", "forms"] as const) {
      if (typeof rec[k] !== "string") throw new TypeError(`caps record ${k} must be a string`);
    }
    await this.#db.run(
      `INSERT INTO caps_entries (hash, ver, identities, features, forms, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (hash, ver) DO NOTHING`,
      [rec.hash, rec.ver, rec.identities, rec.features, rec.forms, new Date()],
    );
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM caps_entries");
    return toInt(rows[0].n);
  }
}

/** Applies the caps migrations and returns the store. */
export async function openCapsStore(db: Database): Promise<SqlCapsStore> {
  await db.migrate(CAPS_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlCapsStore(db);
}
