/**
 * Behaviour every AccountStore implementation must have. Run it with a factory that returns
 * a store on a fresh, empty database (see test/support/databases.ts forEachBackend).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { AccountStore, NewAccount, ScramCredentials } from "./types.ts";

function creds(tag: string, iterations = 4096): ScramCredentials {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return { salt: b64(`salt-${tag}`), iterations, storedKey: b64(`stored-${tag}`), serverKey: b64(`server-${tag}`) };
}

function account(username: string, tag = username): NewAccount {
  return { username, sha1: creds(`${tag}-1`), sha256: creds(`${tag}-256`, 8192) };
}

export function accountStoreContract(open: () => Promise<AccountStore>): void {
  it("creates an account and reads it back", async () => {
    const store = await open();
    const before = Date.now();
    assert.equal(await store.create(account("alice")), true);
    const rec = await store.get("alice");
    assert.ok(rec);
    assert.equal(rec.username, "alice");
    assert.deepEqual(rec.sha1, creds("alice-1"));
    assert.deepEqual(rec.sha256, creds("alice-256", 8192));
    assert.ok(rec.createdAt instanceof Date);
    assert.ok(rec.createdAt.getTime() >= before - 1000 && rec.createdAt.getTime() <= Date.now() + 1000);
    assert.equal(typeof rec.sha1.iterations, "number");
  });

  it("returns undefined for an unknown user", async () => {
    const store = await open();
    assert.equal(await store.get("nobody"), undefined);
  });

  it("refuses to create an existing account and keeps the original", async () => {
    const store = await open();
    assert.equal(await store.create(account("bob", "first")), true);
    assert.equal(await store.create(account("bob", "second")), false);
    assert.deepEqual((await store.get("bob"))?.sha256, creds("first-256", 8192));
    assert.equal(await store.count(), 1);
  });

  it("compares usernames exactly (preparation is the caller's job)", async () => {
    const store = await open();
    assert.equal(await store.create(account("carol")), true);
    assert.equal(await store.create(account("Carol")), true);
    assert.equal(await store.get("CAROL"), undefined);
    assert.equal(await store.count(), 2);
  });

  it("stores non-ASCII usernames", async () => {
    const store = await open();
    for (const u of ["zoë", "日本語", "ὀδυσσεύς", "emoji😀"]) assert.equal(await store.create(account(u)), true);
    assert.equal((await store.get("日本語"))?.username, "日本語");
    assert.equal(await store.get("zoe"), undefined);
  });

  it("replaces credentials", async () => {
    const store = await open();
    await store.create(account("dave"));
    const created = (await store.get("dave"))?.createdAt;
    assert.equal(await store.setCredentials("dave", creds("new-1", 10000), creds("new-256", 20000)), true);
    const rec = await store.get("dave");
    assert.deepEqual(rec?.sha1, creds("new-1", 10000));
    assert.deepEqual(rec?.sha256, creds("new-256", 20000));
    assert.deepEqual(rec?.createdAt, created);
  });

  it("setCredentials on an unknown user returns false and creates nothing", async () => {
    const store = await open();
    assert.equal(await store.setCredentials("ghost", creds("a"), creds("b")), false);
    assert.equal(await store.get("ghost"), undefined);
    assert.equal(await store.count(), 0);
  });

  it("removes an account", async () => {
    const store = await open();
    await store.create(account("erin"));
    await store.create(account("frank"));
    assert.equal(await store.remove("erin"), true);
    assert.equal(await store.remove("erin"), false);
    assert.equal(await store.get("erin"), undefined);
    assert.deepEqual(await store.list(), ["frank"]);
    // the name can be registered again
    assert.equal(await store.create(account("erin", "again")), true);
    assert.deepEqual((await store.get("erin"))?.sha1, creds("again-1"));
  });

  it("counts accounts", async () => {
    const store = await open();
    assert.equal(await store.count(), 0);
    for (const u of ["a", "b", "c"]) await store.create(account(u));
    assert.equal(await store.count(), 3);
    await store.remove("b");
    assert.equal(await store.count(), 2);
  });

  it("lists usernames in code-point order, identically on every backend", async () => {
    const store = await open();
    const names = ["mallory", "alice", "ä", "bob", "z", "b", "日本", "a-b", "a_b", "a.b", "Zed", "10", "9"];
    for (const u of names) await store.create(account(u));
    const expected = [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)); // UTF-16 = code points here
    assert.deepEqual(await store.list(), expected);
  });

  it("pages with after and limit", async () => {
    const store = await open();
    const names = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(2, "0")}`);
    for (const u of [...names].reverse()) await store.create(account(u));
    assert.deepEqual(await store.list({ limit: 10 }), names.slice(0, 10));
    assert.deepEqual(await store.list({ after: "user09", limit: 10 }), names.slice(10, 20));
    assert.deepEqual(await store.list({ after: "user19", limit: 10 }), names.slice(20));
    assert.deepEqual(await store.list({ after: "user24", limit: 10 }), []);
    assert.deepEqual(await store.list({ after: "user1" }), names.slice(10)); // 'after' need not exist
    assert.deepEqual(await store.list({ limit: 0 }), []);
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.list({ after, limit: 7 });
      if (page.length === 0) break;
      all.push(...page);
      after = page[page.length - 1];
    }
    assert.deepEqual(all, names);
  });

  it("imports many accounts in batches, skipping existing ones and repeats", async () => {
    const store = await open();
    await store.create(account("u00042", "existing"));
    const recs: NewAccount[] = [];
    for (let i = 0; i < 2500; i++) recs.push(account(`u${String(i).padStart(5, "0")}`, "bulk"));
    recs.push(account("u00007", "repeat")); // same name twice in one import
    const result = await store.importMany(recs);
    assert.deepEqual(result, { created: 2499, skipped: 2 });
    assert.equal(await store.count(), 2500);
    assert.deepEqual((await store.get("u00042"))?.sha1, creds("existing-1"));
    assert.deepEqual((await store.get("u00007"))?.sha1, creds("bulk-1"));
    const last = await store.get("u02499");
    assert.deepEqual(last?.sha256, creds("bulk-256", 8192));
    assert.ok(last?.createdAt instanceof Date);
    assert.deepEqual(await store.importMany([]), { created: 0, skipped: 0 });
    assert.deepEqual(await store.importMany(recs.slice(0, 10)), { created: 0, skipped: 10 });
  });

  it("handles concurrent creates of the same name: exactly one wins", async () => {
    const store = await open();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.create(account("race", `r${i}`))));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await store.count(), 1);
  });
}
