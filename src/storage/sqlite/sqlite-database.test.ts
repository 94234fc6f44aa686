import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { withSqlite } from "../../../test/support/databases.ts";
import { rewritePlaceholders, SqliteDatabase } from "./sqlite-database.ts";

describe("rewritePlaceholders", () => {
  it("rewrites $n to ? outside literals, identifiers and comments, recording the parameter order", () => {
    assert.deepEqual(rewritePlaceholders("SELECT * FROM t WHERE a = $1 AND b IN ($2,$10)"), {
      sql: "SELECT * FROM t WHERE a = ? AND b IN (?,?)",
      order: [0, 1, 9],
    });
    assert.deepEqual(rewritePlaceholders("SELECT '$1', \"$2\", x FROM t -- $3 ?\nWHERE y = $4 /* $5 ? */"), {
      sql: "SELECT '$1', \"$2\", x FROM t -- $3 ?\nWHERE y = ? /* $5 ? */",
      order: [3],
    });
    assert.deepEqual(rewritePlaceholders("SELECT 'it''s $1 ?' AS s, $2, $1, $2"), { sql: "SELECT 'it''s $1 ?' AS s, ?, ?, ?", order: [1, 0, 1] });
    assert.deepEqual(rewritePlaceholders("SELECT a$1 FROM t"), { sql: "SELECT a$1 FROM t", order: [] });
    assert.deepEqual(rewritePlaceholders("SELECT 1"), { sql: "SELECT 1", order: [] });
  });

  it("refuses ? and $0", () => {
    assert.throws(() => rewritePlaceholders("SELECT * FROM t WHERE a = ?"), /not "\?"/);
    assert.throws(() => rewritePlaceholders("SELECT $0"), /bad placeholder/);
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

  it("insists on exactly the parameters the SQL uses, like PostgreSQL", async (t) => {
    const db = await withSqlite(t);
    await assert.rejects(db.query("SELECT $1, $2", [1]), /expects 2 parameters, got 1/);
    await assert.rejects(db.query("SELECT $1", [1, 2]), /expects 1 parameters, got 2/);
    await assert.rejects(db.query("SELECT 1", [1]), /expects 0 parameters, got 1/);
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
