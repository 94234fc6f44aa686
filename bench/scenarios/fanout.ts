// 5. Enterprise presence fan-out (issue #5): one user, alice, with W mutual contacts spread over
// the privacy levels (5 % Friends & Family, 15 % Workgroup, 50 % Colleagues, 25 % External,
// 5 % Blocked), every contact online with one connection and initial presence. Untimed set-up:
// Parley gets each contact's level from alice's own connection (a roster set per contact with
// <privacy xmlns='urn:parley:presence:0' level='…'/>; 'blocked' is a XEP-0191 block there); the
// reference servers have no levels: the same roster, and the Blocked share blocked with one
// XEP-0191 <block/>. Then alice changes state N times, paced (one change every I ms), then N
// times in one burst (one write). A change is <show/> + <status/> (+ for Parley a
// <set xmlns='urn:parley:presence:0'/> with a manual state and a note), alternating Busy "in a
// meeting" and Do not disturb "presenting", with <priority>seq mod 128</priority>: the only
// part every server forwards unchanged to every level (External sees no note), so each watcher
// can tell which change a presence belongs to (in order per connection: unwrapped mod 128).
//
// Measured per phase: fan-out time per change (alice's send → the last watcher's receipt,
// p50/p99 over changes), presences delivered per change and per second, bytes delivered per
// change (stanza bytes summed over watchers), server CPU per delivered presence, and per level
// what arrived. A Blocked watcher that still sees alice available after the block, or receives
// anything from her during the measurement, is a violation and fails the run.
//
// The clients run in one forked process (this file with --fanout-worker), pinned like the
// generator pool: alice and the watchers share one monotonic clock.
import { fork, execFileSync, type ChildProcess } from "node:child_process";
import { Ctx, cpuDelta, round, sleep, type Params, type Scenario, type ScenarioResult } from "./common.ts";
import { readFileSync } from "node:fs";
import { machineBusy, processTree, sampleTree, type TreeSample } from "../lib/procstat.ts";
import { XmppClient, escapeXml } from "../lib/xmpp.ts";
import { Hist, nowUs, type HistJSON } from "../lib/hist.ts";

export interface FanoutParams {
  watchers: number;
  changes: number;
  /** paced phase: one change every intervalMs */
  intervalMs: number;
  concurrency: number;
  /** longest wait for the last deliveries of a phase after its last send */
  drainMs: number;
  loginTimeoutMs: number;
}

declare module "./common.ts" {
  interface Params {
    fanout: FanoutParams;
  }
}

export const FANOUT_BASE = 600000;
export const ALICE = "alice";

export type Level = "friends-family" | "workgroup" | "colleagues" | "external" | "blocked";
export const LEVEL_SHARES: ReadonlyArray<[Level, number]> = [
  ["friends-family", 0.05],
  ["workgroup", 0.15],
  ["colleagues", 0.5],
  ["external", 0.25],
  ["blocked", 0.05],
];

/** Watchers per level for n watchers (largest remainder; at least one per level when n ≥ 5). */
export function levelCounts(n: number): Map<Level, number> {
  const raw = LEVEL_SHARES.map(([l, s]) => ({ l, exact: n * s, k: Math.floor(n * s) }));
  if (n >= LEVEL_SHARES.length) for (const r of raw) if (r.k === 0) r.k = 1;
  let left = n - raw.reduce((a, r) => a + r.k, 0);
  for (const r of [...raw].sort((a, b) => b.exact - b.k - (a.exact - a.k))) {
    if (left <= 0) break;
    r.k++;
    left--;
  }
  while (left < 0) {
    const big = raw.reduce((a, b) => (b.k > a.k ? b : a));
    big.k--;
    left++;
  }
  return new Map(raw.map((r) => [r.l, r.k]));
}

/** Watcher j (1…n) → level, interleaved (deterministic shuffle) so no level sits at one end of the roster. */
export function watcherPlan(n: number): Array<{ user: string; level: Level }> {
  const levels: Level[] = [];
  for (const [l, k] of levelCounts(n)) for (let i = 0; i < k; i++) levels.push(l);
  let s = 0x5eed1234;
  for (let i = levels.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [levels[i], levels[j]] = [levels[j], levels[i]];
  }
  return levels.map((level, i) => ({ user: "u" + (FANOUT_BASE + 1 + i), level }));
}

