// 1. Login storm: N complete logins (TCP, stream, [STARTTLS,] SCRAM-SHA-1, bind, session), at
// most C at a time; each client closes its stream right after binding.
import { Ctx, cpuDelta, genUtil, mergeHists, round, sum, type Params, type Scenario, type ScenarioResult } from "./common.ts";

export const LOGIN_BASE = 100000;

export const login: Scenario = {
  name: "login",
  title: "Login storm",
  headline: [
    { key: "logins_per_s", label: "logins/s", better: "higher" },
    { key: "p50_ms", label: "p50 ms", better: "lower" },
    { key: "p99_ms", label: "p99 ms", better: "lower" },
    { key: "server_cpu_ms_per_login", label: "srv CPU ms/login", better: "lower" },
    { key: "failed", label: "failed" },
    { key: "gen_cpu", label: "gen CPU" },
  ],

  provision(p: Params) {
    return { users: Array.from({ length: p.login.n }, (_, i) => "u" + (LOGIN_BASE + i)), pairs: [] };
  },

  async run(ctx: Ctx): Promise<ScenarioResult> {
    const { n, concurrency } = ctx.params.login;
    const pool = await ctx.pool();
    const W = pool.workers.length;
    const indices = Array.from({ length: n }, (_, i) => LOGIN_BASE + i);
    const parts = pool.split(indices);
    const tp = performance.now();
    const primed = await pool.all<any>("prime", (w) => ({ indices: parts[w], concurrency: Math.max(1, Math.round(concurrency / W)), maxMs: 600000 }));
    const primeS = (performance.now() - tp) / 1000;
    const pbkdf2 = sum(primed, (r) => r.scram.pbkdf2);
    ctx.log(`  primed ${sum(primed, (r) => r.ok)} accounts in ${round(primeS, 1)} s (${pbkdf2} distinct salted passwords)`);
    const s0 = ctx.server(), g0 = pool.sample();
    const t0 = performance.now();
    const res = await pool.all<any>("loginStorm", (w) => ({
      indices: parts[w],
      concurrency: Math.max(1, Math.round(concurrency / W)),
      maxMs: ctx.params.smoke ? 60000 : 600000,
    }));
    const wall = (performance.now() - t0) / 1000;
    const s1 = ctx.server(), g1 = pool.sample();
    const usage = await pool.all<any>("usage", () => null);
    await ctx.closePools();
    const ok = sum(res, (r) => r.ok);
    const failed = sum(res, (r) => r.failed + r.notAttempted);
    const h = mergeHists(res.map((r) => r.hist)).summaryMs();
    const cpu = cpuDelta(s0, s1);
    const failures: string[] = [];
    const errors = res.flatMap((r) => r.errors).slice(0, 5);
    if (failed) failures.push(`${failed} of ${n} logins failed: ${errors.join("; ")}`);
    const gu = genUtil(g0, g1, W);
    const notes: string[] = [];
    if (gu > 0.9) notes.push(`generator busy (${round(gu * 100)} % of a core per worker): logins/s may be generator-bound`);
    return {
      metrics: {
        logins: ok,
        failed,
        logins_per_s: round(ok / wall),
        p50_ms: h.p50,
        p99_ms: h.p99,
        max_ms: h.max,
        server_cpu_ms_per_login: ok ? round((cpu.cpu / ok) * 1000, 3) : null,
        server_cpu_util: round(cpu.util, 2),
        gen_cpu: round(gu, 2),
      },
      details: { prime_s: round(primeS, 2), distinct_salts: pbkdf2, wall_s: round(wall, 2), concurrency, workers: W, scram: usage.map((u) => u.scram), errors },
      failures,
      notes,
    };
  },
};
