import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { PG_TEST_URL } from "../../test/support/databases.ts";
import { openDatabase, parseSqliteUrl } from "./open-database.ts";
import { redactUrl } from "./postgres/postgres-database.ts";

describe("openDatabase", () => {
  it("parses sqlite URLs", () => {
    assert.deepEqual(parseSqliteUrl("sqlite:/var/lib/parley/p.sqlite"), { path: "/var/lib/parley/p.sqlite" });
    assert.deepEqual(parseSqliteUrl("sqlite:///var/lib/parley/p.sqlite"), { path: "/var/lib/parley/p.sqlite" });
    assert.deepEqual(parseSqliteUrl("sqlite:data/p.sqlite"), { path: resolve("data/p.sqlite") });
    assert.deepEqual(parseSqliteUrl("sqlite::memory:"), { path: ":memory:" });
    assert.deepEqual(parseSqliteUrl("sqlite:/x/my%20db.sqlite?synchronous=FULL&busy_timeout=100"), {
      path: "/x/my db.sqlite",
      synchronous: "full",
      busyTimeoutMs: 100,
    });
    assert.throws(() => parseSqliteUrl("sqlite://host/p.sqlite"), /no host part/);
    assert.throws(() => parseSqliteUrl("sqlite:"), /no file path/);
    assert.throws(() => parseSqliteUrl("sqlite:/p.sqlite?journal=off"), /unknown parameter "journal"/);
    assert.throws(() => parseSqliteUrl("sqlite:/p.sqlite?synchronous=sometimes"), /synchronous must be/);
  });

  it("opens an in-memory SQLite database", async () => {
    const db = await openDatabase("sqlite::memory:");
    assert.equal(db.dialect, "sqlite");
    assert.deepEqual((await db.query<{ x: number }>("SELECT $1 + 1 AS x", [1])).map((r) => r.x), [2]);
    await db.close();
  });

  it("creates the SQLite file and its folder", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "parley-open-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = await openDatabase(`sqlite:${dir}/nested/deeper/parley.sqlite`);
    await db.run("CREATE TABLE t (x INTEGER)");
    await db.close();
  });

  it("explains a SQLite file that cannot be opened", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "parley-open-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    const url = `sqlite:${file}/x.sqlite`;
    await assert.rejects(openDatabase(url), (err: Error) => {
      assert.ok(err.message.startsWith(`cannot open SQLite database ${url}`), err.message);
      assert.match(err.message, /EEXIST|ENOTDIR/);
      return true;
    });
  });

  it("rejects unknown schemes, naming the URL without its password", async () => {
    await assert.rejects(openDatabase("mysql://root:hunter2@db/parley"), (err: Error) => {
      assert.match(err.message, /unsupported database URL "mysql:\/\/root:\*\*\*@db\/parley"/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    await assert.rejects(openDatabase("parley.sqlite"), /unsupported database URL/);
  });

  it("opens PostgreSQL with either scheme", async () => {
    for (const url of [PG_TEST_URL, PG_TEST_URL.replace(/^postgres(ql)?:/, "postgresql:")]) {
      const db = await openDatabase(url);
      assert.equal(db.dialect, "postgres");
      assert.deepEqual(await db.query("SELECT 1 AS one"), [{ one: 1 }]);
      await db.close();
    }
  });

  it("explains an unreachable PostgreSQL server, with the password redacted", async () => {
    await assert.rejects(openDatabase("postgres://parley:s3cret@127.0.0.1:1/parley"), (err: Error) => {
      assert.match(err.message, /^cannot connect to PostgreSQL at postgres:\/\/parley:\*\*\*@127\.0\.0\.1:1\/parley: .*ECONNREFUSED/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });

  it("explains a missing PostgreSQL database", async () => {
    const u = new URL(PG_TEST_URL);
    u.pathname = "/parley_no_such_database";
    await assert.rejects(openDatabase(u.toString()), /cannot connect to PostgreSQL at .*parley_no_such_database: database "parley_no_such_database" does not exist/);
  });

  it("redacts passwords", () => {
    assert.equal(redactUrl("postgres://u:p%40ss@h:5432/d?sslmode=require"), "postgres://u:***@h:5432/d?sslmode=require");
    assert.equal(redactUrl("postgres://u@h/d"), "postgres://u@h/d");
  });
});