/** Alice's k-th change (seq ≥ 1). Parley also gets the manual state and note as <set/>. */
export function changeStanza(seq: number, parley: boolean): string {
  const busy = seq % 2 === 1;
  const note = busy ? `In a meeting, room 4.12 (#${seq})` : `Presenting until 15:00 (#${seq})`;
  const status = (busy ? "Busy · " : "Do not disturb · ") + note;
  const set = parley ? `<set xmlns='urn:parley:presence:0' availability='${busy ? "busy" : "dnd"}'><note>${escapeXml(note)}</note></set>` : "";
  return `<presence><priority>${seq % 128}</priority><show>dnd</show><status>${escapeXml(status)}</status>${set}</presence>`;
}

// ---- the scenario (runner side) -------------------------------------------------------------

interface PhaseOut {
  n: number;
  seq0: number;
  expectedPerChange: number;
  firstSendUs: number;
  lastSendUs: number;
  lastRecvUs: number;
  /** per change: deliveries, bytes, fan-out time µs (last receipt − send; -1 if never complete), first receipt µs */
  count: number[];
  bytes: number[];
  fanoutUs: number[];
  firstUs: number[];
  hist: HistJSON;
  perLevel: Record<string, { watchers: number; pres: number; bytes: number; unavailable: number; other: number; sample?: string }>;
  violations: number;
  violationSamples: string[];
  duplicates: number;
  gaps: number;
  dropped: number;
  timedOut: boolean;
}

class FanoutGenerator {
  child: ChildProcess;
  private seq = 0;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor(ctx: Ctx) {
    this.child = fork(import.meta.filename, ["--fanout-worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: ["--max-old-space-size=4096"] });
    const pid = this.child.pid;
    if (ctx.params.generatorCpus && pid) {
      try {
        execFileSync("taskset", ["-a", "-p", "-c", ctx.params.generatorCpus, String(pid)], { stdio: "ignore" });
      } catch {}
    }
    if (ctx.params.nice && pid) {
      try {
        execFileSync("renice", ["-n", String(ctx.params.nice), "-p", String(pid)], { stdio: "ignore" });
      } catch {}
    }
    this.child.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error("fanout worker: " + m.error));
    });
    this.child.on("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`fanout worker exited (${code})`));
      this.pending.clear();
    });
  }

  call<T = any>(op: string, args?: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, args });
    });
  }

  sample(): TreeSample {
    return sampleTree(this.child.pid ?? 0);
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.call("closeAll"), sleep(5000)]);
    } catch {}
    this.child.disconnect?.();
    this.child.kill();
  }
}

/** Kernel-mode share of a process tree's CPU: [user s, system s] (utime, stime from /proc; 100 ticks/s). */
function userSys(root: number): [number, number] {
  let u = 0, k = 0;
  for (const pid of root ? processTree(root) : []) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      u += +f[11] + +f[13];
      k += +f[12] + +f[14];
    } catch {}
  }
  return [u / 100, k / 100];
}

/** Softirq seconds of the whole machine (/proc/stat): loopback TCP delivery runs there, not in any process. */
function softirq(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/);
    return +f[7] / 100;
  } catch {
    return 0;
  }
}

function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const ms = (us: number | null): number | null => (us === null ? null : round(us / 1000, 2));

