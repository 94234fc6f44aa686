// `npm run bench`: Parley against Prosody and ejabberd under identical load, one server at a time.
// See bench/README.md and docs/performance.md.
import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fdLimit, loadAvg, processTree } from "./lib/procstat.ts";
import { WORK, killAllStarted, pinning, type Provision, type Target } from "./targets/common.ts";
import { ProsodyTarget } from "./targets/prosody.ts";
import { EjabberdTarget } from "./targets/ejabberd.ts";
import { ParleyTarget } from "./targets/parley.ts";
import { Ctx, type Metric, type Params, type Scenario, type ScenarioResult } from "./scenarios/common.ts";
import { login } from "./scenarios/login.ts";
import { idle } from "./scenarios/idle.ts";
import { messaging } from "./scenarios/messaging.ts";
import { presence } from "./scenarios/presence.ts";
import { fanout } from "./scenarios/fanout.ts";

const HELP = `usage: npm run bench -- [options]

  --scenario=login,idle,messaging,presence,fanout   scenarios to run (default: all, in that order)
  --servers=parley,prosody,ejabberd          servers to compare (default: all three)
  --parley-tls                               also run Parley with STARTTLS required
  --smoke                                    tiny numbers, a few seconds per server; exits non-zero
                                             if a login fails, a message or presence is lost
  --moderate                                 medium numbers (about 1-2 minutes per server)
  --workers=N                                load-generator processes (default 1; idle adds more
                                             when one process would run out of file descriptors)
  --no-pin                                   do not pin the server to CPU 0 and the generator to the rest
  --nice=N                                   run server and generator at nice N (e.g. -5 on a shared,
                                             busy machine; needs root for negative values)
  --step-seconds=S                           duration of each rate step (messaging, presence)
  --msg-rates=2000,4000,…  --msg-clients=N   messaging steps (msg/s) and online clients
  --login-n=N --login-concurrency=C          login storm size
  --idle-steps=1000,5000,…                   idle connection counts
  --presence-users=N --presence-contacts=50,200 --presence-rates=5000,10000,…  (presences/s)
  --fanout-watchers=N --fanout-changes=N --fanout-interval-ms=MS   fanout: alice's watchers (1000),
                                             state changes per phase (200), pacing (20 ms)
  --port-wait=S                              wait up to S seconds for a busy server port instead of
                                             skipping the server (default 300 when fanout runs, else 0)
  --source-addrs=N                           spread client sockets over 127.0.0.1…N (default 8)
  --no-install                               do not apt-get install a missing reference server
  --out=FILE                                 also write all results as JSON (default .bench-work/results/…)
`;

const SCENARIOS: Record<string, Scenario> = { login, idle, messaging, presence, fanout };
const ORDER = ["login", "idle", "messaging", "presence", "fanout"];

function list(s: string | undefined, dflt: string[]): string[] {
  return s ? s.split(",").map((x) => x.trim()).filter(Boolean) : dflt;
}
function nums(s: string | undefined, dflt: number[]): number[] {
  return s ? list(s, []).map(Number) : dflt;
}

function log(msg: string): void {
  process.stderr.write(msg + "\n");
}

