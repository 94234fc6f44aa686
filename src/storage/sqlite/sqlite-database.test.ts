import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { withSqlite } from "../../../test/support/databases.ts";
import { rewritePlaceholders, SqliteDatabase } from "./sqlite-database.ts";

describe("rewritePlaceholders", () => {
  it("rewrites $n outside literals, identifiers and comments", () => {
    assert.equal(rewritePlaceholders("SELECT * FROM t WHERE a = $1 AND b IN ($2,$10)"), "SELECT * FROM t WHERE a = ?1 AND b IN (?2,?10)");
    assert.equal(rewritePlaceholders("SELECT '$1', \"$2\", x FROM t -- $3\nWHERE y = $4 /* $5 */"), "SELECT '$1', \"$2\", x FROM t -- $3\nWHERE y = ?4 /* $5 */");
    assert.equal(rewritePlaceholders("SELECT 'it''s $1' AS s, $2"), "SELECT 'it''s $1' AS s, ?2");
    assert.equal(rewritePlaceholders("SELECT a$1 FROM t"), "SELECT a$1 FROM t");
    assert.equal(rewritePlaceholders("SELECT 1"), "SELECT 1");
  });
});

describe("SqliteDatabase", () => {
  it("opens in WAL mode with busy_timeout, synchronous=NORMAL and foreign keys", async (t) => {
    const db = await withSqlite(t);
    const pragma = async (name: string) => Object.values((await db.query(`PRAGMA ${name}`))[0])[0];
    assert.equal(await pragma("journal_mode"), "wal");
    assert.equal(await pragma("busy_timeout"), 5000);
    assert.equal(await pragma("synchronous"), 1);
    assert.equal(await pragma("foreign_keys"), 1);
    await db.run("CREATE TABLE p (id INTEGER PRIMARY KEY)");
    await db.run("CREATE TABLE c (p INTEGER REFERENCES p (id))");
    await assert.rejects(db.run("INSERT INTO c (p) VALUES ($1)", [1]), /FOREIGN KEY/);
  });

  it("binds integral numbers as INTEGER, others as REAL, and refuses objects", async (t) => {
    const db = await withSqlite(t);
    const [r] = await db.query<Record<string, unknown>>("SELECT typeof($1) AS a, typeof($2) AS b, typeof($3) AS c, typeof($4) AS d", [
      5,
      1.5,
      true,
      new Uint8Array([1, 2]),
    ]);
    assert.deepEqual({ ...r }, { a: "integer", b: "real", c: "integer", d: "blob" });
    await assert.rejects(db.query("SELECT $1", [{ a: 1 }]), /cannot bind a value of type Object/);
  });

  it("honours the synchronous option", async (t) => {
    const tmp = await withSqlite(t); // only for a temp dir
    const db = new SqliteDatabase({ path: join(tmp.path, "..", "full.sqlite"), synchronous: "full" });
    t.after(() => db.close());
    assert.equal(Object.values((await db.query("PRAGMA synchronous"))[0])[0], 2);
  });

  it("backs up a live database to a file", async (t) => {
    const db = await withSqlite(t);
    await db.run("CREATE TABLE t (k TEXT)");
    for (let i = 0; i < 2000; i++) await db.run("INSERT INTO t (k) VALUES ($1)", [`row ${i} ${"x".repeat(100)}`]);
    const target = join(db.path, "..", "backup.sqlite");
    const pages = await db.backup(target);
    assert.ok(pages > 0);
    assert.ok(existsSync(target));
    const copy = new SqliteDatabase({ path: target });
    t.after(() => copy.close());
    const [n] = await copy.query<{ n: number }>("SELECT COUNT(*) AS n FROM t");
    assert.equal(n.n, 2000);
  });

  it("keeps plain statements out of another caller's open transaction", async (t) => {
    const db = await withSqlite(t);
    await db.run("CREATE TABLE t (k TEXT)");
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = db
      .transaction(async (q) => {
        await q.run("INSERT INTO t (k) VALUES ($1)", ["in-tx"]);
        await gate;
        throw new Error("rollback");
      })
      .catch(() => order.push("tx rolled back"));
    const outside = db.run("INSERT INTO t (k) VALUES ($1)", ["outside"]).then(() => order.push("outside written"));
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([tx, outside]);
    assert.deepEqual(order, ["tx rolled back", "outside written"]);
    assert.deepEqual((await db.query<{ k: string }>("SELECT k FROM t")).map((r) => r.k), ["outside"]);
  });
});
