// 3. One-to-one messaging: C online clients (initial presence sent, no rosters), client i sends
// chat messages to the bare JID of client i+1; the aggregate rate steps up until p99 latency
// passes the limit or a message is lost. The body carries the send time and a sequence number.
import { Ctx, round, sleep, type Params, type Scenario, type ScenarioResult } from "./common.ts";
import { runSteps } from "./steps.ts";

export const MSG_BASE = 300000;

export const messaging: Scenario = {
  name: "messaging",
  title: "1:1 messaging",
  headline: [
    { key: "max_delivered_per_s", label: "max msg/s", better: "higher" },
    { key: "p50_ms", label: "p50 ms", better: "lower" },
    { key: "p99_ms", label: "p99 ms", better: "lower" },
    { key: "p999_ms", label: "p999 ms", better: "lower" },
    { key: "cpu_us_per_msg", label: "srv µs/msg", better: "lower" },
    { key: "cpu_slope_us", label: "slope µs/msg", better: "lower" },
    { key: "others_cpu", label: "others' CPU" },
    { key: "stopped_by", label: "stopped by" },
  ],

  provision(p: Params) {
    return { users: Array.from({ length: p.messaging.clients }, (_, i) => "u" + (MSG_BASE + i)), pairs: [] };
  },

  async run(ctx: Ctx): Promise<ScenarioResult> {
    const m = ctx.params.messaging;
    const pool = await ctx.pool();
    const idx = Array.from({ length: m.clients }, (_, i) => MSG_BASE + i);
    const parts = pool.split(idx);
    const conn = await pool.all<any>("connect", (w) => ({
      indices: parts[w],
      concurrency: Math.max(1, Math.round(100 / pool.workers.length)),
      presence: true,
      rosterGet: false,
      track: false,
      maxMs: 300000,
    }));
    const failures: string[] = [];
    const notConnected = conn.reduce((a, r) => a + r.failed + r.notAttempted, 0);
    if (notConnected) {
      failures.push(`${notConnected} clients could not log in: ${conn.flatMap((r) => r.errors).slice(0, 3).join("; ")}`);
      await ctx.closePools();
      return { metrics: { max_delivered_per_s: null }, details: {}, failures, notes: [] };
    }
    await sleep(ctx.params.smoke ? 300 : 1000);
    const r = await runSteps(ctx, pool, {
      kind: "message",
      rates: m.rates,
      fanout: 1,
      stepMs: m.stepMs,
      drainMs: m.drainMs,
      p99LimitMs: m.p99LimitMs,
      warmupMs: m.warmupMs,
      base: MSG_BASE,
      n: m.clients,
    });
    await ctx.closePools();
    const notes: string[] = [];
    const lostTotal = r.steps.reduce((a, s) => a + s.lost, 0);
    if (ctx.params.smoke) {
      // in smoke mode every step must pass: tiny rates, nothing may be lost or late
      for (const s of r.steps) if (!s.ok) failures.push(`messaging ${s.offered_per_s}/s: ${s.why}`);
    } else if (lostTotal && r.best === null) failures.push(`messages lost at the first step: ${r.stop}`);
    const genBound = r.steps.some((s) => s.why?.includes("generator"));
    if (r.best && r.stop === "all steps passed") {
      notes.push(`every step up to ${r.best.offered_per_s} msg/s passed: max msg/s is a lower bound (add higher --msg-rates)`);
    }
    const busy = r.steps.filter((s) => s.other_cpu > 0.3);
    if (busy.length) notes.push(`other processes used up to ${Math.max(...busy.map((s) => s.other_cpu))} cores during ${busy.length} of ${r.steps.length} steps: latency limits may have been hit early`);
    if (genBound) notes.push("the generator could not offer the next rate, or was near saturation: max msg/s may be a lower bound");
    const b = r.best;
    return {
      metrics: {
        max_delivered_per_s: b ? b.delivered_per_s : 0,
        p50_ms: b?.p50_ms ?? null,
        p99_ms: b?.p99_ms ?? null,
        p999_ms: b?.p999_ms ?? null,
        cpu_us_per_msg: b?.server_cpu_us_per_delivery ?? null,
        cpu_slope_us: r.slope_us,
        stopped_by: r.stop,
        lost: lostTotal,
        others_cpu: r.steps.length ? Math.max(...r.steps.map((s) => s.other_cpu)) : null,
      },
      details: { clients: m.clients, steps: r.steps, intercept_cores: r.intercept_util },
      failures,
      notes,
    };
  },
};