function summarize(ph: PhaseOut, cpuS: number, sysS: number, genUtil: number, otherCpu: number, softirqCores: number) {
  const delivered = ph.count.reduce((a, b) => a + b, 0);
  const bytes = ph.bytes.reduce((a, b) => a + b, 0);
  const complete = ph.fanoutUs.filter((x) => x >= 0).sort((a, b) => a - b);
  const first = ph.firstUs.filter((x) => x >= 0).sort((a, b) => a - b);
  const lost = ph.count.reduce((a, c) => a + Math.max(0, ph.expectedPerChange - c), 0);
  const spanS = ph.lastRecvUs > ph.firstSendUs ? (ph.lastRecvUs - ph.firstSendUs) / 1e6 : NaN;
  const h = Hist.from(ph.hist).summaryMs();
  return {
    changes: ph.n,
    expected_per_change: ph.expectedPerChange,
    complete_changes: complete.length,
    delivered,
    lost,
    duplicates: ph.duplicates,
    pres_per_change: round(delivered / ph.n, 1),
    pres_per_s: round(delivered / spanS),
    send_span_ms: round((ph.lastSendUs - ph.firstSendUs) / 1000, 1),
    all_delivered_ms: round((ph.lastRecvUs - ph.firstSendUs) / 1000, 1),
    fanout_p50_ms: ms(quantile(complete, 0.5)),
    fanout_p99_ms: ms(quantile(complete, 0.99)),
    fanout_max_ms: ms(complete.length ? complete[complete.length - 1] : null),
    first_receipt_p50_ms: ms(quantile(first, 0.5)),
    delivery_p50_ms: h.p50,
    delivery_p99_ms: h.p99,
    bytes_per_change: round(bytes / ph.n),
    bytes_per_pres: delivered ? round(bytes / delivered, 1) : null,
    server_cpu_s: round(cpuS, 3),
    server_cpu_us_per_pres: delivered ? round((cpuS / delivered) * 1e6, 2) : null,
    /** share of the server's CPU spent in the kernel (socket writes, loopback TCP) */
    server_sys_share: cpuS > 0 ? round(sysS / cpuS, 2) : null,
    gen_cpu: round(genUtil, 2),
    /** machine-wide softirq (cores): loopback TCP delivery of everyone's writes, mostly ours */
    softirq_cpu: round(softirqCores, 2),
    other_cpu: round(otherCpu, 2),
    violations: ph.violations,
    timed_out: ph.timedOut,
    /** fan-out time of each change in order, ms (null: some watcher never got it) */
    fanout_ms_series: ph.fanoutUs.map((x) => (x >= 0 ? round(x / 1000, 1) : null)),
    per_level: Object.fromEntries(
      Object.entries(ph.perLevel).map(([l, v]) => [
        l,
        {
          watchers: v.watchers,
          pres: v.pres,
          pres_per_change: round(v.pres / ph.n, 1),
          bytes: v.bytes,
          bytes_per_change: round(v.bytes / ph.n),
          bytes_per_pres: v.pres ? round(v.bytes / v.pres, 1) : null,
          unavailable: v.unavailable,
          other: v.other,
          sample: v.sample,
        },
      ]),
    ),
  };
}

