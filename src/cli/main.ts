// The `parley` command. Administrative commands go through the admin socket of a running
// server (so live sessions see the change); when no server runs they open the storage directly.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig, ConfigError, type ParleyConfig } from "../core/config/config.ts";
import { createServer, type ParleyServer } from "../server.ts";
import { callAdmin } from "./admin-server.ts";
import { runAdminOp } from "./admin-ops.ts";
import { createLogger } from "../core/log/logger.ts";

const USAGE = `usage: parley [--config <file>] <command>

commands:
  start                                   run the server
  check                                   validate the configuration and exit
  user add <jid> [--password <pw>]        create an account (password read from stdin if omitted)
  user remove <jid>                       delete an account (its sessions are ended)
  user passwd <jid> [--password <pw>]     change a password
  user list                               list accounts
  user import <file|->                    bulk-create accounts from lines 'jid password'
  roster add <owner> <contact> [--name <n>] [--group <g>]
                                          make two users mutual contacts (subscription both)
  roster import <file|->                  bulk mutual contacts from lines 'owner contact [name] [group]'
  backup <file>                           consistent copy of the SQLite database (server may run)

Configuration: ${"$"}PARLEY_CONFIG or ./parley.yaml (see parley.example.yaml), overridden by
PARLEY_* environment variables (docs/configuration.md).`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readSource(src: string): Promise<string> {
  if (src === "-") return readStdin();
  try {
    return readFileSync(src, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${src}: ${(err as Error).message}`);
  }
}

async function passwordArg(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  if (process.stdin.isTTY) process.stderr.write("password: ");
  const text = await readStdin();
  const pw = text.replace(/\r?\n$/, "");
  if (pw === "") throw new UsageError("no password given (use --password or pipe it on stdin)");
  return pw;
}

/** Runs an admin operation on the running server, or directly on the storage when none runs. */
async function admin(config: ParleyConfig, op: string, args: Record<string, unknown>): Promise<any> {
  const answer = await callAdmin(config.admin.socket, op, args);
  if (answer) {
    if (!answer.ok) throw new Error(answer.error);
    return answer.result;
  }
  let server: ParleyServer | undefined;
  try {
    server = await createServer(config, { log: createLogger("warn") });
    return await runAdminOp(server, { op, args });
  } finally {
    await server?.stop();
  }
}

function printInvalid(invalid: Array<{ line: number; error: string }>): void {
  for (const i of invalid.slice(0, 50)) process.stderr.write(`line ${i.line}: ${i.error}\n`);
  if (invalid.length > 50) process.stderr.write(`… and ${invalid.length - 50} more invalid lines\n`);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
      group: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE + "\n");
    return values.help ? 0 : 2;
  }
  const config = loadConfig({ argvConfigPath: values.config });
  const [cmd, sub, ...rest] = positionals;
  const key = sub !== undefined && (cmd === "user" || cmd === "roster") ? `${cmd} ${sub}` : cmd;
  switch (key) {
    case "check":
      process.stdout.write(`configuration OK (${config.configFile ?? "defaults"}): domain ${config.domain}, database ${config.database.kind}\n`);
      return 0;
    case "start":
      return start(config);
    case "user add": {
      const jid = need(rest, 0, "jid");
      const r = await admin(config, "user.add", { jid, password: await passwordArg(values.password) });
      process.stdout.write(`created ${r.created}\n`);
      return 0;
    }
    case "user remove": {
      const r = await admin(config, "user.remove", { jid: need(rest, 0, "jid") });
      process.stdout.write(`removed ${r.removed}\n`);
      return 0;
    }
    case "user passwd": {
      const jid = need(rest, 0, "jid");
      const r = await admin(config, "user.passwd", { jid, password: await passwordArg(values.password) });
      process.stdout.write(`password changed for ${r.changed}\n`);
      return 0;
    }
    case "user list": {
      const r = await admin(config, "user.list", {});
      for (const u of r.users) process.stdout.write(u + "\n");
      return 0;
    }
    case "user import": {
      const started = performance.now();
      const r = await admin(config, "user.import", { text: await readSource(need(rest, 0, "file or -")) });
      printInvalid(r.invalid);
      process.stdout.write(`imported ${r.created} accounts (${r.skipped} already existed, ${r.invalid.length} invalid) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      return r.invalid.length ? 1 : 0;
    }
    case "roster add": {
      const r = await admin(config, "roster.add", { owner: need(rest, 0, "owner"), contact: need(rest, 1, "contact"), name: values.name, group: values.group });
      process.stdout.write(`${r.added.owner} and ${r.added.contact} are now mutual contacts\n`);
      return 0;
    }
    case "backup": {
      const r = await admin(config, "backup", { file: need(positionals, 1, "file") });
      process.stdout.write(`database copied to ${r.file}\n`);
      return 0;
    }
    case "roster import": {
      const started = performance.now();
      const r = await admin(config, "roster.import", { text: await readSource(need(rest, 0, "file or -")) });
      printInvalid(r.invalid);
      process.stdout.write(`imported ${r.pairs} mutual contact pairs (${r.items} roster items, ${r.invalid.length} invalid lines) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      return r.invalid.length ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown command '${positionals.join(" ")}'`);
  }
}

function need(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined || v === "") throw new UsageError(`missing argument: ${what}`);
  return v;
}

/**
 * V8's young generation for the server process, in MiB per semi-space. Left alone, V8 grows it
 * to ~100 MiB under a login storm and never gives it back while the server idles — measured as
 * ~18 KiB of RSS per connection at 5,000 connections, more than everything a connection really
 * holds. 8 MiB caps it at 16 MiB with no measurable cost per stanza (docs/performance.md,
 * "Profile findings").
 */
export const SERVER_SEMI_SPACE_MIB = 8;

/**
 * `parley start` re-executes itself (same PID, process.execve) with the server's V8 heap flags,
 * which only take effect at process start. Nothing happens when the operator already chose a
 * young-generation size (node flags or NODE_OPTIONS) or the platform has no execve.
 */
function reexecWithServerFlags(): void {
  const chosen = (s: string | undefined) => s !== undefined && /--(max|min)-semi-space-size/.test(s);
  if (typeof process.execve !== "function" || process.execArgv.some(chosen) || chosen(process.env.NODE_OPTIONS)) return;
  process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${SERVER_SEMI_SPACE_MIB}`, ...process.execArgv, ...process.argv.slice(1)], process.env);
}

async function start(config: ParleyConfig): Promise<number> {
  reexecWithServerFlags();
  const server = await createServer(config);
  await server.listen();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.log.info({ signal }, "shutting down");
      server.stop().then(resolve, (err) => {
        server.log.error({ err }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}

/** Entry point for bin/parley.mjs and `node src/cli/main.ts`. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof ConfigError || err instanceof UsageError) process.stderr.write(`parley: ${err.message}\n`);
      else process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
      if (err instanceof UsageError) process.stderr.write("run 'parley --help' for usage\n");
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}

if (import.meta.main) run(process.argv.slice(2));
