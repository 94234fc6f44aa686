import type { Database, Queryable } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, toBool, toInt, toOptString, valuesPlaceholders } from "../../../core/storage/values.ts";
import { CONTACT_LEVELS, type ContactLevel, type PendingIn, type RosterItem, type RosterStore, type Subscription } from "./types.ts";

/** Migration owner and table prefix. */
export const ROSTER_OWNER = "roster";

const ITEM_COLUMNS = "owner, contact, name, subscription, ask_out, approved, groups, privacy_level";
const SELECT_COLUMNS = "contact, name, subscription, ask_out, approved, groups, privacy_level";
const NCOLS = 8;
const BATCH = 1000; // 8,000 parameters per statement

const UPSERT_TAIL = `ON CONFLICT (owner, contact) DO UPDATE SET
  name = excluded.name, subscription = excluded.subscription, ask_out = excluded.ask_out,
  approved = excluded.approved, groups = excluded.groups, privacy_level = excluded.privacy_level`;

/** Bulk imports keep a level already given to the contact when the row has none. */
const IMPORT_TAIL = `ON CONFLICT (owner, contact) DO UPDATE SET
  name = excluded.name, subscription = excluded.subscription, ask_out = excluded.ask_out,
  approved = excluded.approved, groups = excluded.groups,
  privacy_level = COALESCE(excluded.privacy_level, roster_items.privacy_level)`;

/**
 * Bumps the owner's version. The first version of an owner is the current time in
 * milliseconds rather than 1, so a deleted and re-created account never hands out a version
 * that a client may still have cached from the old one.
 */
const BUMP_ONE = `INSERT INTO roster_versions (owner, version) VALUES ($1, $2)
  ON CONFLICT (owner) DO UPDATE SET version = roster_versions.version + 1
  RETURNING version`;

interface ItemRow {
  contact: string;
  name: unknown;
  subscription: string;
  ask_out: unknown;
  approved: unknown;
  groups: unknown;
  privacy_level: unknown;
}

function itemParams(owner: string, item: RosterItem): unknown[] {
  return [
    owner,
    item.jid,
    item.name === undefined || item.name === "" ? null : item.name,
    item.subscription,
    item.askOut,
    item.approved,
    JSON.stringify(item.groups ?? []),
    item.level ?? null,
  ];
}

function toItem(r: ItemRow): RosterItem {
  const item: RosterItem = {
    jid: r.contact,
    subscription: r.subscription as Subscription,
    askOut: toBool(r.ask_out),
    approved: toBool(r.approved),
    // SQLite: JSON text; PostgreSQL: jsonb, already parsed by pg
    groups: (typeof r.groups === "string" ? JSON.parse(r.groups) : r.groups) as string[],
  };
  const name = toOptString(r.name);
  if (name !== undefined) item.name = name;
  const level = toOptString(r.privacy_level);
  if (level !== undefined && (CONTACT_LEVELS as readonly string[]).includes(level)) item.level = level as ContactLevel;
  return item;
}

async function bump(q: Queryable, owner: string): Promise<number> {
  const rows = await q.query<{ version: unknown }>(BUMP_ONE, [owner, Date.now()]);
  return toInt(rows[0].version);
}