function params(v: Record<string, any>): Params {
  const smoke = !!v.smoke;
  const moderate = !!v.moderate;
  const fd = fdLimit().soft;
  const cpus = availableParallelism();
  const pin = !v["no-pin"] && cpus >= 2;
  const stepMs = v["step-seconds"] ? Number(v["step-seconds"]) * 1000 : smoke ? 1500 : moderate ? 5000 : 10000;
  const nAddr = Number(v["source-addrs"] ?? 8);
  const p: Params = {
    smoke,
    login: {
      n: Number(v["login-n"] ?? (smoke ? 200 : moderate ? 2000 : 5000)),
      concurrency: Number(v["login-concurrency"] ?? (smoke ? 20 : 100)),
    },
    idle: {
      steps: nums(v["idle-steps"], smoke ? [50, 200] : moderate ? [1000, 5000] : [1000, 5000, 10000, 20000]),
      concurrency: smoke ? 20 : 100,
      settleMs: smoke ? 500 : 3000,
      cpuWindowMs: smoke ? 500 : 5000,
    },
    messaging: {
      clients: Number(v["msg-clients"] ?? (smoke ? 50 : 1000)),
      rates: nums(v["msg-rates"], smoke ? [200, 500] : [2000, 4000, 6000, 8000, 12000, 16000, 20000, 24000, 32000, 40000, 48000, 64000]),
      stepMs,
      // smoke runs on shared CI machines: latency is reported, only loss fails them
      p99LimitMs: smoke ? 60000 : 100,
      drainMs: smoke ? 3000 : 10000,
      warmupMs: smoke ? 500 : 3000,
    },
    presence: {
      users: Number(v["presence-users"] ?? (smoke ? 30 : 500)),
      contacts: nums(v["presence-contacts"], smoke ? [10] : [50, 200]),
      concurrency: smoke ? 10 : 100,
      rates: nums(v["presence-rates"], smoke ? [300] : [2500, 5000, 10000, 15000, 20000, 30000, 40000, 60000, 80000, 120000, 160000]),
      stepMs: v["step-seconds"] ? stepMs : smoke ? 1500 : 5000,
      p99LimitMs: smoke ? 60000 : 100,
      drainMs: smoke ? 3000 : 10000,
      onlineTimeoutMs: smoke ? 10000 : 120000,
    },
    fanout: {
      watchers: Number(v["fanout-watchers"] ?? (smoke ? 50 : 1000)),
      changes: Number(v["fanout-changes"] ?? (smoke ? 20 : moderate ? 100 : 200)),
      intervalMs: Number(v["fanout-interval-ms"] ?? 20),
      concurrency: smoke ? 20 : 100,
      drainMs: smoke ? 20000 : 120000,
      loginTimeoutMs: smoke ? 15000 : 60000,
    },
    workers: Number(v.workers ?? 1),
    sourceAddrs: Array.from({ length: Math.max(1, nAddr) }, (_, i) => `127.0.0.${i + 1}`),
    generatorCpus: pin ? `1-${cpus - 1}` : "",
    nice: Number(v.nice ?? 0),
    password: "bench-Pa55word",
    fdLimit: fd,
  };
  pinning.server = pin ? "0" : "";
  pinning.generator = p.generatorCpus;
  pinning.nice = p.nice;
  return p;
}

function mergeProvision(domain: string, password: string, parts: Array<Pick<Provision, "users" | "pairs">>): Provision {
  const users = new Set<string>();
  const pairs: Array<[string, string]> = [];
  for (const x of parts) {
    for (const u of x.users) users.add(u);
    pairs.push(...x.pairs);
  }
  return { domain, password, users: [...users], pairs };
}

/** Installs a missing reference server from Debian (bench/setup.sh: policy-rc.d first). */
function install(pkgs: string[]): void {
  const script = path.join(import.meta.dirname, "setup.sh");
  log(`installing ${pkgs.join(" ")} with ${path.relative(process.cwd(), script)} …`);
  const r = spawnSync("bash", [script, ...pkgs], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) log(`setup.sh exited with ${r.status}`);
}

interface Outcome {
  server: string;
  version: string;
  status: "ok" | "failed" | "skipped" | "error";
  reason?: string;
  result?: ScenarioResult;
  /** tail of the server's logs when something went wrong */
  serverLog?: string;
}

function fmt(v: Metric | undefined): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : String(v);
  }
  return String(v);
}

function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ") + " |";
  return [line(headers), "|" + w.map((x, i) => (i === 0 ? "-".repeat(x + 2) : "-".repeat(x + 1) + ":")).join("|") + "|", ...rows.map(line)].join("\n");
}

const REFERENCE = new Set(["prosody", "ejabberd"]);

/** Parley ÷ best reference for each headline metric that has a direction. */
function ratios(sc: Scenario, outcomes: Outcome[], prefix = ""): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {};
  const refs = outcomes.filter((o) => REFERENCE.has(o.server) && o.result);
  for (const o of outcomes.filter((o) => o.server.startsWith("parley") && o.result)) {
    const r: Record<string, number | null> = {};
    for (const h of sc.headline) {
      if (!h.better) continue;
      const key = prefix + h.key;
      const mine = o.result!.metrics[key];
      // a negative CPU slope (two tiny smoke steps) or a zero has no meaningful ratio
      const vals = refs.map((x) => x.result!.metrics[key]).filter((x): x is number => typeof x === "number" && Number.isFinite(x) && x > 0);
      if (typeof mine !== "number" || !(mine >= 0) || !vals.length) {
        r[h.key] = null;
        continue;
      }
      const best = h.better === "higher" ? Math.max(...vals) : Math.min(...vals);
      r[h.key] = best === 0 ? null : Math.round((mine / best) * 100) / 100;
    }
    out[o.server] = r;
  }
  return out;
}

