import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { toDate } from "../../../core/storage/values.ts";
import type { StoredVcard, VcardStore } from "./types.ts";

/** Migration owner and table prefix. */
export const VCARD_OWNER = "vcard";

interface Row {
  owner: string;
  xml: string;
  photo_hash: string | null;
  updated_at: unknown;
}

function checkHash(h: string | null): string | null {
  if (h !== null && typeof h !== "string") throw new TypeError("photo hash must be a string or null");
  return h;
}

export class SqlVcardStore implements VcardStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async get(owner: string): Promise<StoredVcard | undefined> {
    const rows = await this.#db.query<Row>("SELECT owner, xml, photo_hash, updated_at FROM vcard_cards WHERE owner = $1", [owner]);
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { owner: r.owner, xml: r.xml, photoHash: r.photo_hash ?? null, updatedAt: toDate(r.updated_at) };
  }

  async photoHash(owner: string): Promise<string | null | undefined> {
    const rows = await this.#db.query<{ photo_hash: string | null }>("SELECT photo_hash FROM vcard_cards WHERE owner = $1", [owner]);
    return rows.length === 0 ? undefined : (rows[0].photo_hash ?? null);
  }

  async set(owner: string, xml: string, photoHash: string | null, updatedAt: Date = new Date()): Promise<void> {
    if (typeof xml !== "string") throw new TypeError("vCard XML must be a string");
    if (!(updatedAt instanceof Date) || Number.isNaN(updatedAt.getTime())) throw new TypeError("updatedAt must be a valid Date");
    await this.#db.run(
      `INSERT INTO vcard_cards (owner, xml, photo_hash, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner) DO UPDATE SET xml = excluded.xml, photo_hash = excluded.photo_hash, updated_at = excluded.updated_at`,
      [owner, xml, checkHash(photoHash), updatedAt],
    );
  }

  async remove(owner: string): Promise<boolean> {
    const { changes } = await this.#db.run("DELETE FROM vcard_cards WHERE owner = $1", [owner]);
    return changes > 0;
  }
}

/** Applies the vcard migrations and returns the store. */
export async function openVcardStore(db: Database): Promise<SqlVcardStore> {
  await db.migrate(VCARD_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlVcardStore(db);
}
