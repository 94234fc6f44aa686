import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { toDate, toInt, toOptString } from "../../../core/storage/values.ts";
import type { CalendarFeedRecord, CalendarStore, FeedStatus, FetchOutcome } from "./types.ts";

/** Migration owner and table prefix. */
export const CALENDAR_OWNER = "calendar";

const DEFAULT_LIST_LIMIT = 1000;
const COLUMNS = "owner, url, updated, status, error, last_fetch, last_success, etag, last_modified, events, window_start, window_end";

interface Row {
  owner: string;
  url: string;
  updated: unknown;
  status: string;
  error: unknown;
  last_fetch: unknown;
  last_success: unknown;
  etag: unknown;
  last_modified: unknown;
  events: unknown;
  window_start: unknown;
  window_end: unknown;
}

function optDate(v: unknown): Date | undefined {
  return v === null || v === undefined ? undefined : toDate(v);
}

function checkDate(d: Date, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError(`${what} must be a valid Date`);
  return d;
}

function fromRow(r: Row): CalendarFeedRecord {
  const status = (r.status === "ok" || r.status === "error" ? r.status : "pending") as FeedStatus;
  const events = toOptString(r.events);
  const from = optDate(r.window_start);
  const to = optDate(r.window_end);
  const rec: {
    -readonly [K in keyof CalendarFeedRecord]: CalendarFeedRecord[K];
  } = { owner: r.owner, url: r.url, updated: toDate(r.updated), status };
  const error = toOptString(r.error);
  if (error !== undefined) rec.error = error;
  const lastFetch = optDate(r.last_fetch);
  if (lastFetch) rec.lastFetch = lastFetch;
  const lastSuccess = optDate(r.last_success);
  if (lastSuccess) rec.lastSuccess = lastSuccess;
  const etag = toOptString(r.etag);
  if (etag !== undefined) rec.etag = etag;
  const lastModified = toOptString(r.last_modified);
  if (lastModified !== undefined) rec.lastModified = lastModified;
  if (events !== undefined && from && to) rec.snapshot = { events, from, to };
  return rec;
}

export class SqlCalendarStore implements CalendarStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async get(owner: string): Promise<CalendarFeedRecord | undefined> {
    const rows = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM calendar_feeds WHERE owner = $1`, [owner]);
    return rows.length ? fromRow(rows[0]) : undefined;
  }

  async set(owner: string, url: string, at: Date): Promise<boolean> {
    if (typeof url !== "string" || url === "") throw new TypeError("a feed URL must be a non-empty string");
    checkDate(at, "updated");
    // Insert, or start afresh when the URL differs; the same URL again is a no-op.
    const { changes } = await this.#db.run(
      `INSERT INTO calendar_feeds (owner, url, updated, status) VALUES ($1, $2, $3, 'pending')
       ON CONFLICT (owner) DO UPDATE SET url = excluded.url, updated = excluded.updated, status = 'pending',
         error = NULL, last_fetch = NULL, last_success = NULL, etag = NULL, last_modified = NULL,
         events = NULL, window_start = NULL, window_end = NULL
       WHERE calendar_feeds.url <> excluded.url`,
      [owner, url, at],
    );
    return changes > 0;
  }

  async remove(owner: string): Promise<boolean> {
    const { changes } = await this.#db.run("DELETE FROM calendar_feeds WHERE owner = $1", [owner]);
    return changes > 0;
  }

  async recordFetch(owner: string, url: string, o: FetchOutcome): Promise<boolean> {
    checkDate(o.at, "fetch time");
    const sets: string[] = [];
    const args: unknown[] = [owner, url];
    const arg = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    sets.push(`last_fetch = ${arg(o.at)}`);
    if (o.status === "ok") {
      sets.push("status = 'ok'", "error = NULL", `last_success = ${arg(o.at)}`);
    } else if (o.status === "error") {
      if (typeof o.error !== "string" || o.error === "") throw new TypeError("an error outcome needs its error text");
      sets.push("status = 'error'", `error = ${arg(o.error)}`);
    } else {
      throw new TypeError(`bad fetch status ${String((o as { status: unknown }).status)}`);
    }
    if (o.validators) sets.push(`etag = ${arg(o.validators.etag ?? null)}`, `last_modified = ${arg(o.validators.lastModified ?? null)}`);
    if (o.snapshot) {
      sets.push(
        `events = ${arg(o.snapshot.events)}`,
        `window_start = ${arg(checkDate(o.snapshot.from, "snapshot start"))}`,
        `window_end = ${arg(checkDate(o.snapshot.to, "snapshot end"))}`,
      );
    }
    const { changes } = await this.#db.run(`UPDATE calendar_feeds SET ${sets.join(", ")} WHERE owner = $1 AND url = $2`, args);
    return changes > 0;
  }

  async list(opts: { after?: string; limit?: number } = {}): Promise<CalendarFeedRecord[]> {
    const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`bad limit ${limit}`);
    const rows =
      opts.after === undefined
        ? await this.#db.query<Row>(`SELECT ${COLUMNS} FROM calendar_feeds ORDER BY owner LIMIT $1`, [limit])
        : await this.#db.query<Row>(`SELECT ${COLUMNS} FROM calendar_feeds WHERE owner > $1 ORDER BY owner LIMIT $2`, [opts.after, limit]);
    return rows.map(fromRow);
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM calendar_feeds");
    return toInt(rows[0].n);
  }
}

/** Applies the calendar migrations and returns the store. */
export async function openCalendarStore(db: Database): Promise<SqlCalendarStore> {
  await db.migrate(CALENDAR_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlCalendarStore(db);
}
