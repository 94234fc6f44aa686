import type { Database } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, toDate, toInt, valuesPlaceholders } from "../../../core/storage/values.ts";
import type { AccountRecord, AccountStore, NewAccount, ScramCredentials } from "./types.ts";

/** Migration owner and table prefix. */
export const ACCOUNTS_OWNER = "accounts";

const COLUMNS =
  "username, sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key, " +
  "sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key, created_at";
const NCOLS = 10;
const BATCH = 1000; // 10,000 parameters per statement: under SQLite's 32,766 and pg's 65,535

interface Row {
  username: string;
  sha1_salt: string;
  sha1_iterations: unknown;
  sha1_stored_key: string;
  sha1_server_key: string;
  sha256_salt: string;
  sha256_iterations: unknown;
  sha256_stored_key: string;
  sha256_server_key: string;
  created_at: unknown;
}

function params(rec: NewAccount, createdAt: Date): unknown[] {
  const { sha1, sha256 } = rec;
  return [
    rec.username,
    sha1.salt,
    sha1.iterations,
    sha1.storedKey,
    sha1.serverKey,
    sha256.salt,
    sha256.iterations,
    sha256.storedKey,
    sha256.serverKey,
    createdAt,
  ];
}

function toRecord(r: Row): AccountRecord {
  return {
    username: r.username,
    sha1: { salt: r.sha1_salt, iterations: toInt(r.sha1_iterations), storedKey: r.sha1_stored_key, serverKey: r.sha1_server_key },
    sha256: {
      salt: r.sha256_salt,
      iterations: toInt(r.sha256_iterations),
      storedKey: r.sha256_stored_key,
      serverKey: r.sha256_server_key,
    },
    createdAt: toDate(r.created_at),
  };
}

export class SqlAccountStore implements AccountStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async create(rec: NewAccount): Promise<boolean> {
    const { changes } = await this.#db.run(
      `INSERT INTO accounts_users (${COLUMNS}) VALUES ${valuesPlaceholders(1, NCOLS)}
       ON CONFLICT (username) DO NOTHING`,
      params(rec, new Date()),
    );
    return changes === 1;
  }

  async get(username: string): Promise<AccountRecord | undefined> {
    const rows = await this.#db.query<Row>(`SELECT ${COLUMNS} FROM accounts_users WHERE username = $1`, [username]);
    return rows.length ? toRecord(rows[0]) : undefined;
  }

  async setCredentials(username: string, sha1: ScramCredentials, sha256: ScramCredentials): Promise<boolean> {
    const { changes } = await this.#db.run(
      `UPDATE accounts_users SET
         sha1_salt = $2, sha1_iterations = $3, sha1_stored_key = $4, sha1_server_key = $5,
         sha256_salt = $6, sha256_iterations = $7, sha256_stored_key = $8, sha256_server_key = $9
       WHERE username = $1`,
      [
        username,
        sha1.salt,
        sha1.iterations,
        sha1.storedKey,
        sha1.serverKey,
        sha256.salt,
        sha256.iterations,
        sha256.storedKey,
        sha256.serverKey,
      ],
    );
    return changes > 0;
  }

  async remove(username: string): Promise<boolean> {
    const { changes } = await this.#db.run("DELETE FROM accounts_users WHERE username = $1", [username]);
    return changes > 0;
  }

  async list(opts: { after?: string; limit?: number } = {}): Promise<string[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.after !== undefined) {
      args.push(opts.after);
      where.push(`username > $${args.length}`);
    }
    let sql = "SELECT username FROM accounts_users";
    if (where.length) sql += ` WHERE ${where.join(" AND ")}`;
    sql += " ORDER BY username";
    if (opts.limit !== undefined) {
      if (!Number.isInteger(opts.limit) || opts.limit < 0) throw new RangeError(`bad limit ${opts.limit}`);
      args.push(opts.limit);
      sql += ` LIMIT $${args.length}`;
    }
    const rows = await this.#db.query<{ username: string }>(sql, args);
    return rows.map((r) => r.username);
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM accounts_users");
    return toInt(rows[0].n);
  }

  async importMany(recs: NewAccount[]): Promise<{ created: number; skipped: number }> {
    let created = 0;
    const now = new Date();
    for (const batch of chunks(recs, BATCH)) {
      const args: unknown[] = [];
      for (const rec of batch) args.push(...params(rec, now));
      // one multi-row statement per batch: it is its own transaction on both backends
      const { changes } = await this.#db.run(
        `INSERT INTO accounts_users (${COLUMNS}) VALUES ${valuesPlaceholders(batch.length, NCOLS)}
         ON CONFLICT (username) DO NOTHING`,
        args,
      );
      created += changes;
    }
    return { created, skipped: recs.length - created };
  }
}

/** Applies the accounts migrations and returns the store. */
export async function openAccountStore(db: Database): Promise<SqlAccountStore> {
  await db.migrate(ACCOUNTS_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlAccountStore(db);
}
