// Accounts: local users and their SCRAM verifiers (RFC 5802 / RFC 7677).
import { defineModule } from "../../core/module/module.ts";
import { deriveScramCredentialsAsync, preparePassword } from "../../core/sasl/index.ts";
import { prepLocalpart, JidError } from "../../jid/jid.ts";
import { openAccountStore } from "./store/sql-accounts-store.ts";
import type { AccountStore, NewAccount } from "./store/types.ts";
import { AccountError, AccountEvents, AccountServiceToken, type AccountService, type ImportResult } from "./service.ts";

export { AccountError, AccountEvents, AccountServiceToken };
export type { AccountService, ImportResult };

const MAX_PASSWORD_LENGTH = 1024;

function prepareUsername(username: string): string {
  try {
    return prepLocalpart(username);
  } catch (err) {
    throw new AccountError("invalid-username", `invalid username '${username}': ${err instanceof JidError ? err.message : String(err)}`);
  }
}

function preparePasswordChecked(password: string): string {
  if (password.length === 0) throw new AccountError("invalid-password", "the password must not be empty");
  if (password.length > MAX_PASSWORD_LENGTH) throw new AccountError("invalid-password", `the password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  try {
    return preparePassword(password);
  } catch (err) {
    throw new AccountError("invalid-password", `the password is not allowed: ${(err as Error).message}`);
  }
}

async function verifiers(password: string): Promise<Pick<NewAccount, "sha1" | "sha256">> {
  const prepared = preparePasswordChecked(password);
  // PBKDF2 runs on the libuv thread pool: bulk imports use every core and the event loop
  // keeps serving clients meanwhile.
  const [sha1, sha256] = await Promise.all([deriveScramCredentialsAsync("SHA-1", prepared), deriveScramCredentialsAsync("SHA-256", prepared)]);
  return { sha1, sha256 };
}

export function makeAccountService(store: AccountStore, notifyRemoved: (username: string) => Promise<void>, notifyPassword: (username: string) => Promise<void>): AccountService {
  return {
    prepareUsername,
    async create(username, password) {
      const u = prepareUsername(username);
      const creds = await verifiers(password);
      if (!(await store.create({ username: u, ...creds }))) throw new AccountError("exists", `the account ${u} already exists`);
    },
    async remove(username) {
      const u = prepareUsername(username);
      const removed = await store.remove(u);
      if (removed) await notifyRemoved(u);
      return removed;
    },
    async setPassword(username, password) {
      const u = prepareUsername(username);
      const creds = await verifiers(password);
      if (!(await store.setCredentials(u, creds.sha1, creds.sha256))) throw new AccountError("not-found", `there is no account ${u}`);
      await notifyPassword(u);
    },
    async exists(username) {
      return (await store.get(username)) !== undefined;
    },
    list: (opts) => store.list(opts),
    count: () => store.count(),
    async importMany(rows) {
      const invalid: ImportResult["invalid"] = [];
      const recs: NewAccount[] = [];
      const BATCH = 1000;
      let created = 0;
      let skipped = 0;
      for (let i = 0; i < rows.length; i += BATCH) {
        const slice = rows.slice(i, i + BATCH);
        const prepared = await Promise.all(
          slice.map(async (r, j) => {
            try {
              const username = prepareUsername(r.username);
              return { username, ...(await verifiers(r.password)) };
            } catch (err) {
              invalid.push({ line: r.line ?? i + j + 1, error: (err as Error).message });
              return undefined;
            }
          }),
        );
        for (const p of prepared) if (p) recs.push(p);
        const res = await store.importMany(recs.splice(0));
        created += res.created;
        skipped += res.skipped;
      }
      return { created, skipped, invalid };
    },
    credentials: {
      async getScram(username, hash) {
        const rec = await store.get(username);
        if (!rec) return undefined;
        return hash === "SHA-1" ? rec.sha1 : rec.sha256;
      },
    },
  };
}

export default defineModule({
  id: "accounts",
  provides: [AccountServiceToken],
  async setup(ctx) {
    const store = await openAccountStore(ctx.db);
    const service = makeAccountService(
      store,
      async (username) => {
        const bare = `${username}@${ctx.domain}`;
        // Data owners clean up first, then live sessions are ended.
        await ctx.host.hooks.notify(AccountEvents.removed, { username, bare });
        for (const s of ctx.sessions.resources(bare)) s.close("not-authorized", "this account has been deleted");
      },
      async (username) => {
        await ctx.host.hooks.notify(AccountEvents.passwordChanged, { username, bare: `${username}@${ctx.domain}` });
      },
    );
    ctx.provide(AccountServiceToken, service);
  },
});
