// Runs Python slixmpp scripts from tests (Debian's python3-slixmpp under /usr/bin/python3 —
// not the `python3` first in PATH, which may be another interpreter without slixmpp).
//
// The script is written to a temp file and run as `/usr/bin/python3 -u FILE ARGS_JSON`, with
// test/support on PYTHONPATH so it can `from slixmpp_client import Client, emit, run`.
// Every stdout line that is a JSON object lands in `json`, in order; `events(r, name)` picks
// one kind. See slixmpp_client.py for the Python side.
//
//   const r = await runSlixmpp(`
//   from slixmpp_client import Client, emit, run
//   async def main(a):
//       c = Client(a["jid"], a["password"], a["host"], int(a["port"]), mechanism=a["mech"])
//       out = await c.connect_and_wait()
//       await c.offline()
//       return out["event"]
//   run(main)
//   `, { jid: "alice@localhost", password: "pw", host: "127.0.0.1", port: "5222", mech: "SCRAM-SHA-1" },
//      { timeoutMs: 20_000 });
//   assert.equal(r.code, 0, r.stderr);
//   assert.equal(lastEvent(r, "done")?.result, "session_start");

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PYTHON = "/usr/bin/python3";
export const SUPPORT_DIR = fileURLToPath(new URL(".", import.meta.url));

export interface SlixmppEvent {
  event: string;
  [field: string]: unknown;
}

export interface SlixmppResult {
  /** Exit code; null when killed (see timedOut / signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Every stdout line that parsed as a JSON object, in order. */
  json: SlixmppEvent[];
}

export interface RunSlixmppOptions {
  /** Kill the script (SIGKILL, by PID) after this long; the result then has timedOut. */
  timeoutMs: number;
  /** Extra environment for the script. */
  env?: NodeJS.ProcessEnv;
  /** Interpreter; defaults to /usr/bin/python3. */
  python?: string;
}

/**
 * Runs a Python script with slixmpp. `args` reach the script as one JSON object in argv[1]
 * (`load_args()` / `run(main)` in slixmpp_client.py hand it to `main`). Special keys the
 * Python `run()` understands: `log` (e.g. "DEBUG": slixmpp logs, XML included, on stderr) and
 * `timeout` (seconds for main).
 */
export async function runSlixmpp(
  script: string,
  args: Record<string, string | number | boolean>,
  opts: RunSlixmppOptions,
): Promise<SlixmppResult> {
  const dir = mkdtempSync(join(tmpdir(), "parley-slixmpp-"));
  const file = join(dir, "script.py");
  writeFileSync(file, dedent(script));
  try {
    return await new Promise<SlixmppResult>((resolve, reject) => {
      const child = spawn(opts.python ?? PYTHON, ["-u", file, JSON.stringify(args)], {
        cwd: dir,
        env: {
          ...process.env,
          ...opts.env,
          PYTHONPATH: [SUPPORT_DIR, opts.env?.PYTHONPATH ?? process.env.PYTHONPATH].filter(Boolean).join(":"),
          PYTHONDONTWRITEBYTECODE: "1",
          PYTHONUNBUFFERED: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }, opts.timeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${opts.python ?? PYTHON}: ${err.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, timedOut, stdout, stderr, json: parseJsonLines(stdout) });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JSON-object lines of a script's output. */
export function parseJsonLines(text: string): SlixmppEvent[] {
  const out: SlixmppEvent[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const v = JSON.parse(t) as unknown;
      if (v !== null && typeof v === "object" && !Array.isArray(v) && typeof (v as SlixmppEvent).event === "string") {
        out.push(v as SlixmppEvent);
      }
    } catch {
      // not JSON: plain output
    }
  }
  return out;
}

/** All events of one kind (optionally from one client, by its name). */
export function events(r: SlixmppResult, event: string, client?: string): SlixmppEvent[] {
  return r.json.filter((e) => e.event === event && (client === undefined || e.client === client));
}

export function lastEvent(r: SlixmppResult, event: string, client?: string): SlixmppEvent | undefined {
  const all = events(r, event, client);
  return all[all.length - 1];
}

/** A one-paragraph account of a run, for assertion messages. */
export function describeRun(r: SlixmppResult): string {
  const err = r.json.find((e) => e.event === "error");
  return [
    `exit ${r.code ?? r.signal}${r.timedOut ? " (timed out)" : ""}`,
    err ? `error: ${String(err.error)}\n${String(err.traceback ?? "")}` : "",
    `stdout:\n${r.stdout.slice(-4000)}`,
    `stderr:\n${r.stderr.slice(-4000)}`,
  ]
    .filter(Boolean)
    .join("\n");
}

let available: boolean | undefined;
/** True when /usr/bin/python3 can import slixmpp (installed by .ci/run). */
export function slixmppAvailable(): boolean {
  available ??= spawnSync(PYTHON, ["-c", "import slixmpp"], { stdio: "ignore" }).status === 0;
  return available;
}

/** Removes the common leading indentation, so scripts can be indented template literals. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, "").split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join("\n");
}
