// Administrative operations shared by the admin socket (server running) and the CLI's direct
// mode (server stopped). Both call module services, never stores.
import type { ParleyServer } from "../server.ts";
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { Jid, JidError } from "../jid/jid.ts";

export class AdminError extends Error {}

export interface AdminRequest {
  op: string;
  args: Record<string, unknown>;
}

function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== "string" || v === "") throw new AdminError(`missing '${key}'`);
  return v;
}

/** Accepts "alice" or "alice@<our domain>" and returns the prepared username. */
export function localUsername(server: ParleyServer, input: string): string {
  if (!input.includes("@")) return server.accounts.prepareUsername(input);
  let jid: Jid;
  try {
    jid = Jid.parse(input);
  } catch (err) {
    throw new AdminError(`invalid JID '${input}': ${err instanceof JidError ? err.message : String(err)}`);
  }
  if (jid.domain !== server.config.domain) throw new AdminError(`${input} is not on this server's domain (${server.config.domain})`);
  if (jid.resource !== "") throw new AdminError(`${input}: give a bare JID, without a resource`);
  return jid.local;
}

function bareOf(server: ParleyServer, input: string): string {
  if (!input.includes("@")) return `${server.accounts.prepareUsername(input)}@${server.config.domain}`;
  try {
    return Jid.parse(input).bareString;
  } catch (err) {
    throw new AdminError(`invalid JID '${input}': ${err instanceof JidError ? err.message : String(err)}`);
  }
}

/** Parses import lines: blank lines and lines starting with # are skipped. */
export function importLines(text: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === "" || t.startsWith("#")) continue;
    out.push({ line: i + 1, fields: t.split(/\s+/) });
  }
  return out;
}

export async function runAdminOp(server: ParleyServer, req: AdminRequest): Promise<unknown> {
  const a = req.args ?? {};
  switch (req.op) {
    case "user.add": {
      const u = localUsername(server, str(a, "jid"));
      await server.accounts.create(u, str(a, "password"));
      return { created: `${u}@${server.config.domain}` };
    }
    case "user.remove": {
      const u = localUsername(server, str(a, "jid"));
      if (!(await server.accounts.remove(u))) throw new AdminError(`there is no account ${u}@${server.config.domain}`);
      return { removed: `${u}@${server.config.domain}` };
    }
    case "user.passwd": {
      const u = localUsername(server, str(a, "jid"));
      await server.accounts.setPassword(u, str(a, "password"));
      return { changed: `${u}@${server.config.domain}` };
    }
    case "user.list": {
      const all: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await server.accounts.list({ after, limit: 1000 });
        all.push(...page.map((u) => `${u}@${server.config.domain}`));
        if (page.length < 1000) break;
        after = page[page.length - 1];
      }
      return { users: all };
    }
    case "user.import": {
      const rows: Array<{ username: string; password: string; line: number }> = [];
      const invalid: Array<{ line: number; error: string }> = [];
      for (const { line, fields } of importLines(str(a, "text"))) {
        if (fields.length !== 2) {
          invalid.push({ line, error: "expected 'jid password'" });
          continue;
        }
        try {
          rows.push({ username: localUsername(server, fields[0]), password: fields[1], line });
        } catch (err) {
          invalid.push({ line, error: (err as Error).message });
        }
      }
      const res = await server.accounts.importMany(rows);
      return { created: res.created, skipped: res.skipped, invalid: [...invalid, ...res.invalid] };
    }
    case "roster.add": {
      const owner = bareOf(server, str(a, "owner"));
      const contact = bareOf(server, str(a, "contact"));
      if (owner === contact) throw new AdminError("a user cannot be their own contact");
      await ensureLocalAccount(server, owner);
      const contactJid = Jid.parse(contact);
      if (contactJid.domain === server.config.domain) await ensureLocalAccount(server, contact);
      await server.roster.addMutual(owner, contact, {
        name: typeof a.name === "string" ? a.name : undefined,
        group: typeof a.group === "string" ? a.group : undefined,
      });
      return { added: { owner, contact } };
    }
    case "roster.import": {
      const rows: Array<{ owner: string; contact: string; name?: string; group?: string }> = [];
      const invalid: Array<{ line: number; error: string }> = [];
      for (const { line, fields } of importLines(str(a, "text"))) {
        if (fields.length < 2 || fields.length > 4) {
          invalid.push({ line, error: "expected 'owner contact [name] [group]'" });
          continue;
        }
        try {
          const owner = bareOf(server, fields[0]);
          const contact = bareOf(server, fields[1]);
          if (owner === contact) throw new AdminError("a user cannot be their own contact");
          rows.push({ owner, contact, name: fields[2], group: fields[3] });
        } catch (err) {
          invalid.push({ line, error: (err as Error).message });
        }
      }
      const written = await server.roster.importMutual(rows);
      return { pairs: rows.length, items: written, invalid };
    }
    case "backup": {
      // SQLite's online backup API: a consistent copy while the server keeps running.
      const db = server.host.db as { backup?: (to: string) => Promise<number> };
      if (typeof db.backup !== "function") throw new AdminError("backup is for the SQLite database; back up PostgreSQL with pg_dump");
      const target = resolvePath(str(a, "file"));
      if (existsSync(target)) throw new AdminError(`${target} exists; choose a new file`);
      await db.backup(target);
      return { file: target };
    }
    case "status":
      return { domain: server.config.domain, sessions: server.host.sessions.count, modules: server.modules.loaded };
    default:
      throw new AdminError(`unknown operation '${req.op}'`);
  }
}

async function ensureLocalAccount(server: ParleyServer, bare: string): Promise<void> {
  const jid = Jid.parse(bare);
  if (jid.domain !== server.config.domain) throw new AdminError(`${bare} is not on this server's domain`);
  if (!(await server.accounts.exists(jid.local))) throw new AdminError(`there is no account ${bare}`);
}