export const fanout: Scenario = {
  name: "fanout",
  title: "Enterprise presence fan-out",
  headline: [
    { key: "watchers", label: "watchers" },
    { key: "paced_p50_ms", label: "paced p50 ms", better: "lower" },
    { key: "paced_p99_ms", label: "paced p99 ms", better: "lower" },
    { key: "paced_pres_per_s", label: "paced pres/s", better: "higher" },
    { key: "burst_pres_per_s", label: "burst pres/s", better: "higher" },
    { key: "burst_p99_ms", label: "burst p99 ms", better: "lower" },
    { key: "pres_per_change", label: "pres/change" },
    { key: "bytes_per_change", label: "bytes/change", better: "lower" },
    { key: "cpu_us_per_pres", label: "srv µs/pres", better: "lower" },
    { key: "blocked_violations", label: "blocked leaks" },
    { key: "others_cpu", label: "others' CPU" },
  ],

  provision(p: Params) {
    const plan = watcherPlan(p.fanout.watchers);
    return { users: [ALICE, ...plan.map((w) => w.user)], pairs: plan.map((w) => [ALICE, w.user] as [string, string]) };
  },

  async run(ctx: Ctx): Promise<ScenarioResult> {
    const F = ctx.params.fanout;
    const parley = ctx.target.name.startsWith("parley");
    const plan = watcherPlan(F.watchers);
    const failures: string[] = [];
    const notes: string[] = [];
    const details: Record<string, unknown> = { plan: Object.fromEntries(levelCounts(F.watchers)), parley_levels: parley };
    const gen = new FanoutGenerator(ctx);
    try {
      const t = ctx.target;
      await gen.call("init", {
        host: t.host, port: t.port, domain: t.domain, password: ctx.params.password, starttls: t.starttls,
        sourceAddrs: ctx.params.sourceAddrs, loginTimeoutMs: F.loginTimeoutMs,
      });
      // 1. every watcher online with initial presence, then alice
      const t0 = performance.now();
      const conn = await gen.call<any>("connectWatchers", { watchers: plan, concurrency: F.concurrency, maxMs: 300000 });
      if (conn.failed) failures.push(`${conn.failed} of ${plan.length} watchers could not log in: ${conn.errors.slice(0, 3).join("; ")}`);
      await gen.call("connectAlice", { user: ALICE });
      const seen = await gen.call<any>("waitAliceSeen", { timeoutMs: F.loginTimeoutMs });
      details.online_s = round((performance.now() - t0) / 1000, 2);
      if (seen.missing) failures.push(`${seen.missing} watchers never saw alice's initial presence`);
      ctx.log(`  fanout: ${conn.ok} watchers + alice online in ${details.online_s} s`);

      // 2. levels (Parley) or the XEP-0191 block (reference servers), untimed
      const t1 = performance.now();
      const lv = parley
        ? await gen.call<any>("setLevels", { items: plan.map((w) => ({ user: w.user, level: w.level })), window: 64, timeoutMs: 120000 })
        : await gen.call<any>("block", { users: plan.filter((w) => w.level === "blocked").map((w) => w.user), timeoutMs: 60000 });
      if (lv.errors.length) failures.push(`${parley ? "setting levels" : "blocking"} failed for ${lv.errors.length} contacts: ${lv.errors.slice(0, 3).join("; ")}`);
      await gen.call("waitQuiet", { quietMs: 500, timeoutMs: 30000 });
      const pre = await gen.call<any>("preCheck", {});
      details.setup = { levels_s: round((performance.now() - t1) / 1000, 2), ...lv, ...pre };
      if (pre.preViolations) failures.push(`${pre.preViolations} stanzas from alice reached Blocked watchers after the block: ${pre.preViolationSamples.slice(0, 2).join(" | ")}`);
      if (pre.blockedShowAliceOnline) {
        notes.push(`${pre.blockedShowAliceOnline} Blocked watchers were sent no unavailable presence when blocked (XEP-0191 §3.3 has the server send one to a subscribed contact): their clients still show alice online from before the block; nothing reached them afterwards`);
      }
      if (pre.othersLostAlice) failures.push(`${pre.othersLostAlice} non-blocked watchers do not see alice available before the measurement`);
      ctx.log(`  fanout: ${parley ? `${plan.length} levels set` : `${plan.filter((w) => w.level === "blocked").length} contacts blocked`} in ${(details.setup as any).levels_s} s`);
      await sleep(ctx.params.smoke ? 200 : 1000);

      // 3. paced, then burst
      const phases: Record<string, ReturnType<typeof summarize>> = {};
      let seq0 = 1;
      for (const mode of ["paced", "burst"] as const) {
        await gen.call("waitQuiet", { quietMs: 300, timeoutMs: 60000 });
        const s0 = ctx.server(), g0 = gen.sample(), m0 = machineBusy(), us0 = userSys(ctx.target.pid()), si0 = softirq();
        const ph = await gen.call<PhaseOut>("changes", {
          seq0, n: F.changes, intervalMs: mode === "paced" ? F.intervalMs : 0, parley, drainMs: F.drainMs,
        });
        const s1 = ctx.server(), g1 = gen.sample(), m1 = machineBusy(), us1 = userSys(ctx.target.pid()), si1 = softirq();
        const cpu = cpuDelta(s0, s1);
        const gd = cpuDelta(g0, g1);
        const wall = Math.max(cpu.wall, 1e-3);
        const other = Math.max(0, (m1 - m0 - cpu.cpu - gd.cpu - (si1 - si0)) / wall);
        const s = summarize(ph, cpu.cpu, us1[1] - us0[1], gd.util, other, (si1 - si0) / wall);
        phases[mode] = s;
        seq0 += F.changes;
        ctx.log(
          `  fanout ${mode}: ${s.delivered} presences (${s.pres_per_change}/change), fan-out p50 ${s.fanout_p50_ms} p99 ${s.fanout_p99_ms} ms, ` +
            `${s.pres_per_s}/s, ${s.bytes_per_change} B/change, server ${s.server_cpu_us_per_pres} µs/pres (${round((s.server_sys_share ?? 0) * 100)} % kernel), gen ${round(gd.util * 100)} %, softirq ${round(s.softirq_cpu * 100)} %, others ${round(other * 100)} %, lost ${s.lost}, blocked leaks ${s.violations}`,
        );
        if (s.lost) failures.push(`${mode}: ${s.lost} presences never arrived (${s.complete_changes} of ${s.changes} changes reached every watcher)`);
        if (s.violations) failures.push(`${mode}: ${s.violations} stanzas from alice reached Blocked watchers: ${ph.violationSamples.slice(0, 2).join(" | ")}`);
        if (ph.dropped) failures.push(`${mode}: ${ph.dropped} watcher sessions dropped`);
        if (ph.gaps) notes.push(`${mode}: ${ph.gaps} changes skipped by some watcher (a later change arrived first)`);
        if (s.gen_cpu >= 0.8) notes.push(`${mode}: generator at ${round(s.gen_cpu * 100)} % of its core: receipt times may include generator queueing`);
        if (s.other_cpu > 0.3) notes.push(`${mode}: other processes used ${s.other_cpu} cores meanwhile`);
      }
      details.phases = phases;
      const P = phases.paced, B = phases.burst;
      const delivered = P.delivered + B.delivered;
      const levelLine = Object.entries(P.per_level)
        .map(([l, v]) => `${l} ${v.watchers}: ${v.pres_per_change} pres/change, ${v.bytes_per_pres ?? "–"} B/pres`)
        .join("; ");
      notes.push(`per level (paced): ${levelLine}`);
      const metrics: Record<string, any> = {
        watchers: plan.length,
        changes: F.changes,
        interval_ms: F.intervalMs,
        paced_p50_ms: P.fanout_p50_ms,
        paced_p99_ms: P.fanout_p99_ms,
        paced_pres_per_s: P.pres_per_s,
        burst_pres_per_s: B.pres_per_s,
        burst_p50_ms: B.fanout_p50_ms,
        burst_p99_ms: B.fanout_p99_ms,
        burst_all_delivered_ms: B.all_delivered_ms,
        pres_per_change: P.pres_per_change,
        bytes_per_change: P.bytes_per_change,
        bytes_per_pres: P.bytes_per_pres,
        cpu_us_per_pres: delivered ? round(((P.server_cpu_s + B.server_cpu_s) / delivered) * 1e6, 2) : null,
        paced_cpu_us_per_pres: P.server_cpu_us_per_pres,
        burst_cpu_us_per_pres: B.server_cpu_us_per_pres,
        lost: P.lost + B.lost,
        blocked_violations: P.violations + B.violations + (pre.preViolations ?? 0),
        blocked_told_offline: pre.blockedSawUnavailable,
        others_cpu: Math.max(P.other_cpu, B.other_cpu),
        gen_cpu: Math.max(P.gen_cpu, B.gen_cpu),
      };
      for (const [l, v] of Object.entries(P.per_level)) {
        metrics[`${l}_pres_per_change`] = v.pres_per_change;
        metrics[`${l}_bytes_per_pres`] = v.bytes_per_pres;
      }
      return { metrics, details, failures, notes };
    } finally {
      await gen.close();
    }
  },
};

