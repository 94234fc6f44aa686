/** The Database contract, run on both adapters. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { forEachBackend } from "../../test/support/databases.ts";
import type { Database, Migration } from "../core/storage/database.ts";
import { toBool, toDate, toInt } from "../core/storage/values.ts";

async function makeTable(db: Database): Promise<void> {
  const ts = db.dialect === "sqlite" ? "INTEGER" : "TIMESTAMPTZ";
  const bool = db.dialect === "sqlite" ? "INTEGER" : "BOOLEAN";
  const big = db.dialect === "sqlite" ? "INTEGER" : "BIGINT";
  await db.run(`CREATE TABLE t (k TEXT PRIMARY KEY, n ${big}, b ${bool}, at ${ts}, note TEXT)`);
}

forEachBackend("Database", (backend) => {
  it("binds $n placeholders in any order, repeated, and leaves literals alone", async () => {
    const db = await backend.open();
    const [row] = await db.query<{ a: unknown; b: unknown; c: unknown; lit: string }>(
      "SELECT $2 AS a, $1 AS b, $2 AS c, '$1 costs $2' AS lit -- $3 in a comment",
      ["one", "two"],
    );
    assert.deepEqual({ ...row }, { a: "two", b: "one", c: "two", lit: "$1 costs $2" });
  });

  it("returns integers as numbers (COUNT, BIGINT) and round-trips booleans and dates", async () => {
    const db = await backend.open();
    await makeTable(db);
    const at = new Date("2025-03-04T05:06:07.089Z");
    const big = 2 ** 52 + 1;
    assert.deepEqual(await db.run("INSERT INTO t (k, n, b, at, note) VALUES ($1, $2, $3, $4, $5)", ["a", big, true, at, undefined]), {
      changes: 1,
    });
    await db.run("INSERT INTO t (k, n, b, at, note) VALUES ($1, $2, $3, $4, $5)", ["b", -7, false, null, "x"]);
    const [count] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM t");
    assert.equal(count.n, 2);
    const rows = await db.query<{ k: string; n: unknown; b: unknown; at: unknown; note: unknown }>("SELECT * FROM t ORDER BY k");
    assert.equal(rows[0].n, big);
    assert.equal(typeof rows[1].n, "number");
    assert.equal(toInt(rows[1].n), -7);
    assert.equal(toBool(rows[0].b), true);
    assert.equal(toBool(rows[1].b), false);
    assert.deepEqual(toDate(rows[0].at), at);
    assert.equal(rows[1].at, null);
    assert.equal(rows[0].note, null);
    const [sum] = await db.query<{ s: unknown }>("SELECT SUM(n) AS s FROM t WHERE k = $1", ["b"]);
    assert.equal(toInt(sum.s), -7);
  });

  it("reports changes for UPDATE and DELETE", async () => {
    const db = await backend.open();
    await makeTable(db);
    for (const k of ["a", "b", "c"]) await db.run("INSERT INTO t (k, n) VALUES ($1, $2)", [k, 1]);
    assert.deepEqual(await db.run("UPDATE t SET n = n + 1 WHERE k <> $1", ["a"]), { changes: 2 });
    assert.deepEqual(await db.run("DELETE FROM t WHERE k = $1", ["zzz"]), { changes: 0 });
    assert.deepEqual(await db.run("DELETE FROM t"), { changes: 3 });
  });

  it("commits a transaction and returns its value", async () => {
    const db = await backend.open();
    await makeTable(db);
    const r = await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (k) VALUES ($1)", ["a"]);
      await tx.run("INSERT INTO t (k) VALUES ($1)", ["b"]);
      return (await tx.query("SELECT k FROM t")).length;
    });
    assert.equal(r, 2);
    assert.equal((await db.query("SELECT k FROM t")).length, 2);
  });

  it("rolls back when the function throws, and rethrows", async () => {
    const db = await backend.open();
    await makeTable(db);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (k) VALUES ($1)", ["a"]);
        throw new Error("boom");
      }),
      /boom/,
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (k) VALUES ($1)", ["b"]);
        await tx.run("INSERT INTO t (k) VALUES ($1)", ["b"]); // constraint violation
      }),
    );
    assert.deepEqual(await db.query("SELECT k FROM t"), []);
    // the connection is usable afterwards
    await db.transaction((tx) => tx.run("INSERT INTO t (k) VALUES ($1)", ["c"]));
    assert.equal((await db.query("SELECT k FROM t")).length, 1);
  });

  it("refuses nested transactions and a tx handle used after the end", async () => {
    const db = await backend.open();
    await makeTable(db);
    let leaked: { run(sql: string, p?: unknown[]): Promise<unknown> } | undefined;
    await assert.rejects(
      db.transaction(async (tx) => {
        leaked = tx;
        await db.transaction(async () => {});
      }),
      /nested transaction/,
    );
    assert.ok(leaked);
    await assert.rejects(leaked.run("INSERT INTO t (k) VALUES ($1)", ["x"]), /after its transaction ended/);
  });

  it("lets code inside a transaction use the Database handle (it joins the transaction)", async () => {
    const db = await backend.open();
    await makeTable(db);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (k) VALUES ($1)", ["a"]);
        assert.equal((await db.query("SELECT k FROM t")).length, 1); // sees its own write
        await db.run("INSERT INTO t (k) VALUES ($1)", ["b"]);
        throw new Error("undo");
      }),
      /undo/,
    );
    assert.deepEqual(await db.query("SELECT k FROM t"), []);
  });

  it("hides uncommitted writes from concurrent statements", async () => {
    const db = await backend.open();
    await makeTable(db);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = db.transaction(async (t) => {
      await t.run("INSERT INTO t (k) VALUES ($1)", ["a"]);
      inserted();
      await gate;
    });
    await didInsert;
    const seen = db.query("SELECT k FROM t"); // SQLite: waits for the tx; PostgreSQL: snapshot
    await sleep(20);
    release();
    await tx;
    const rows = await seen;
    // either it ran before the commit and saw nothing, or it waited and saw the committed row
    assert.ok(rows.length === 0 || rows.length === 1);
    if (backend.dialect === "sqlite") assert.equal(rows.length, 1);
    else assert.equal(rows.length, 0);
  });

  it("runs many concurrent transactions without losing any", async () => {
    const db = await backend.open();
    await makeTable(db);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO t (k, n) VALUES ($1, $2)", [`k${i}`, i]);
          await sleep(1);
          await tx.run("UPDATE t SET n = n * 2 WHERE k = $1", [`k${i}`]);
        }),
      ),
    );
    const [s] = await db.query<{ s: unknown }>("SELECT SUM(n) AS s FROM t");
    assert.equal(toInt(s.s), 2 * (29 * 30) / 2);
  });

  it("makes committed writes visible to another connection", async () => {
    const db = await backend.open();
    await makeTable(db);
    await db.run("INSERT INTO t (k) VALUES ($1)", ["a"]);
    const other = await backend.connect();
    assert.deepEqual((await other.query<{ k: string }>("SELECT k FROM t")).map((r) => r.k), ["a"]);
  });

  it("declares full-text search", async () => {
    const db = await backend.open();
    assert.equal(db.caps.fullText, true); // FTS5 is compiled into node:sqlite; PostgreSQL has tsvector
  });

  it("rejects use after close", async () => {
    const db = await backend.open();
    await db.close();
    await db.close(); // idempotent
    await assert.rejects(db.query("SELECT 1"), /closed/);
  });
});

const OPEN_DATABASE = new URL("./open-database.ts", import.meta.url).href;

/** Runs `migrate` in a separate Node process (same binary, so Node 24 with type stripping). */
async function migrateInChild(url: string, migrations: Migration[]): Promise<void> {
  const script = `
    import { openDatabase } from ${JSON.stringify(OPEN_DATABASE)};
    const db = await openDatabase(process.env.DB_URL);
    await db.migrate("race", JSON.parse(process.env.MIGRATIONS));
    await db.close();`;
  await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, DB_URL: url, MIGRATIONS: JSON.stringify(migrations) },
  });
}

