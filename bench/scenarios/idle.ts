// 2. Idle connections: bring the number of authenticated, available (initial presence sent)
// clients up in steps and read the server's resident memory (VmRSS of its whole process tree)
// after each; also its CPU while they sit idle.
import { Ctx, cpuDelta, mergeHists, round, sleep, sum, type Params, type Scenario, type ScenarioResult } from "./common.ts";

export const IDLE_BASE = 200000;

/** Steps capped by the per-process open-file limit (the server needs one fd per client). */
export function idleSteps(p: Params): { steps: number[]; capped: boolean } {
  const cap = Math.max(100, p.fdLimit - 300);
  const steps = p.idle.steps.map((s) => Math.min(s, cap));
  return { steps: [...new Set(steps)], capped: steps.some((s, i) => s !== p.idle.steps[i]) };
}

export const idle: Scenario = {
  name: "idle",
  title: "Idle connections",
  headline: [
    { key: "connections", label: "conns" },
    { key: "kib_per_conn", label: "KiB/conn (top step)", better: "lower" },
    { key: "rss_mib", label: "RSS MiB (top step)", better: "lower" },
    { key: "baseline_mib", label: "RSS MiB (empty)" },
    { key: "idle_cpu_pct", label: "idle CPU %", better: "lower" },
    { key: "connect_p99_ms", label: "login p99 ms" },
    { key: "failed", label: "failed" },
  ],

  provision(p: Params) {
    const top = Math.max(...idleSteps(p).steps);
    return { users: Array.from({ length: top }, (_, i) => "u" + (IDLE_BASE + i)), pairs: [] };
  },

  async run(ctx: Ctx): Promise<ScenarioResult> {
    const p = ctx.params;
    const { steps, capped } = idleSteps(p);
    const top = Math.max(...steps);
    const perWorker = Math.max(100, p.fdLimit - 500);
    const pool = await ctx.pool(Math.max(p.workers, Math.ceil(top / perWorker)));
    const W = pool.workers.length;
    await sleep(p.idle.settleMs);
    const base = ctx.server();
    const rows: any[] = [];
    const failures: string[] = [];
    const notes: string[] = [];
    if (capped) notes.push(`steps capped at ${top} connections by the open-file limit (${p.fdLimit} per process; this sandbox cannot raise it)`);
    let have = 0;
    let totalFailed = 0;
    const hists: any[] = [];
    for (const n of steps) {
      const idx = Array.from({ length: n - have }, (_, i) => IDLE_BASE + have + i);
      const parts = pool.split(idx);
      const t0 = performance.now();
      const res = await pool.all<any>("connect", (w) => ({
        indices: parts[w],
        concurrency: Math.max(1, Math.round(p.idle.concurrency / W)),
        presence: true,
        rosterGet: false,
        track: false,
        maxMs: p.smoke ? 60000 : 900000,
      }));
      const connectS = (performance.now() - t0) / 1000;
      hists.push(...res.map((r) => r.hist));
      const failed = sum(res, (r) => r.failed + r.notAttempted);
      totalFailed += failed;
      if (failed) failures.push(`${failed} of ${n - have} connections failed at step ${n}: ${res.flatMap((r) => r.errors).slice(0, 3).join("; ")}`);
      have = n;
      await sleep(p.idle.settleMs);
      const a = ctx.server();
      await sleep(p.idle.cpuWindowMs);
      const b = ctx.server();
      const counters = await pool.all<any>("counters", () => ({}));
      const online = sum(counters, (c) => c.online);
      const dropped = sum(counters, (c) => c.dropped);
      if (dropped) failures.push(`${dropped} idle sessions were closed by the server by step ${n}`);
      const rss = b.rss;
      rows.push({
        target: n,
        online,
        connect_s: round(connectS, 2),
        logins_per_s: round((n - (rows.at(-1)?.target ?? 0)) / connectS),
        rss_mib: round(rss / 2 ** 20, 1),
        kib_per_conn: online ? round((rss - base.rss) / 1024 / online, 1) : null,
        idle_cpu_pct: round(cpuDelta(a, b).util * 100, 2),
      });
      ctx.log(`  idle ${n}: online ${online}, RSS ${rows.at(-1).rss_mib} MiB, ${rows.at(-1).kib_per_conn} KiB/conn`);
    }
    await ctx.closePools();
    const last = rows.at(-1);
    const h = mergeHists(hists).summaryMs();
    return {
      metrics: {
        connections: last.online,
        kib_per_conn: last.kib_per_conn,
        rss_mib: last.rss_mib,
        baseline_mib: round(base.rss / 2 ** 20, 1),
        idle_cpu_pct: last.idle_cpu_pct,
        connect_p99_ms: h.p99,
        failed: totalFailed,
      },
      details: { steps: rows, workers: W, baseline_rss_mib: round(base.rss / 2 ** 20, 1) },
      failures,
      notes,
    };
  },
};
