import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { checkMigrations, loadMigrations, pendingMigrations } from "./database.ts";
import { listPlaceholders, toBool, toDate, toInt, toOptString, valuesPlaceholders } from "./values.ts";

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "parley-mig-"));
  mkdirSync(join(dir, "sqlite"));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, "sqlite", name), sql);
  return dir;
}

describe("loadMigrations", () => {
  it("reads <dir>/<dialect>/NNNN_name.sql sorted by version, from a path or a URL", (t) => {
    const dir = migrationsDir({ "0002_second.sql": "B", "0001_first.sql": "A", "0010_tenth.sql": "J", "README.md": "x" });
    t.after(() => rmSync(dir, { recursive: true }));
    const expected = [
      { version: 1, name: "first", sql: "A" },
      { version: 2, name: "second", sql: "B" },
      { version: 10, name: "tenth", sql: "J" },
    ];
    assert.deepEqual(loadMigrations(dir, "sqlite"), expected);
    assert.deepEqual(loadMigrations(pathToFileURL(dir + "/"), "sqlite"), expected);
    assert.deepEqual(loadMigrations(pathToFileURL(dir + "/").href, "sqlite"), expected);
  });

  it("rejects malformed names, duplicates and missing folders", (t) => {
    const bad = migrationsDir({ "1_first.sql": "A" });
    const dup = migrationsDir({ "0001_a.sql": "A", "0001_b.sql": "B" });
    t.after(() => {
      rmSync(bad, { recursive: true });
      rmSync(dup, { recursive: true });
    });
    assert.throws(() => loadMigrations(bad, "sqlite"), /bad migration file name/);
    assert.throws(() => loadMigrations(dup, "sqlite"), /duplicate migration version 1/);
    assert.throws(() => loadMigrations(bad, "postgres"), /cannot read migrations folder/);
  });
});

describe("migration checks", () => {
  it("validates owner and versions", () => {
    assert.throws(() => checkMigrations("Bad Owner", []), /bad migration owner/);
    assert.throws(() => checkMigrations("x", [{ version: 0, name: "a", sql: "" }]), /bad migration version/);
    assert.throws(() => checkMigrations("x", [{ version: 1, name: "a", sql: "" }, { version: 1, name: "b", sql: "" }]), /duplicate/);
    assert.deepEqual(
      checkMigrations("x", [{ version: 2, name: "b", sql: "" }, { version: 1, name: "a", sql: "" }]).map((m) => m.version),
      [1, 2],
    );
  });

  it("finds pending migrations, tolerates newer applied ones, refuses renamed ones", () => {
    const ms = [
      { version: 1, name: "a", sql: "" },
      { version: 2, name: "b", sql: "" },
    ];
    assert.deepEqual(pendingMigrations("x", ms, new Map([[1, "a"]])), [ms[1]]);
    assert.deepEqual(pendingMigrations("x", ms, new Map([[1, "a"], [2, "b"], [3, "c"]])), []);
    assert.throws(() => pendingMigrations("x", ms, new Map([[1, "other"]])), /applied as "other"/);
  });
});

describe("column value helpers", () => {
  it("toInt accepts numbers, bigints and numeric strings", () => {
    assert.equal(toInt(5), 5);
    assert.equal(toInt(5n), 5);
    assert.equal(toInt("42"), 42);
    assert.throws(() => toInt("9007199254740993"), RangeError);
    assert.throws(() => toInt(null), TypeError);
  });
  it("toBool accepts booleans, 0/1 and pg text forms", () => {
    assert.equal(toBool(true), true);
    assert.equal(toBool(0), false);
    assert.equal(toBool(1), true);
    assert.equal(toBool(1n), true);
    assert.equal(toBool("t"), true);
    assert.equal(toBool("f"), false);
    assert.throws(() => toBool("maybe"));
  });
  it("toDate accepts Dates, epoch milliseconds and ISO strings", () => {
    const d = new Date("2024-05-06T07:08:09.123Z");
    assert.equal(toDate(d), d);
    assert.deepEqual(toDate(d.getTime()), d);
    assert.deepEqual(toDate(BigInt(d.getTime())), d);
    assert.deepEqual(toDate(String(d.getTime())), d);
    assert.deepEqual(toDate(d.toISOString()), d);
    assert.throws(() => toDate("not a date"));
  });
  it("toOptString maps null to undefined", () => {
    assert.equal(toOptString(null), undefined);
    assert.equal(toOptString("x"), "x");
  });
  it("builds placeholder lists", () => {
    assert.equal(valuesPlaceholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    assert.equal(valuesPlaceholders(1, 2, 5), "($5, $6)");
    assert.equal(listPlaceholders(3, 2), "$2, $3, $4");
  });
});
