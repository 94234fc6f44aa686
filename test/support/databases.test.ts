/** The database test helpers themselves: cleanup, and failing (never skipping) without PostgreSQL. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import { createPostgresTestDatabase, PG_TEST_URL, withSqlite } from "./databases.ts";

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    const r = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    return r.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe("test/support/databases", () => {
  let sqlitePath = "";
  it("withSqlite gives a working temp-file database", async (t) => {
    const db = await withSqlite(t);
    sqlitePath = db.path;
    await db.run("CREATE TABLE t (x INTEGER)");
    assert.ok(existsSync(sqlitePath));
  });
  it("…and removes it after the test", () => {
    assert.ok(sqlitePath);
    assert.equal(existsSync(sqlitePath), false);
  });

  it("createPostgresTestDatabase creates a unique database and drop() removes it, even with open connections", async () => {
    const a = await createPostgresTestDatabase();
    const b = await createPostgresTestDatabase();
    try {
      assert.match(a.name, new RegExp(`^parley_test_${process.pid}_[0-9a-f]{8}$`));
      assert.notEqual(a.name, b.name);
      assert.ok(await databaseExists(a.name));
      await a.db.run("CREATE TABLE t (x INTEGER)");
      const stray = new pg.Client({ connectionString: a.url }); // a connection drop() must terminate
      await stray.connect();
      stray.on("error", () => {});
      await a.drop();
      await a.drop(); // idempotent
      assert.equal(await databaseExists(a.name), false);
      await stray.end().catch(() => {});
    } finally {
      await b.drop();
    }
    assert.equal(await databaseExists(b.name), false);
  });

  it("makes PostgreSQL tests FAIL, not skip, when the server is unreachable", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "parley-support-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "unreachable.test.ts");
    writeFileSync(
      file,
      `import { it } from "node:test";
       import { forEachBackend } from ${JSON.stringify(new URL("./databases.ts", import.meta.url).href)};
       forEachBackend("probe", (backend) => { it("opens", async () => { await backend.open(); }); });`,
    );
    const result = await promisify(execFile)(process.execPath, ["--test", "--test-reporter=spec", file], {
      // NODE_TEST_CONTEXT would make the child think it is a nested run and skip the file
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, PARLEY_TEST_PG_URL: "postgres://postgres:pw@127.0.0.1:1/postgres" },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    assert.notEqual(result.code, 0, result.out);
    assert.match(result.out, /PostgreSQL for tests is unreachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres/);
    assert.match(result.out, /never skipped/);
    assert.match(result.out, /pass 1/); // the sqlite half
    assert.match(result.out, /fail 1/);
    assert.match(result.out, /skipped 0/);
    assert.doesNotMatch(result.out, /:pw@/);
  });
});
