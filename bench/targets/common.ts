// Shared pieces for benchmark targets: the target interface, spawning a server in its own process
// group (optionally pinned to CPUs), waiting for its port, and stopping exactly what we started.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, mkdirSync, rmSync, existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface Provision {
  domain: string;
  password: string;
  /** localparts */
  users: string[];
  /** mutual "both" subscriptions, each unordered pair listed once (localparts) */
  pairs: Array<[string, string]>;
}

export interface Target {
  /** id used on the command line and in JSON (parley, parley-tls, prosody, ejabberd) */
  name: string;
  host: string;
  port: number;
  domain: string;
  /** whether clients must negotiate STARTTLS */
  starttls: "no" | "required";
  /** null when the target can run here, else the reason it cannot */
  check(): Promise<string | null>;
  /** fresh data folder, provision accounts and rosters, start; resolves when it accepts clients */
  start(p: Provision): Promise<void>;
  stop(): Promise<void>;
  /** pid of the server's root process (its tree is measured) */
  pid(): number;
  version(): string;
  /** exit code when the server process has ended (crashed), else null */
  exited(): number | "signal" | null;
  /** last lines of the server's own logs, for failure reports */
  logTail(): string;
}

export const REPO = path.resolve(import.meta.dirname, "..", "..");
export const WORK = path.join(REPO, ".bench-work");

export function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

export function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])) {
    const p = path.join(d, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error("server exited during start-up");
    if (!(await portFree(host, port))) return;
    await sleep(100);
  }
  throw new Error(`port ${host}:${port} not listening after ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPUs the server is pinned to ("" = no pinning); set by the runner. */
export const pinning = { server: "", generator: "", nice: 0 };

const started = new Set<ChildProcess>();

export interface Spawned {
  child: ChildProcess;
  exited: boolean;
  exitCode: number | null;
  logFile: string;
}

/** Starts cmd in its own process group, stdout/stderr to logFile, pinned when configured. */
export function spawnServer(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Spawned {
  const fd = openSync(opts.logFile, "a");
  let argv = [cmd, ...args];
  if (pinning.server) argv = ["taskset", "-c", pinning.server, ...argv];
  if (pinning.nice) argv = ["nice", "-n", String(pinning.nice), ...argv];
  const bin = argv.shift()!;
  const child = spawn(bin, argv, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  const sp: Spawned = { child, exited: false, exitCode: null, logFile: opts.logFile };
  started.add(child);
  child.on("exit", (code) => {
    sp.exited = true;
    sp.exitCode = code;
    started.delete(child);
  });
  return sp;
}

/** SIGTERM to the process group we created, SIGKILL after graceMs. */
export async function stopSpawned(sp: Spawned | null, graceMs = 8000): Promise<void> {
  if (!sp || sp.exited || !sp.child.pid) return;
  const pid = sp.child.pid;
  const gone = new Promise<void>((r) => sp.child.once("exit", () => r()));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {}
  const t = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }, graceMs);
  await gone;
  clearTimeout(t);
  // Children that outlived the leader in our group (erl_child_setup, …)
  try {
    process.kill(-pid, "SIGKILL");
  } catch {}
}

/** Kills every server process group this process started (on exit or interrupt). */
export function killAllStarted(): void {
  for (const c of started) {
    if (c.pid) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {}
    }
  }
  started.clear();
}

export function tailFile(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** PID of a started server's process (0 before start). */
export function spawnedPid(sp: Spawned | null): number {
  return sp?.child.pid ?? 0;
}

/** How a started server ended: null while it runs, its exit code, or "signal". */
export function spawnedExit(sp: Spawned | null): number | "signal" | null {
  if (!sp?.exited) return null;
  return sp.exitCode ?? "signal";
}

/** Installed version of a Debian package, "?" when dpkg cannot say. */
export function debianVersion(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}