// ---- the worker (a forked copy of this file) -----------------------------------------------

interface WInit {
  host: string;
  port: number;
  domain: string;
  password: string;
  starttls: "no" | "required";
  sourceAddrs: string[];
  loginTimeoutMs: number;
}

interface Watcher {
  user: string;
  level: Level;
  blocked: boolean;
  c: XmppClient;
  /** last change seq seen (0 = before the measurement) */
  last: number;
  /** last presence from alice: true available, false unavailable, null none yet */
  aliceAvail: boolean | null;
  /** Blocked watchers: when alice asked for the block / got its result (µs, 0 = not yet) */
  blockAskedAt: number;
  blockedAt: number;
  /** an unavailable from alice arrived after the block was asked for */
  blockUnavailable: boolean;
}

function workerMain(): void {
  let cfg: WInit;
  let aliceBare = "";
  const watchers = new Map<string, Watcher>();
  let alice: XmppClient | null = null;
  const pendingIq = new Map<string, (raw: string) => void>();
  let lastActivityUs = 0;
  let dropped = 0;
  const errors: string[] = [];

  // measurement state
  let measuring = false;
  let seqLo = 0, seqHi = -1;
  let sendAt = new Float64Array(0);
  let count = new Int32Array(0);
  let bytes = new Float64Array(0);
  let lastRecv = new Float64Array(0);
  let firstRecv = new Float64Array(0);
  let hist = new Hist();
  let perLevel = new Map<string, { watchers: number; pres: number; bytes: number; unavailable: number; other: number; sample?: string }>();
  let violations = 0, duplicates = 0, gaps = 0, lastRecvAll = 0;
  let violationSamples: string[] = [];
  /** before the measurement: stanzas from alice a Blocked watcher got after its block took effect */
  let preViolations = 0;
  const preViolationSamples: string[] = [];

  const noteError = (s: string) => {
    if (errors.length < 50) errors.push(s);
  };

  /** Value of a start-tag attribute (no entity decoding: JIDs here have none). */
  const headAttr = (raw: string, name: string): string | undefined => {
    const end = raw.indexOf(">");
    let i = raw.indexOf(" " + name + "=", 0);
    if (i < 0 || (end >= 0 && i > end)) return undefined;
    i += name.length + 2;
    const q = raw.charCodeAt(i);
    const close = raw.indexOf(q === 34 ? '"' : "'", i + 1);
    return close < 0 ? undefined : raw.slice(i + 1, close);
  };

  const priorityOf = (raw: string): number => {
    const i = raw.indexOf("<priority>");
    if (i < 0) return 0;
    const n = parseInt(raw.slice(i + 10, raw.indexOf("<", i + 10)), 10);
    return Number.isFinite(n) ? n : 0;
  };

  const client = (user: string, i: number) =>
    new XmppClient({
      host: cfg.host,
      port: cfg.port,
      localAddress: cfg.sourceAddrs.length ? cfg.sourceAddrs[i % cfg.sourceAddrs.length] : undefined,
      domain: cfg.domain,
      user,
      password: cfg.password,
      resource: "bench",
      starttls: cfg.starttls,
      timeoutMs: cfg.loginTimeoutMs,
    });

  const answerIq = (c: XmppClient, raw: string): void => {
    const type = headAttr(raw, "type");
    const id = headAttr(raw, "id") ?? "";
    if (type === "result" || type === "error") {
      const w = pendingIq.get(id);
      if (w) {
        pendingIq.delete(id);
        w(raw);
      }
    } else if (type === "get" || type === "set") {
      const from = headAttr(raw, "from");
      c.send(`<iq type='result' id='${id}'${from ? ` to='${from}'` : ""}/>`);
    }
  };

  const watcherHandler = (w: Watcher) => (name: string, raw: string): void => {
    const now = nowUs();
    lastActivityUs = now;
    if (name === "iq") return answerIq(w.c, raw);
    const from = headAttr(raw, "from") ?? "";
    if (!(from === aliceBare || from.startsWith(aliceBare + "/"))) return;
    const lv = perLevel.get(w.level)!;
    const type = name === "presence" ? headAttr(raw, "type") : undefined;
    if (w.blocked && measuring) {
      violations++;
      if (violationSamples.length < 5) violationSamples.push(`${w.user}: ${raw.slice(0, 300)}`);
    } else if (w.blocked && w.blockAskedAt > 0) {
      // After the block: its own unavailable is expected; anything else once the block took
      // effect (after that unavailable, or 250 ms after alice got the block's result — other
      // sockets' earlier data may be read a moment after alice's) is a leak.
      if (type === "unavailable") w.blockUnavailable = true;
      else if (w.blockUnavailable || (w.blockedAt > 0 && now - w.blockedAt > 250000)) {
        preViolations++;
        if (preViolationSamples.length < 5) preViolationSamples.push(`${w.user}: ${raw.slice(0, 300)}`);
      }
    }
    if (name !== "presence") {
      if (measuring) lv.other++;
      return;
    }
    if (type === "unavailable") {
      w.aliceAvail = false;
      if (measuring) lv.unavailable++;
      return;
    }
    if (type) return;
    w.aliceAvail = true;
    if (!measuring) return;
    const d = (((priorityOf(raw) - w.last) % 128) + 128) % 128;
    if (d === 0) {
      duplicates++;
      return;
    }
    const seq = w.last + d;
    if (d > 1) gaps += d - 1;
    w.last = seq;
    if (seq < seqLo || seq > seqHi) return;
    const size = Buffer.byteLength(raw);
    count[seq]++;
    bytes[seq] += size;
    if (now > lastRecv[seq]) lastRecv[seq] = now;
    if (firstRecv[seq] === 0 || now < firstRecv[seq]) firstRecv[seq] = now;
    if (now > lastRecvAll) lastRecvAll = now;
    if (sendAt[seq] > 0) hist.record(now - sendAt[seq]);
    lv.pres++;
    lv.bytes += size;
    if (!lv.sample) lv.sample = raw;
  };

  async function inPool<T>(items: T[], concurrency: number, deadline: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < items.length && Date.now() < deadline) {
        const i = next++;
        await fn(items[i], i);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  }

  function iq(c: XmppClient, type: "get" | "set", body: string, timeoutMs: number): Promise<string> {
    const id = c.newId();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        pendingIq.delete(id);
        reject(new Error("iq timeout"));
      }, timeoutMs);
      pendingIq.set(id, (raw) => {
        clearTimeout(t);
        resolve(raw);
      });
      c.send(`<iq type='${type}' id='${id}'>${body}</iq>`);
    });
  }

  const online = () => [...watchers.values()].filter((w) => w.c.online);

  const ops: Record<string, (a: any) => unknown> = {
    init(a: WInit) {
      cfg = a;
      aliceBare = `${ALICE}@${a.domain}`;
      return { pid: process.pid };
    },

    async connectWatchers(a: { watchers: Array<{ user: string; level: Level }>; concurrency: number; maxMs: number }) {
      let ok = 0, failed = 0;
      await inPool(a.watchers, a.concurrency, Date.now() + a.maxMs, async (x, i) => {
        const c = client(x.user, i);
        const w: Watcher = { user: x.user, level: x.level, blocked: x.level === "blocked", c, last: 0, aliceAvail: null, blockAskedAt: 0, blockedAt: 0, blockUnavailable: false };
        try {
          await c.login();
          c.onStanza = watcherHandler(w);
          c.onEnd = (err) => {
            if (watchers.get(x.user) === w) {
              watchers.delete(x.user);
              dropped++;
              noteError(`${x.user} disconnected: ${err?.message ?? ""}`);
            }
          };
          watchers.set(x.user, w);
          if (!perLevel.has(x.level)) perLevel.set(x.level, { watchers: 0, pres: 0, bytes: 0, unavailable: 0, other: 0 });
          c.flush();
          c.send("<presence/>");
          ok++;
        } catch (e) {
          failed++;
          noteError(`${x.user}: ${(e as Error).message}`);
          c.destroy();
        }
      });
      return { ok, failed, errors: errors.splice(0) };
    },

    async connectAlice(a: { user: string }) {
      const c = client(a.user, 0);
      await c.login();
      c.onStanza = (name, raw) => {
        lastActivityUs = nowUs();
        if (name === "iq") answerIq(c, raw);
      };
      c.onEnd = (err) => {
        if (alice === c) noteError(`alice disconnected: ${err?.message ?? ""}`);
      };
      c.flush();
      alice = c;
      c.send("<presence/>");
      return true;
    },

    async waitAliceSeen(a: { timeoutMs: number }) {
      const deadline = Date.now() + a.timeoutMs;
      for (;;) {
        const missing = online().filter((w) => w.aliceAvail !== true).length;
        if (missing === 0 || Date.now() >= deadline) return { missing };
        await new Promise((r) => setTimeout(r, 50));
      }
    },

    /** Parley: one roster set per contact with its level; 'blocked' blocks it (XEP-0191). */
    async setLevels(a: { items: Array<{ user: string; level: Level }>; window: number; timeoutMs: number }) {
      const c = alice!;
      const errs: string[] = [];
      await inPool(a.items, a.window, Date.now() + a.timeoutMs, async (x) => {
        const body =
          `<query xmlns='jabber:iq:roster'><item jid='${x.user}@${cfg.domain}'>` +
          `<privacy xmlns='urn:parley:presence:0' level='${x.level}'/></item></query>`;
        const w = watchers.get(x.user);
        if (w?.blocked) w.blockAskedAt = nowUs();
        try {
          const r = await iq(c, "set", body, 30000);
          if (w?.blocked) w.blockedAt = nowUs();
          if (headAttr(r, "type") !== "result") errs.push(`${x.user} ${x.level}: ${r.slice(0, 300)}`);
        } catch (e) {
          errs.push(`${x.user} ${x.level}: ${(e as Error).message}`);
        }
      });
      return { set: a.items.length - errs.length, errors: errs };
    },

    /** Reference servers: one XEP-0191 block with every Blocked contact. */
    async block(a: { users: string[]; timeoutMs: number }) {
      const errs: string[] = [];
      if (a.users.length) {
        const items = a.users.map((u) => `<item jid='${u}@${cfg.domain}'/>`).join("");
        const ws = a.users.map((u) => watchers.get(u)).filter((w) => w !== undefined);
        for (const w of ws) w.blockAskedAt = nowUs();
        try {
          const r = await iq(alice!, "set", `<block xmlns='urn:xmpp:blocking'>${items}</block>`, a.timeoutMs);
          for (const w of ws) w.blockedAt = nowUs();
          if (headAttr(r, "type") !== "result") errs.push(r.slice(0, 300));
        } catch (e) {
          errs.push((e as Error).message);
        }
      }
      return { blocked: a.users.length, errors: errs };
    },

    /** Until no stanza reached any client for quietMs (bounded by timeoutMs). */
    async waitQuiet(a: { quietMs: number; timeoutMs: number }) {
      const deadline = Date.now() + a.timeoutMs;
      while (Date.now() < deadline && nowUs() - lastActivityUs < a.quietMs * 1000) await new Promise((r) => setTimeout(r, 50));
      return { quiet: nowUs() - lastActivityUs >= a.quietMs * 1000 };
    },

    preCheck() {
      let blockedShowAliceOnline = 0, blockedSawUnavailable = 0, othersLostAlice = 0;
      for (const w of online()) {
        if (w.blocked) {
          if (w.aliceAvail === true) blockedShowAliceOnline++;
          if (w.blockUnavailable) blockedSawUnavailable++;
        } else if (w.aliceAvail !== true) othersLostAlice++;
      }
      return { preViolations, preViolationSamples, blockedShowAliceOnline, blockedSawUnavailable, othersLostAlice, errors_so_far: errors.slice(0, 5) };
    },

    /** n changes from alice (seq0 …), paced every intervalMs or (0) in one write; then waits for every delivery. */
    async changes(a: { seq0: number; n: number; intervalMs: number; parley: boolean; drainMs: number }) {
      const c = alice!;
      const hi = a.seq0 + a.n - 1;
      sendAt = new Float64Array(hi + 1);
      count = new Int32Array(hi + 1);
      bytes = new Float64Array(hi + 1);
      lastRecv = new Float64Array(hi + 1);
      firstRecv = new Float64Array(hi + 1);
      hist = new Hist();
      for (const [l, v] of perLevel) perLevel.set(l, { watchers: 0, pres: 0, bytes: 0, unavailable: 0, other: 0, sample: v.sample });
      const on = online();
      for (const w of on) perLevel.get(w.level)!.watchers++;
      const expected = on.filter((w) => !w.blocked).length;
      violations = 0;
      duplicates = 0;
      gaps = 0;
      lastRecvAll = 0;
      violationSamples = [];
      const dropped0 = dropped;
      seqLo = a.seq0;
      seqHi = hi;
      measuring = true;
      const first = nowUs();
      if (a.intervalMs <= 0) {
        let all = "";
        for (let s = a.seq0; s <= hi; s++) all += changeStanza(s, a.parley);
        const t = nowUs();
        for (let s = a.seq0; s <= hi; s++) sendAt[s] = t;
        c.send(all);
      } else {
        await new Promise<void>((resolve) => {
          let s = a.seq0;
          const tick = () => {
            // catch up if the timer was late; never more than the schedule says
            while (s <= hi && nowUs() >= first + (s - a.seq0) * a.intervalMs * 1000) {
              sendAt[s] = nowUs();
              c.send(changeStanza(s, a.parley));
              s++;
            }
            if (s > hi) return resolve();
            const wait = (first + (s - a.seq0) * a.intervalMs * 1000 - nowUs()) / 1000;
            setTimeout(tick, Math.max(0, wait));
          };
          tick();
        });
      }
      const lastSend = nowUs();
      const want = expected * a.n;
      const deadline = Date.now() + a.drainMs;
      let got = 0, prev = -1, stallSince = Date.now();
      for (;;) {
        got = 0;
        for (let s = a.seq0; s <= hi; s++) got += count[s];
        if (got >= want || Date.now() >= deadline) break;
        if (got !== prev) {
          prev = got;
          stallSince = Date.now();
        } else if (Date.now() - stallSince > Math.min(20000, a.drainMs)) break; // nothing more is coming
        await new Promise((r) => setTimeout(r, 10));
      }
      // a moment for anything extra (duplicates, leaks to Blocked) still in flight
      await new Promise((r) => setTimeout(r, 200));
      measuring = false;
      const out: PhaseOut = {
        n: a.n,
        seq0: a.seq0,
        expectedPerChange: expected,
        firstSendUs: sendAt[a.seq0],
        lastSendUs: lastSend,
        lastRecvUs: lastRecvAll,
        count: [],
        bytes: [],
        fanoutUs: [],
        firstUs: [],
        hist: hist.toJSON(),
        perLevel: Object.fromEntries(perLevel),
        violations,
        violationSamples,
        duplicates,
        gaps,
        dropped: dropped - dropped0,
        timedOut: got < want,
      };
      for (let s = a.seq0; s <= hi; s++) {
        out.count.push(count[s]);
        out.bytes.push(bytes[s]);
        out.fanoutUs.push(count[s] >= expected && expected > 0 ? lastRecv[s] - sendAt[s] : -1);
        out.firstUs.push(count[s] > 0 ? firstRecv[s] - sendAt[s] : -1);
      }
      return out;
    },

    async closeAll() {
      const all = [...watchers.values()].map((w) => w.c);
      if (alice) all.push(alice);
      for (const c of all) {
        c.onEnd = null;
        c.close();
      }
      watchers.clear();
      alice = null;
      await new Promise((r) => setTimeout(r, 200));
      return { closed: all.length };
    },
  };

  process.on("message", async (m: { id: number; op: string; args: unknown }) => {
    try {
      const f = ops[m.op];
      if (!f) throw new Error("unknown op " + m.op);
      process.send!({ id: m.id, ok: true, result: await f(m.args) });
    } catch (e) {
      process.send!({ id: m.id, ok: false, error: (e as Error).stack ?? String(e) });
    }
  });
  process.on("uncaughtException", (e) => noteError("uncaught: " + e.message));
  process.on("disconnect", () => process.exit(0));
}

if (process.argv[2] === "--fanout-worker" && process.send) workerMain();