const V1: Migration = { version: 1, name: "create", sql: "CREATE TABLE m_a (id INTEGER PRIMARY KEY); CREATE TABLE m_b (x TEXT);" };
const V2: Migration = { version: 2, name: "add_col", sql: "ALTER TABLE m_a ADD COLUMN y TEXT;" };

forEachBackend("Database.migrate", (backend) => {
  it("applies migrations in order and records them", async () => {
    const db = await backend.open();
    await db.migrate("demo", [V2, V1]);
    await db.run("INSERT INTO m_a (id, y) VALUES ($1, $2)", [1, "y"]);
    const rows = await db.query<{ owner: string; version: unknown; name: string; applied_at: unknown }>(
      "SELECT owner, version, name, applied_at FROM schema_migrations ORDER BY version",
    );
    assert.deepEqual(
      rows.map((r) => [r.owner, toInt(r.version), r.name]),
      [
        ["demo", 1, "create"],
        ["demo", 2, "add_col"],
      ],
    );
    assert.ok(Math.abs(toDate(rows[0].applied_at).getTime() - Date.now()) < 60_000);
  });

  it("is idempotent and applies only what is new", async () => {
    const db = await backend.open();
    await db.migrate("demo", [V1]);
    await db.run("INSERT INTO m_a (id) VALUES ($1)", [1]);
    await db.migrate("demo", [V1]);
    await db.migrate("demo", [V1, V2]);
    await db.migrate("demo", [V1, V2]);
    assert.deepEqual((await db.query<{ id: unknown }>("SELECT id FROM m_a")).map((r) => toInt(r.id)), [1]);
    const [n] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM schema_migrations");
    assert.equal(n.n, 2);
  });

  it("keeps owners apart", async () => {
    const db = await backend.open();
    await db.migrate("one", [V1]);
    await db.migrate("two", [{ version: 1, name: "other", sql: "CREATE TABLE m_c (z TEXT)" }]);
    await db.run("INSERT INTO m_c (z) VALUES ($1)", ["ok"]);
  });

  it("rolls back a failing migration, keeps the earlier ones, and names it in the error", async () => {
    const db = await backend.open();
    const bad: Migration = { version: 2, name: "broken", sql: "CREATE TABLE m_d (x TEXT); CREATE TABLE nope (" };
    await assert.rejects(db.migrate("demo", [V1, bad]), /demo: migration 2_broken failed/);
    await db.run("INSERT INTO m_a (id) VALUES ($1)", [1]); // V1 committed
    await assert.rejects(db.query("SELECT * FROM m_d")); // V2's first statement rolled back
    const rows = await db.query<{ version: unknown }>("SELECT version FROM schema_migrations");
    assert.deepEqual(rows.map((r) => toInt(r.version)), [1]);
    await db.migrate("demo", [V1, V2]); // fixed: continues
  });

  it("refuses a migration whose recorded name differs", async () => {
    const db = await backend.open();
    await db.migrate("demo", [V1]);
    await assert.rejects(db.migrate("demo", [{ ...V1, name: "renamed" }]), /applied as "create"/);
  });

  it("is safe when several processes migrate at once", async () => {
    await backend.open();
    const dbs = await Promise.all(Array.from({ length: 4 }, () => backend.connect()));
    const slow: Migration = {
      version: 3,
      name: "fill",
      sql: "CREATE TABLE m_e (n INTEGER); INSERT INTO m_e (n) VALUES (1);",
    };
    await Promise.all(dbs.map((db) => db.migrate("race", [V1, V2, slow])));
    const [n] = await dbs[0].query<{ n: unknown }>("SELECT COUNT(*) AS n FROM m_e");
    assert.equal(n.n, 1);
    const [m] = await dbs[0].query<{ n: unknown }>("SELECT COUNT(*) AS n FROM schema_migrations WHERE owner = $1", ["race"]);
    assert.equal(m.n, 3);
  });

  it("is safe when separate processes migrate at once", async () => {
    await backend.open();
    const url = backend.dialect === "sqlite" ? `sqlite:${backend.location()}` : backend.location();
    const heavy: Migration = {
      version: 3,
      name: "heavy",
      // slow enough (tens of ms) for the processes to overlap
      sql:
        "CREATE TABLE m_f (n INTEGER); " +
        "INSERT INTO m_f (n) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) SELECT i FROM c; " +
        "CREATE TABLE m_g (n INTEGER); INSERT INTO m_g (n) VALUES (1);",
    };
    await Promise.all(Array.from({ length: 4 }, () => migrateInChild(url, [V1, V2, heavy])));
    const db = await backend.connect();
    const [g] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM m_g");
    assert.equal(g.n, 1);
    const [f] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM m_f");
    assert.equal(f.n, 200000);
    const [m] = await db.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM schema_migrations WHERE owner = $1", ["race"]);
    assert.equal(m.n, 3);
  });
});