export class SqlRosterStore implements RosterStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async list(owner: string): Promise<{ version: number; items: RosterItem[] }> {
    // Version first: if an item changes in between, the client gets newer items under an
    // older version and simply re-syncs next time; the reverse order could hide a change.
    const version = await this.version(owner);
    const rows = await this.#db.query<ItemRow>(
      `SELECT ${SELECT_COLUMNS} FROM roster_items WHERE owner = $1 ORDER BY contact`,
      [owner],
    );
    return { version, items: rows.map(toItem) };
  }

  async get(owner: string, contact: string): Promise<RosterItem | undefined> {
    const rows = await this.#db.query<ItemRow>(
      `SELECT ${SELECT_COLUMNS} FROM roster_items WHERE owner = $1 AND contact = $2`,
      [owner, contact],
    );
    return rows.length ? toItem(rows[0]) : undefined;
  }

  async put(owner: string, item: RosterItem): Promise<number> {
    return this.#db.transaction(async (tx) => {
      await tx.run(`INSERT INTO roster_items (${ITEM_COLUMNS}) VALUES ${valuesPlaceholders(1, NCOLS)} ${UPSERT_TAIL}`, itemParams(owner, item));
      return bump(tx, owner);
    });
  }

  async remove(owner: string, contact: string): Promise<number | undefined> {
    return this.#db.transaction(async (tx) => {
      const { changes } = await tx.run("DELETE FROM roster_items WHERE owner = $1 AND contact = $2", [owner, contact]);
      return changes > 0 ? bump(tx, owner) : undefined;
    });
  }

  async version(owner: string): Promise<number> {
    const rows = await this.#db.query<{ version: unknown }>("SELECT version FROM roster_versions WHERE owner = $1", [owner]);
    return rows.length ? toInt(rows[0].version) : 0;
  }

  async addPendingIn(owner: string, contact: string, status?: string): Promise<void> {
    await this.#db.run(
      `INSERT INTO roster_pending_in (owner, contact, status, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner, contact) DO UPDATE SET status = excluded.status`,
      [owner, contact, status ?? null, new Date()],
    );
  }

  async removePendingIn(owner: string, contact: string): Promise<boolean> {
    const { changes } = await this.#db.run("DELETE FROM roster_pending_in WHERE owner = $1 AND contact = $2", [owner, contact]);
    return changes > 0;
  }

  async listPendingIn(owner: string): Promise<PendingIn[]> {
    const rows = await this.#db.query<{ contact: string; status: unknown }>(
      "SELECT contact, status FROM roster_pending_in WHERE owner = $1 ORDER BY created_at, contact",
      [owner],
    );
    return rows.map((r) => {
      const p: PendingIn = { contact: r.contact };
      const status = toOptString(r.status);
      if (status !== undefined) p.status = status;
      return p;
    });
  }

  async removeOwner(owner: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run("DELETE FROM roster_items WHERE owner = $1", [owner]);
      await tx.run("DELETE FROM roster_pending_in WHERE owner = $1", [owner]);
      await tx.run("DELETE FROM roster_versions WHERE owner = $1", [owner]);
    });
  }

  async importMany(rows: Array<{ owner: string; item: RosterItem }>): Promise<number> {
    // Later rows win; a multi-row upsert may not touch the same row twice (PostgreSQL).
    const unique = new Map<string, { owner: string; item: RosterItem }>();
    for (const row of rows) {
      const key = `${row.owner}\u0000${row.item.jid}`;
      unique.delete(key); // keep the position of the last occurrence
      unique.set(key, row);
    }
    const all = [...unique.values()];
    const now = Date.now();
    for (const batch of chunks(all, BATCH)) {
      const args: unknown[] = [];
      const owners = new Set<string>();
      for (const { owner, item } of batch) {
        args.push(...itemParams(owner, item));
        owners.add(owner);
      }
      const versionArgs: unknown[] = [];
      // sorted: concurrent imports lock version rows in the same order (no deadlock)
      for (const owner of [...owners].sort()) versionArgs.push(owner, now);
      await this.#db.transaction(async (tx) => {
        await tx.run(`INSERT INTO roster_items (${ITEM_COLUMNS}) VALUES ${valuesPlaceholders(batch.length, NCOLS)} ${IMPORT_TAIL}`, args);
        await tx.run(
          `INSERT INTO roster_versions (owner, version) VALUES ${valuesPlaceholders(owners.size, 2)}
           ON CONFLICT (owner) DO UPDATE SET version = roster_versions.version + 1`,
          versionArgs,
        );
      });
    }
    return all.length;
  }
}

/** Applies the roster migrations and returns the store. */
export async function openRosterStore(db: Database): Promise<SqlRosterStore> {
  await db.migrate(ROSTER_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlRosterStore(db);
}