function report(sc: Scenario, p: Params, outcomes: Outcome[], meta: Record<string, unknown>): Record<string, unknown> {
  const groups = sc.groups ? sc.groups(p) : [{ prefix: "", label: "" }];
  const allRatios: Record<string, unknown> = {};
  let text = "";
  for (const g of groups) {
    const headers = ["server", ...sc.headline.map((h) => h.label + (h.better === "higher" ? " ↑" : h.better === "lower" ? " ↓" : ""))];
    const rows = outcomes.map((o) => {
      if (!o.result) return [o.server, `${o.status}: ${(o.reason ?? "").split("\n")[0].slice(0, 90)}`, ...sc.headline.slice(1).map(() => "")];
      return [o.server + (o.status === "failed" ? " (FAILED)" : ""), ...sc.headline.map((h) => fmt(o.result!.metrics[g.prefix + h.key]))];
    });
    const rt = outcomes.some((o) => REFERENCE.has(o.server) && o.result) ? ratios(sc, outcomes, g.prefix) : {};
    for (const [srv, r] of Object.entries(rt)) {
      rows.push([`${srv} ÷ best ref`, ...sc.headline.map((h) => (r[h.key] === undefined ? "" : r[h.key] === null ? "–" : `${r[h.key]}×`))]);
    }
    if (groups.length > 1) allRatios[g.prefix.replace(/_$/, "")] = rt;
    else Object.assign(allRatios, rt);
    text += `\n## ${sc.title}${g.label ? ` — ${g.label}` : ""}\n\n${table(headers, rows)}\n`;
  }
  for (const o of outcomes) {
    for (const n of o.result?.notes ?? []) text += `note (${o.server}): ${n}\n`;
    for (const f of o.result?.failures ?? []) text += `FAILURE (${o.server}): ${f}\n`;
    if (o.serverLog) log(`--- ${o.server} log tail (${sc.name}) ---\n${o.serverLog}\n---`);
  }
  process.stdout.write(text + "\n");
  const json = {
    scenario: sc.name,
    ...meta,
    servers: Object.fromEntries(
      outcomes.map((o) => [o.server, { version: o.version, status: o.status, reason: o.reason?.split("\n")[0], metrics: o.result?.metrics, failures: o.result?.failures }]),
    ),
    ratios: allRatios,
  };
  process.stdout.write(JSON.stringify(json) + "\n");
  return {
    ...json,
    details: Object.fromEntries(outcomes.map((o) => [o.server, o.result?.details])),
    server_logs: Object.fromEntries(outcomes.filter((o) => o.serverLog || o.reason).map((o) => [o.server, { reason: o.reason, log: o.serverLog }])),
  };
}

/** t.check(), waiting up to maxMs (polling every 5 s) while the only problem is a port in use. */
async function checkWaitingForPort(t: Target, maxMs: number): Promise<string | null> {
  const deadline = Date.now() + maxMs;
  let why = await t.check();
  if (why?.includes("already in use") && maxMs > 0) log(`${t.name}: ${why}; waiting up to ${Math.round(maxMs / 1000)} s for it …`);
  while (why?.includes("already in use") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5000));
    why = await t.check();
  }
  return why;
}

/** Whether a process of t's own tree holds the listening socket of t's port (/proc/net/tcp inodes). */
function listenerIsOurs(t: Target): boolean {
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
        const c = line.trim().split(/\s+/);
        if (c[3] === "0A" && parseInt(c[1]?.split(":")[1] ?? "", 16) === t.port) inodes.add(c[9]);
      }
    } catch {}
  }
  for (const pid of t.pid() ? processTree(t.pid()) : []) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {}
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return true;
      } catch {}
    }
  }
  return false;
}

/**
 * Starts t once its port is free. Someone else's server may take the port while ours is being
 * provisioned: then the port answers but not from our server, which fails to bind; that start
 * is retried (after waiting for the port again) while maxMs lasts.
 */
