/**
 * Bulk-import timings on both backends: 20,000 accounts and 100,000 roster items
 * (1,000 owners × 100 contacts), through the stores' importMany paths.
 *
 *   npx node src/storage/bench-import.ts [--accounts N] [--owners N] [--contacts N]
 *
 * SQLite goes to a temp file; PostgreSQL to a throw-away database created on
 * $PARLEY_BENCH_PG_URL (default $PARLEY_TEST_PG_URL, then postgres://postgres@127.0.0.1:5432/postgres)
 * and dropped afterwards. Credentials are one precomputed fake object reused for every
 * account: key derivation cost is measured elsewhere.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import type { Database } from "../core/storage/database.ts";
import { openAccountStore } from "../modules/accounts/store/sql-accounts-store.ts";
import type { NewAccount, ScramCredentials } from "../modules/accounts/store/types.ts";
import { openRosterStore } from "../modules/roster/store/sql-roster-store.ts";
import type { RosterItem } from "../modules/roster/store/types.ts";
import { openDatabase } from "./open-database.ts";
import { redactUrl } from "./postgres/postgres-database.ts";

const { values: args } = parseArgs({
  options: {
    accounts: { type: "string", default: "20000" },
    owners: { type: "string", default: "1000" },
    contacts: { type: "string", default: "100" },
  },
});
const N_ACCOUNTS = Number(args.accounts);
const N_OWNERS = Number(args.owners);
const N_CONTACTS = Number(args.contacts);
const DOMAIN = "example.com";
const PG_URL = process.env.PARLEY_BENCH_PG_URL ?? process.env.PARLEY_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const b64 = (n: number) => randomBytes(n).toString("base64");
const sha1: ScramCredentials = { salt: b64(16), iterations: 4096, storedKey: b64(20), serverKey: b64(20) };
const sha256: ScramCredentials = { salt: b64(16), iterations: 4096, storedKey: b64(32), serverKey: b64(32) };

function accounts(): NewAccount[] {
  return Array.from({ length: N_ACCOUNTS }, (_, i) => ({ username: `user${String(i).padStart(6, "0")}`, sha1, sha256 }));
}

function rosterRows(): Array<{ owner: string; item: RosterItem }> {
  const subs = ["both", "both", "both", "to", "from", "none"] as const;
  const rows: Array<{ owner: string; item: RosterItem }> = [];
  for (let o = 0; o < N_OWNERS; o++) {
    const owner = `user${String(o).padStart(6, "0")}@${DOMAIN}`;
    for (let c = 1; c <= N_CONTACTS; c++) {
      const n = (o + c * 7) % Math.max(N_ACCOUNTS, 1);
      rows.push({
        owner,
        item: {
          jid: `user${String(n).padStart(6, "0")}@${DOMAIN}`,
          name: `User ${n}`,
          subscription: subs[c % subs.length],
          askOut: false,
          approved: false,
          groups: c % 3 === 0 ? ["Team", "Project X"] : ["Colleagues"],
        },
      });
    }
  }
  return rows;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

async function run(label: string, db: Database): Promise<void> {
  const accountStore = await openAccountStore(db);
  const rosterStore = await openRosterStore(db);
  const accs = accounts();
  const rows = rosterRows();

  const [imported, tAcc] = await time(() => accountStore.importMany(accs));
  const [items, tRoster] = await time(() => rosterStore.importMany(rows));
  const [again, tAgain] = await time(() => accountStore.importMany(accs)); // all skipped
  const [, tList] = await time(async () => {
    for (let o = 0; o < 100; o++) await rosterStore.list(`user${String(o).padStart(6, "0")}@${DOMAIN}`);
  });
  const count = await accountStore.count();
  if (count !== N_ACCOUNTS || imported.created !== N_ACCOUNTS || again.skipped !== N_ACCOUNTS) {
    throw new Error(`${label}: unexpected counts ${JSON.stringify({ count, imported, again })}`);
  }
  const fmt = (s: number, n: number) => `${s.toFixed(2)} s  (${Math.round(n / s).toLocaleString("en")} rows/s)`;
  console.log(`${label}`);
  console.log(`  accounts.importMany  ${N_ACCOUNTS.toLocaleString("en")} new        ${fmt(tAcc, N_ACCOUNTS)}`);
  console.log(`  accounts.importMany  ${N_ACCOUNTS.toLocaleString("en")} existing   ${fmt(tAgain, N_ACCOUNTS)}`);
  console.log(`  roster.importMany    ${items.toLocaleString("en")} items     ${fmt(tRoster, items)}`);
  console.log(`  roster.list          100 rosters of ${N_CONTACTS}   ${(tList * 10).toFixed(2)} ms each`);
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${N_ACCOUNTS} accounts, ${N_OWNERS} × ${N_CONTACTS} roster items\n`);

  const dir = mkdtempSync(join(tmpdir(), "parley-bench-"));
  const file = join(dir, "bench.sqlite");
  try {
    const db = await openDatabase(`sqlite:${file}`);
    await run("SQLite (WAL, synchronous=NORMAL)", db);
    await db.close();
    console.log(`  file size ${(statSync(file).size / 1e6).toFixed(1)} MB\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const name = `parley_bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL unreachable at ${redactUrl(PG_URL)}: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    const db = await openDatabase(u.toString());
    await run(`PostgreSQL (${redactUrl(PG_URL)})`, db);
    await db.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
