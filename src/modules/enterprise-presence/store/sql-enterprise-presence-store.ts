import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, listPlaceholders, toBool, toInt, toOptString } from "../../../core/storage/values.ts";
import { isManualMode } from "../model.ts";
import type { EnterprisePresenceStore, HeldMessage, StoredPresence } from "./types.ts";

/** Migration owner and table prefix. */
export const ENTERPRISE_PRESENCE_OWNER = "enterprise_presence";

const COLUMNS =
  "owner, manual_mode, manual_custom, manual_set_at, manual_until, manual_set_by, note, note_set_by, ooo, ooo_note, ooo_start, ooo_end, privacy_mode, last_sign_out";

interface Row {
  manual_mode: unknown;
  manual_custom: unknown;
  manual_set_at: unknown;
  manual_until: unknown;
  manual_set_by: unknown;
  note: unknown;
  note_set_by: unknown;
  ooo: unknown;
  ooo_note: unknown;
  ooo_start: unknown;
  ooo_end: unknown;
  privacy_mode: unknown;
  last_sign_out: unknown;
}

const optInt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : toInt(v));

function toPresence(r: Row): StoredPresence {
  const out: StoredPresence = { privacyMode: toBool(r.privacy_mode) };
  const mode = toOptString(r.manual_mode);
  const setAt = optInt(r.manual_set_at);
  if (mode !== undefined && isManualMode(mode) && setAt !== undefined) {
    out.manual = { mode, setAt };
    const custom = toOptString(r.manual_custom);
    const until = optInt(r.manual_until);
    const setBy = toOptString(r.manual_set_by);
    if (custom !== undefined) out.manual.customStateId = custom;
    if (until !== undefined) out.manual.until = until;
    if (setBy !== undefined) out.manual.setBy = setBy;
  }
  const note = toOptString(r.note);
  if (note !== undefined) {
    out.note = { text: note };
    const by = toOptString(r.note_set_by);
    if (by !== undefined) out.note.setBy = by;
  }
  if (toBool(r.ooo)) {
    out.ooo = {};
    const n = toOptString(r.ooo_note);
    const s = optInt(r.ooo_start);
    const e = optInt(r.ooo_end);
    if (n !== undefined) out.ooo.note = n;
    if (s !== undefined) out.ooo.start = s;
    if (e !== undefined) out.ooo.end = e;
  }
  const last = optInt(r.last_sign_out);
  if (last !== undefined) out.lastSignOutAt = last;
  return out;
}

export class SqlEnterprisePresenceStore implements EnterprisePresenceStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async get(owner: string): Promise<StoredPresence | undefined> {
    const rows = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM enterprise_presence WHERE owner = $1`, [owner]);
    return rows.length ? toPresence(rows[0]) : undefined;
  }

  async put(owner: string, v: StoredPresence): Promise<void> {
    const m = v.manual;
    const params = [
      owner,
      m?.mode ?? null,
      m?.customStateId ?? null,
      m?.setAt ?? null,
      m?.until ?? null,
      m?.setBy ?? null,
      v.note?.text ?? null,
      v.note?.setBy ?? null,
      v.ooo !== undefined,
      v.ooo?.note ?? null,
      v.ooo?.start ?? null,
      v.ooo?.end ?? null,
      v.privacyMode,
      v.lastSignOutAt ?? null,
    ];
    await this.#db.run(
      `INSERT INTO enterprise_presence (${COLUMNS}) VALUES (${listPlaceholders(params.length)})
       ON CONFLICT (owner) DO UPDATE SET manual_mode = excluded.manual_mode, manual_custom = excluded.manual_custom,
         manual_set_at = excluded.manual_set_at, manual_until = excluded.manual_until, manual_set_by = excluded.manual_set_by,
         note = excluded.note, note_set_by = excluded.note_set_by, ooo = excluded.ooo, ooo_note = excluded.ooo_note,
         ooo_start = excluded.ooo_start, ooo_end = excluded.ooo_end, privacy_mode = excluded.privacy_mode,
         last_sign_out = excluded.last_sign_out`,
      params,
    );
  }

  async hold(owner: string, stanza: string, stamp: number): Promise<number> {
    const rows = await this.#db.query<{ id: unknown }>(
      "INSERT INTO enterprise_presence_held (owner, stanza, stamp) VALUES ($1, $2, $3) RETURNING id",
      [owner, stanza, stamp],
    );
    return toInt(rows[0].id);
  }

  async held(owner: string, limit = 1000): Promise<HeldMessage[]> {
    const rows = await this.#db.query<{ id: unknown; stanza: string; stamp: unknown }>(
      "SELECT id, stanza, stamp FROM enterprise_presence_held WHERE owner = $1 ORDER BY id LIMIT $2",
      [owner, limit],
    );
    return rows.map((r) => ({ id: toInt(r.id), owner, stanza: r.stanza, stamp: toInt(r.stamp) }));
  }

  async release(owner: string, ids: readonly number[]): Promise<number> {
    let n = 0;
    for (const batch of chunks([...ids], 500)) {
      const { changes } = await this.#db.run(
        `DELETE FROM enterprise_presence_held WHERE owner = $1 AND id IN (${listPlaceholders(batch.length, 2)})`,
        [owner, ...batch],
      );
      n += changes;
    }
    return n;
  }

  async heldCount(owner: string): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM enterprise_presence_held WHERE owner = $1", [owner]);
    return toInt(rows[0].n);
  }

  async removeOwner(owner: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run("DELETE FROM enterprise_presence WHERE owner = $1", [owner]);
      await tx.run("DELETE FROM enterprise_presence_held WHERE owner = $1", [owner]);
    });
  }
}

/** Applies the module's migrations and returns the store. */
export async function openEnterprisePresenceStore(db: Database): Promise<SqlEnterprisePresenceStore> {
  await db.migrate(ENTERPRISE_PRESENCE_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlEnterprisePresenceStore(db);
}