async function startWaitingForPort(t: Target, prov: Provision, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const why = await checkWaitingForPort(t, Math.max(0, deadline - Date.now()));
    if (why?.includes("already in use")) throw new Error(why);
    try {
      await t.start(prov);
      for (let i = 0; i < 300 && !listenerIsOurs(t); i++) {
        if (t.exited() !== null) throw new Error(`port ${t.port} already in use: another process took it while ${t.name} started\n${t.logTail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!listenerIsOurs(t)) throw new Error(`port ${t.port} is answered by another process, not ${t.name}`);
      return;
    } catch (e) {
      const msg = (e as Error).message;
      if (!/EADDRINUSE|already in use/.test(msg) || Date.now() >= deadline) throw e;
      log(`${t.name}: its port was taken while starting; waiting and retrying …`);
      await t.stop();
    }
  }
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      scenario: { type: "string" },
      servers: { type: "string" },
      smoke: { type: "boolean" },
      moderate: { type: "boolean" },
      "parley-tls": { type: "boolean" },
      workers: { type: "string" },
      "no-pin": { type: "boolean" },
      nice: { type: "string" },
      "step-seconds": { type: "string" },
      "msg-rates": { type: "string" },
      "msg-clients": { type: "string" },
      "login-n": { type: "string" },
      "login-concurrency": { type: "string" },
      "idle-steps": { type: "string" },
      "presence-users": { type: "string" },
      "presence-contacts": { type: "string" },
      "presence-rates": { type: "string" },
      "fanout-watchers": { type: "string" },
      "fanout-changes": { type: "string" },
      "fanout-interval-ms": { type: "string" },
      "port-wait": { type: "string" },
      "source-addrs": { type: "string" },
      "no-install": { type: "boolean" },
      fresh: { type: "boolean" },
      out: { type: "string" },
      domain: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const p = params(v);
  const scenarios = list(v.scenario, ORDER).map((n) => {
    const s = SCENARIOS[n];
    if (!s) throw new Error(`unknown scenario '${n}' (have ${ORDER.join(", ")})`);
    return s;
  });
  const domain = v.domain ?? "localhost";
  const wanted = list(v.servers, ["parley", "prosody", "ejabberd"]);
  const targets: Target[] = [];
  for (const name of wanted) {
    if (name === "parley") {
      targets.push(new ParleyTarget(25522, domain, false));
      if (v["parley-tls"]) targets.push(new ParleyTarget(25532, domain, true));
    } else if (name === "parley-tls") targets.push(new ParleyTarget(25532, domain, true));
    else if (name === "prosody") targets.push(new ProsodyTarget(25322, domain));
    else if (name === "ejabberd") targets.push(new EjabberdTarget(25422, domain));
    else throw new Error(`unknown server '${name}' (have parley, prosody, ejabberd)`);
  }

  // a reference server that is missing gets installed from Debian (root only, once)
  if (!v["no-install"] && process.getuid?.() === 0) {
    const missing: string[] = [];
    for (const t of targets) {
      if (t.name !== "prosody" && t.name !== "ejabberd") continue;
      const why = await t.check();
      if (why?.includes("not installed")) missing.push(t.name);
    }
    if (missing.length) install(missing);
  }

  // Someone else's benchmark may hold a server's port for a while (a shared machine): wait for it.
  const portWaitMs = Number(v["port-wait"] ?? (scenarios.some((s) => s.name === "fanout") ? 300 : 0)) * 1000;
  const available: Target[] = [];
  const skipped = new Map<string, string>();
  for (const t of targets) {
    const why = await checkWaitingForPort(t, portWaitMs);
    if (why) {
      skipped.set(t.name, why);
      log(`skipping ${t.name}: ${why}`);
    } else available.push(t);
  }

  const meta = {
    mode: p.smoke ? "smoke" : v.moderate ? "moderate" : "full",
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    pinning: pinning.server ? { server: pinning.server, generator: pinning.generator } : null,
    nice: p.nice,
    fd_limit: p.fdLimit,
    loadavg_at_start: loadAvg(),
  };
  log(`bench: ${meta.mode} mode, scenarios ${scenarios.map((s) => s.name).join(",")}, servers ${available.map((t) => t.name).join(",") || "(none)"}, ` +
    `pinning ${pinning.server ? `server→CPU ${pinning.server}, generator→CPU ${pinning.generator}` : "off"}, load ${meta.loadavg_at_start.join(" ")}`);
  if ((meta.loadavg_at_start[0] ?? 0) > 0.5 * meta.cpus) log("warning: the machine is already busy; numbers will be noisy");

  const outcomes = new Map<string, Outcome[]>(scenarios.map((s) => [s.name, []]));
  const record = (sc: Scenario, o: Outcome) => outcomes.get(sc.name)!.push(o);
  const runOne = async (sc: Scenario, t: Target): Promise<void> => {
    log(`[${sc.name}] ${t.name} …`);
    const ctx = new Ctx(t, p, log);
    try {
      const result = await sc.run(ctx);
      const gone = t.exited();
      if (gone !== null) result.failures.unshift(`the server exited during the scenario (${gone})`);
      const o: Outcome = { server: t.name, version: t.version(), status: result.failures.length ? "failed" : "ok", result };
      if (o.status !== "ok") o.serverLog = t.logTail();
      record(sc, o);
    } catch (e) {
      record(sc, { server: t.name, version: t.version(), status: "error", reason: (e as Error).stack ?? String(e), serverLog: t.logTail() });
      log(`[${sc.name}] ${t.name} error: ${(e as Error).message}`);
    } finally {
      await ctx.closePools();
    }
  };

  const reuse = p.smoke && !v.fresh;
  if (reuse) {
    // one start per server, provisioned for every selected scenario (disjoint users)
    for (const t of available) {
      const prov = mergeProvision(domain, p.password, scenarios.map((s) => s.provision(p)));
      log(`starting ${t.name} ${t.version()} (${prov.users.length} users, ${prov.pairs.length} contact pairs) …`);
      try {
        const ts = performance.now();
        await startWaitingForPort(t, prov, portWaitMs);
        log(`  ${t.name} provisioned and listening after ${((performance.now() - ts) / 1000).toFixed(1)} s`);
        for (const sc of scenarios) await runOne(sc, t);
      } catch (e) {
        for (const sc of scenarios) if (!outcomes.get(sc.name)!.some((o) => o.server === t.name)) {
          record(sc, { server: t.name, version: t.version(), status: "error", reason: "could not start: " + (e as Error).message });
        }
        log(`${t.name} could not start: ${(e as Error).message}`);
      } finally {
        await t.stop();
      }
    }
  }
  const all: Record<string, unknown>[] = [];
  for (const sc of scenarios) {
    if (!reuse) {
      for (const t of available) {
        const prov = mergeProvision(domain, p.password, [sc.provision(p)]);
        log(`starting ${t.name} ${t.version()} for ${sc.name} (${prov.users.length} users, ${prov.pairs.length} contact pairs) …`);
        try {
          const ts = performance.now();
          await startWaitingForPort(t, prov, portWaitMs);
          log(`  ${t.name} provisioned and listening after ${((performance.now() - ts) / 1000).toFixed(1)} s`);
        } catch (e) {
          record(sc, { server: t.name, version: t.version(), status: "error", reason: "could not start: " + (e as Error).message });
          log(`${t.name} could not start: ${(e as Error).message}`);
          await t.stop();
          continue;
        }
        try {
          await runOne(sc, t);
        } finally {
          await t.stop();
        }
      }
    }
    for (const [name, why] of skipped) outcomes.get(sc.name)!.push({ server: name, version: "", status: "skipped", reason: why });
    all.push(report(sc, p, outcomes.get(sc.name)!, meta));
  }

  const out = v.out ?? path.join(WORK, "results", `${meta.date.replace(/[:.]/g, "-")}-${meta.mode}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ meta, params: p, scenarios: all }, null, 2));
  log(`results written to ${path.relative(process.cwd(), out)}`);

  const bad = [...outcomes.values()].flat().filter((o) => o.status === "failed" || o.status === "error");
  if (bad.length) {
    log(`${bad.length} run(s) failed or errored: ${bad.map((o) => o.server).join(", ")}`);
    return 1;
  }
  return 0;
}

/**
 * Servers and workers inherit our open-file limit: raise the soft limit (to 200,000, or the hard
 * limit when that is lower and we may not raise it) by re-running under a shell's ulimit.
 */
function reexecWithFdLimit(): void {
  const { soft, hard } = fdLimit();
  if (soft >= Math.min(hard, 200000) || process.env.PARLEY_BENCH_REEXEC) return;
  const r = spawnSync(
    "/bin/sh",
    ["-c", 'ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', "sh", process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: "inherit", env: { ...process.env, PARLEY_BENCH_REEXEC: "1" } },
  );
  process.exit(r.status ?? 1);
}
reexecWithFdLimit();

process.on("SIGINT", () => {
  killAllStarted();
  process.exit(130);
});
process.on("SIGTERM", () => {
  killAllStarted();
  process.exit(143);
});
process.on("exit", () => killAllStarted());

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`bench: ${(e as Error).stack ?? e}`);
    killAllStarted();
    process.exit(2);
  },
);
