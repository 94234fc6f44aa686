/**
 * Database helpers for the tests of any module.
 *
 *   withSqlite(t)                  a SQLite database in a temp file, removed after the test
 *   createPostgresTestDatabase()   a uniquely named PostgreSQL database; drop() removes it
 *   forEachBackend(name, fn)       registers fn's tests under "sqlite" and "postgres"
 *
 * A module's store contract test is then:
 *
 *   forEachBackend("RosterStore", (backend) =>
 *     rosterStoreContract(async () => openRosterStore(await backend.open())));
 *
 * PostgreSQL is found at $PARLEY_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres;
 * the user must be allowed to CREATE DATABASE). If it is unreachable the PostgreSQL tests FAIL
 * with a message saying so; they are never skipped.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe } from "node:test";
import pg from "pg";
import type { Database, Dialect } from "../../src/core/storage/database.ts";
import { describePgError, PostgresDatabase, redactUrl } from "../../src/storage/postgres/postgres-database.ts";
import { SqliteDatabase } from "../../src/storage/sqlite/sqlite-database.ts";

export const PG_TEST_URL = process.env.PARLEY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** What withSqlite needs from a node:test TestContext (or SuiteContext-like object). */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "parley-test-"));
}

/** A SQLite database in a fresh temp file, closed and deleted when the test ends. */
export async function withSqlite(t: AfterHook): Promise<SqliteDatabase> {
  const dir = tempDir();
  const db = new SqliteDatabase({ path: join(dir, "test.sqlite") });
  t.after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

export interface PostgresTestDatabase {
  /** Full URL of the new database. */
  url: string;
  name: string;
  db: PostgresDatabase;
  /** Closes db and drops the database, terminating any other connections to it. */
  drop(): Promise<void>;
}

async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL for tests is unreachable at ${redactUrl(PG_TEST_URL)}: ${describePgError(err)}. ` +
        "Start PostgreSQL or set PARLEY_TEST_PG_URL; PostgreSQL tests are mandatory and never skipped.",
      { cause: err },
    );
  }
  return client;
}

/** Creates parley_test_<pid>_<random> on the test server and connects to it. */
export async function createPostgresTestDatabase(): Promise<PostgresTestDatabase> {
  const name = `parley_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = await adminClient();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(PG_TEST_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  let db: PostgresDatabase;
  try {
    db = await PostgresDatabase.connect({ url, max: 4 });
  } catch (err) {
    await dropDatabase(name);
    throw err;
  }
  let dropped = false;
  return {
    url,
    name,
    db,
    async drop() {
      if (dropped) return;
      dropped = true;
      await db.close();
      await dropDatabase(name);
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = await adminClient();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** What a contract suite gets: fresh databases on one backend. */
export interface TestBackend {
  readonly dialect: Dialect;
  /**
   * A fresh, empty database for the current test, closed after it. SQLite: a new temp file.
   * PostgreSQL: the suite's database (created on first use, dropped after the suite) with its
   * public schema dropped and recreated.
   */
  open(): Promise<Database>;
  /** One more connection to the database the last open() returned (closed after the test). */
  connect(): Promise<Database>;
  /** Location of the database the last open() returned (file path or URL). */
  location(): string;
}

class SqliteBackend implements TestBackend {
  readonly dialect = "sqlite" as const;
  #dir: string | undefined;
  #path: string | undefined;
  #count = 0;
  #open: SqliteDatabase[] = [];

  async open(): Promise<Database> {
    this.#dir ??= tempDir();
    this.#path = join(this.#dir, `test-${++this.#count}.sqlite`);
    return this.connect();
  }
  async connect(): Promise<Database> {
    if (!this.#path) throw new Error("call open() first");
    const db = new SqliteDatabase({ path: this.#path });
    this.#open.push(db);
    return db;
  }
  location(): string {
    if (!this.#path) throw new Error("call open() first");
    return this.#path;
  }
  async afterTest(): Promise<void> {
    const dbs = this.#open.splice(0);
    await Promise.all(dbs.map((db) => db.close()));
  }
  async afterSuite(): Promise<void> {
    await this.afterTest();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}

class PostgresBackend implements TestBackend {
  readonly dialect = "postgres" as const;
  #suiteDb: Promise<PostgresTestDatabase> | undefined;
  #url: string | undefined;
  #open: Database[] = [];

  async open(): Promise<Database> {
    this.#suiteDb ??= createPostgresTestDatabase();
    const suite = await this.#suiteDb;
    await suite.db.run("DROP SCHEMA IF EXISTS public CASCADE");
    await suite.db.run("CREATE SCHEMA public");
    this.#url = suite.url;
    return this.connect();
  }
  async connect(): Promise<Database> {
    if (!this.#url) throw new Error("call open() first");
    const db = await PostgresDatabase.connect({ url: this.#url, max: 4 });
    this.#open.push(db);
    return db;
  }
  location(): string {
    if (!this.#url) throw new Error("call open() first");
    return this.#url;
  }
  async afterTest(): Promise<void> {
    const dbs = this.#open.splice(0);
    await Promise.all(dbs.map((db) => db.close()));
  }
  async afterSuite(): Promise<void> {
    await this.afterTest();
    const suite = this.#suiteDb;
    this.#suiteDb = undefined;
    if (suite) await (await suite.catch(() => undefined))?.drop();
  }
}

/**
 * Registers the suite `fn` twice, under `name > sqlite` and `name > postgres`. Tests inside
 * call backend.open() for a fresh database; everything opened is closed after each test and
 * the backend's files / database are removed after the suite.
 */
export function forEachBackend(name: string, fn: (backend: TestBackend) => void): void {
  describe(name, () => {
    describe("sqlite", () => {
      const backend = new SqliteBackend();
      afterEach(() => backend.afterTest());
      after(() => backend.afterSuite());
      fn(backend);
    });
    describe("postgres", () => {
      const backend = new PostgresBackend();
      afterEach(() => backend.afterTest());
      after(() => backend.afterSuite());
      fn(backend);
    });
  });
}
