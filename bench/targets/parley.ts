// Parley itself, started from this repository with the pinned Node (the runner's own binary)
// and provisioned through its CLI (`user import`, `roster import`) while it is stopped.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  REPO, WORK, freshDir, portFree, spawnServer, stopSpawned, tailFile, waitForPort,
  type Provision, type Spawned, type Target,
  spawnedPid, spawnedExit
} from "./common.ts";

const MAIN = path.join(REPO, "src", "cli", "main.ts");

export class ParleyTarget implements Target {
  name: string;
  host = "127.0.0.1";
  port: number;
  domain: string;
  starttls: "no" | "required";
  dir: string;
  private sp: Spawned | null = null;

  constructor(port: number, domain: string, withTls: boolean) {
    this.port = port;
    this.domain = domain;
    this.starttls = withTls ? "required" : "no";
    this.name = withTls ? "parley-tls" : "parley";
    this.dir = path.join(WORK, this.name);
  }

  async check(): Promise<string | null> {
    if (!existsSync(MAIN)) return "src/cli/main.ts does not exist yet";
    const major = Number(process.versions.node.split(".")[0]);
    if (major < 24) return `needs Node >= 24 for TypeScript type stripping (this is ${process.version}); run through npm run bench or npx node`;
    for (const p of [this.port, this.port + 1, this.port + 2]) {
      if (!(await portFree(this.host, p))) return `port ${p} is already in use`;
    }
    return null;
  }

  version(): string {
    try {
      const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8"));
      return pkg.version ?? "?";
    } catch {
      return "?";
    }
  }

  pid(): number {
    return spawnedPid(this.sp);
  }

  exited(): number | "signal" | null {
    return spawnedExit(this.sp);
  }

  logTail(): string {
    return [path.join(this.dir, "stdout.log")].map((f) => tailFile(f, 30)).filter(Boolean).join("\n");
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PARLEY_DATA_DIR: path.join(this.dir, "data"),
      PARLEY_DOMAIN: this.domain,
      PARLEY_C2S_HOST: "127.0.0.1",
      PARLEY_C2S_PORT: String(this.port),
      PARLEY_C2S_TLS_PORT: String(this.port + 1),
      PARLEY_HTTP_HOST: "127.0.0.1",
      PARLEY_HTTP_PORT: String(this.port + 2),
      // Its own HTTPS port too, so two benchmark servers never both reach for the default 5281.
      PARLEY_HTTP_TLS_PORT: String(this.port + 3),
      PARLEY_C2S_REQUIRE_TLS: this.starttls === "required" ? "true" : "false",
      PARLEY_LOG_LEVEL: "warn",
      // no throttling, like the reference servers' configs (loopback is exempt by default anyway)
      PARLEY_LIMITS_C2S_BYTES_PER_SECOND: "0",
      PARLEY_LIMITS_MAX_CONNECTIONS_PER_ADDRESS: "0",
      PARLEY_CONFIG: "",
    };
  }

  private cli(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [MAIN, ...args], { cwd: this.dir, env: this.env(), timeout: 600000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`parley ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`.slice(0, 2000)));
        else resolve(stdout + stderr);
      });
    });
  }

  async start(p: Provision): Promise<void> {
    freshDir(this.dir);
    const users = path.join(this.dir, "users.txt");
    writeFileSync(users, p.users.map((u) => `${u}@${this.domain} ${p.password}\n`).join(""));
    await this.cli(["user", "import", users]);
    if (p.pairs.length) {
      const roster = path.join(this.dir, "roster.txt");
      writeFileSync(roster, p.pairs.map(([a, b]) => `${a}@${this.domain} ${b}@${this.domain}\n`).join(""));
      await this.cli(["roster", "import", roster]);
    }
    // Profiling hook (docs/performance.md "Profile findings"): extra Node flags for the server
    // only, e.g. BENCH_PARLEY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.BENCH_PARLEY_NODE_ARGS ?? "").split(" ").filter(Boolean);
    this.sp = spawnServer(process.execPath, [...nodeArgs, MAIN, "start"], { cwd: this.dir, env: this.env(), logFile: path.join(this.dir, "stdout.log") });
    try {
      await waitForPort(this.host, this.port, 30000, () => !this.sp!.exited);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${tailFile(path.join(this.dir, "stdout.log"))}`);
    }
  }

  async stop(): Promise<void> {
    await stopSpawned(this.sp, 10000);
    this.sp = null;
  }
}
