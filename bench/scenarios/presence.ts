// 4. Presence fan-out: U users, each with K mutual ("both") contacts among them (a ring: user i
// knows i±1 … i±K/2). Phase 1: all log in (C at a time) and send initial presence; every user
// must end up seeing all K contacts online (the server broadcasts to online contacts and answers
// probes for those already online). Phase 2: status changes (show + stamped status) at stepped
// rates, each fanned out to K contacts.
import { Ctx, cpuDelta, genUtil, mergeHists, round, sleep, sum, waitUntil, type Params, type Scenario, type ScenarioResult } from "./common.ts";
import { runSteps } from "./steps.ts";

export const PRES_BASE = 400000;

function groupBase(k: number, i: number): number {
  return PRES_BASE + i * 10000;
}

export function ringPairs(users: string[], k: number): Array<[string, string]> {
  const n = users.length;
  const half = Math.floor(k / 2);
  if (half * 2 >= n) throw new Error(`presence: ${k} contacts need more than ${n} users`);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) for (let d = 1; d <= half; d++) out.push([users[i], users[(i + d) % n]]);
  return out;
}

export const presence: Scenario = {
  name: "presence",
  title: "Presence fan-out",
  headline: [
    { key: "contacts", label: "K" },
    { key: "online_complete_s", label: "all online s", better: "lower" },
    { key: "online_pres_per_s", label: "login pres/s", better: "higher" },
    { key: "online_p99_ms", label: "login p99 ms", better: "lower" },
    { key: "max_status_pres_per_s", label: "status pres/s", better: "higher" },
    { key: "status_p99_ms", label: "status p99 ms", better: "lower" },
    { key: "cpu_us_per_pres", label: "srv µs/pres", better: "lower" },
    { key: "others_cpu", label: "others' CPU" },
    { key: "stopped_by", label: "stopped by" },
  ],

  groups(p: Params) {
    return p.presence.contacts.map((k) => ({ prefix: `k${k}_`, label: `${k} contacts each, ${p.presence.users} users` }));
  },

  provision(p: Params) {
    const users: string[] = [];
    const pairs: Array<[string, string]> = [];
    p.presence.contacts.forEach((k, i) => {
      const us = Array.from({ length: p.presence.users }, (_, j) => "u" + (groupBase(k, i) + j));
      users.push(...us);
      pairs.push(...ringPairs(us, k));
    });
    return { users, pairs };
  },

  async run(ctx: Ctx): Promise<ScenarioResult> {
    const P = ctx.params.presence;
    const failures: string[] = [];
    const notes: string[] = [];
    const groups: any[] = [];
    for (const [gi, k] of P.contacts.entries()) {
      const base = groupBase(k, gi);
      const pool = await ctx.pool();
      const W = pool.workers.length;
      const parts = pool.split(Array.from({ length: P.users }, (_, j) => base + j));
      await pool.all("reset", () => null);
      const s0 = ctx.server(), g0 = pool.sample();
      const t0 = performance.now();
      const conn = await pool.all<any>("connect", (w) => ({
        indices: parts[w],
        concurrency: Math.max(1, Math.round(P.concurrency / W)),
        presence: true,
        rosterGet: false,
        track: true,
        maxMs: 300000,
      }));
      const loggedIn = (performance.now() - t0) / 1000;
      const notConnected = sum(conn, (r) => r.failed + r.notAttempted);
      if (notConnected) failures.push(`K=${k}: ${notConnected} users could not log in: ${conn.flatMap((r) => r.errors).slice(0, 3).join("; ")}`);
      let counters: any[] = [];
      const complete = await waitUntil(async () => {
        counters = await pool.all<any>("counters", () => ({ track: k }));
        return sum(counters, (c) => c.complete) >= P.users - notConnected;
      }, P.onlineTimeoutMs);
      const wall = (performance.now() - t0) / 1000;
      const s1 = ctx.server(), g1 = pool.sample();
      const missing = sum(counters, (c) => c.missing);
      if (!complete) failures.push(`K=${k}: after ${round(wall, 1)} s, ${missing} contact presences never arrived`);
      const delivered = sum(counters, (c) => c.presRecv);
      const h = mergeHists(counters.map((c) => c.presHist)).summaryMs();
      const cpu = cpuDelta(s0, s1);
      const online = {
        users: P.users,
        login_s: round(loggedIn, 2),
        complete_s: round(wall, 2),
        delivered,
        broadcast_latency_samples: h.n,
        probe_answers: sum(counters, (c) => c.presOld),
        pres_per_s: round(delivered / wall),
        p50_ms: h.p50,
        p99_ms: h.p99,
        server_cpu_us_per_pres: delivered ? round((cpu.cpu / delivered) * 1e6, 1) : null,
        gen_cpu: round(genUtil(g0, g1, W), 2),
      };
      ctx.log(`  presence K=${k} online: ${delivered} presences in ${online.complete_s} s = ${online.pres_per_s}/s, broadcast p99 ${h.p99} ms`);
      await sleep(ctx.params.smoke ? 300 : 1000);
      const r = await runSteps(ctx, pool, {
        kind: "status",
        rates: P.rates,
        fanout: k,
        stepMs: P.stepMs,
        drainMs: P.drainMs,
        p99LimitMs: P.p99LimitMs,
        warmupMs: 0,
        base,
        n: P.users,
      });
      if (ctx.params.smoke) for (const s of r.steps) if (!s.ok) failures.push(`presence K=${k} ${s.offered_per_s}/s: ${s.why}`);
      if (r.stop === "all steps passed" && r.best) notes.push(`K=${k}: every step up to ${r.best.offered_per_s}/s passed: status pres/s is a lower bound (add higher --presence-rates)`);
      if (r.steps.some((s) => s.why?.includes("generator"))) notes.push(`K=${k}: generator-bound at the last step; status pres/s is a lower bound`);
      await ctx.closePools();
      await sleep(ctx.params.smoke ? 200 : 2000); // let the server finish the unavailable broadcasts
      groups.push({ k, online, status: r });
    }
    const metricsFor = (g: any) => ({
      contacts: g.k,
      online_complete_s: g.online.complete_s,
      online_pres_per_s: g.online.pres_per_s,
      online_p99_ms: g.online.p99_ms,
      max_status_pres_per_s: g.status.best?.delivered_per_s ?? 0,
      status_p99_ms: g.status.best?.p99_ms ?? null,
      cpu_us_per_pres: g.status.best?.server_cpu_us_per_delivery ?? null,
      cpu_slope_us: g.status.slope_us,
      stopped_by: g.status.stop,
      others_cpu: g.status.steps.length ? Math.max(...g.status.steps.map((s: any) => s.other_cpu)) : null,
    });
    // headline: the largest roster size; every group is in `groups`
    const metrics: Record<string, any> = metricsFor(groups.at(-1));
    for (const g of groups) for (const [key, v] of Object.entries(metricsFor(g))) metrics[`k${g.k}_${key}`] = v;
    return { metrics, details: { groups }, failures, notes };
  },
};
