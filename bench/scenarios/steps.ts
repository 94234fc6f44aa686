// Open-loop rate steps shared by the messaging and presence scenarios: offer a fixed aggregate
// rate for a while, wait for every expected delivery (or a drain timeout), measure latency
// (send timestamp embedded in the stanza), loss, server CPU and generator CPU; step up until
// p99 passes the limit or something is lost.
import type { GeneratorPool } from "../lib/pool.ts";
import { Ctx, cpuDelta, genUtil, linreg, mergeHists, round, sum, waitUntil } from "./common.ts";
import { machineBusy } from "../lib/procstat.ts";

export interface StepSpec {
  kind: "message" | "status";
  /** deliveries per second to offer, one entry per step */
  rates: number[];
  /** deliveries caused by one sent stanza (1 for messages, the contact count for presence) */
  fanout: number;
  stepMs: number;
  drainMs: number;
  p99LimitMs: number;
  warmupMs: number;
  base: number;
  n: number;
}

export interface StepRow {
  offered_per_s: number;
  sent: number;
  skipped: number;
  expected: number;
  delivered: number;
  delivered_per_s: number;
  lost: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  server_cpu_util: number;
  /** server CPU over the sending window only (the drain diluted the one above) */
  server_cpu_util_send: number;
  server_cpu_us_per_delivery: number | null;
  gen_cpu: number;
  /** CPU (in cores) used by everything else on the machine during the step: noise */
  other_cpu: number;
  wall_s: number;
  /** true when this is the second try of a step whose first try failed on latency alone */
  retried?: boolean;
  ok: boolean;
  why?: string;
}

export interface StepsResult {
  steps: StepRow[];
  best: StepRow | null;
  stop: string;
  slope_us: number | null;
  intercept_util: number | null;
}

async function oneStep(ctx: Ctx, pool: GeneratorPool, spec: StepSpec, rate: number, seq0: number, record: boolean): Promise<StepRow> {
  const W = pool.workers.length;
  const sendRate = rate / spec.fanout;
  await pool.all("reset", () => null);
  const s0 = ctx.server(), g0 = pool.sample(), m0 = machineBusy();
  const t0 = performance.now();
  const res = await pool.all<any>("send", (w) => ({
    kind: spec.kind,
    rate: sendRate / W,
    durationMs: spec.stepMs,
    base: spec.base,
    n: spec.n,
    seq0: seq0 + w * 1e8,
  }));
  const sendS = (performance.now() - t0) / 1000;
  const g1 = pool.sample(), sSend = ctx.server();
  const sent = sum(res, (r) => r.sent);
  const skipped = sum(res, (r) => r.skipped);
  const expected = sent * spec.fanout;
  const key = spec.kind === "message" ? "msgRecv" : "presRecv";
  let counters: any[] = [];
  await waitUntil(async () => {
    counters = await pool.all<any>("counters", () => ({}));
    return sum(counters, (c) => c[key]) >= expected;
  }, spec.drainMs);
  const s1 = ctx.server(), g2 = pool.sample(), m1 = machineBusy();
  const wall = (performance.now() - t0) / 1000;
  const delivered = sum(counters, (c) => c[key]);
  const h = mergeHists(counters.map((c) => (spec.kind === "message" ? c.msgHist : c.presHist))).summaryMs();
  const cpu = cpuDelta(s0, s1);
  const gu = genUtil(g0, g1, W);
  const row: StepRow = {
    offered_per_s: rate,
    sent,
    skipped,
    expected,
    delivered,
    delivered_per_s: round(delivered / sendS),
    lost: Math.max(0, expected - delivered),
    p50_ms: h.p50,
    p99_ms: h.p99,
    p999_ms: h.p999,
    max_ms: h.max,
    server_cpu_util: round(cpu.cpu / wall, 4),
    server_cpu_util_send: round((sSend.cpu - s0.cpu) / sendS, 3),
    server_cpu_us_per_delivery: delivered ? round((cpu.cpu / delivered) * 1e6, 1) : null,
    gen_cpu: round(gu, 2),
    other_cpu: round(Math.max(0, (m1 - m0 - cpu.cpu - (g2.cpu - g0.cpu)) / wall), 2),
    wall_s: round(wall, 3),
    ok: true,
  };
  const why: string[] = [];
  if (row.lost > 0) why.push(`${row.lost} lost`);
  if (!(h.p99 <= spec.p99LimitMs)) why.push(`p99 ${h.p99} ms > ${spec.p99LimitMs} ms`);
  if (skipped > 0) why.push(`${skipped} not sent (server not reading: socket buffers full)`);
  const misrouted = sum(counters, (c) => c.misrouted);
  if (misrouted > 0) why.push(`${misrouted} delivered to the wrong client`);
  const dropped = sum(counters, (c) => c.dropped);
  if (dropped > 0) why.push(`${dropped} sessions dropped`);
  if (why.length && gu >= 0.8) why.push(`generator at ${round(gu * 100)} % of its core: may be generator-bound`);
  if (why.length) {
    row.ok = false;
    row.why = why.join(", ");
  }
  if (record) {
    ctx.log(
      `  ${spec.kind} ${rate}/s: delivered ${row.delivered_per_s}/s, p50 ${row.p50_ms} p99 ${row.p99_ms} p999 ${row.p999_ms} ms, lost ${row.lost}, ` +
        `server CPU ${round(row.server_cpu_util_send * 100)} % (${row.server_cpu_us_per_delivery} µs/delivery), gen ${round(gu * 100)} %, other ${round(row.other_cpu * 100)} %` +
        `${row.ok ? "" : " — " + row.why}`,
    );
  }
  // the (W * sendRate) achieved? a generator that could not keep up is not the server's fault
  if (row.ok && sent + skipped < 0.95 * (sendRate * spec.stepMs) / 1000) {
    row.ok = false;
    row.why = `generator offered only ${round((sent / sendS) * spec.fanout)}/s of ${rate}/s (generator-bound)`;
  }
  return row;
}

export async function runSteps(ctx: Ctx, pool: GeneratorPool, spec: StepSpec): Promise<StepsResult> {
  const steps: StepRow[] = [];
  let seq = 1;
  if (spec.warmupMs > 0 && spec.rates.length) {
    await oneStep(ctx, pool, { ...spec, stepMs: spec.warmupMs }, spec.rates[0], seq, false);
    seq += 1e9;
  }
  let stop = "all steps passed";
  for (const rate of spec.rates) {
    let row = await oneStep(ctx, pool, spec, rate, seq, true);
    seq += 1e9;
    // A step that failed on latency alone, with nothing lost and the server not saturated, is
    // tried once more: on a shared machine a neighbour's burst can stall one step.
    if (!row.ok && row.lost === 0 && row.skipped === 0 && !row.why?.includes("generator") && row.server_cpu_util_send < 0.8) {
      ctx.log(`  retrying ${rate}/s once (latency only, server CPU ${round(row.server_cpu_util_send * 100)} % while sending)`);
      steps.push(row);
      row = await oneStep(ctx, pool, spec, rate, seq, true);
      row.retried = true;
      seq += 1e9;
    }
    steps.push(row);
    if (!row.ok) {
      stop = `${rate}/s: ${row.why}`;
      break;
    }
  }
  const ok = steps.filter((s) => s.ok);
  const best = ok.length ? ok.reduce((a, b) => (b.delivered_per_s > a.delivered_per_s ? b : a)) : null;
  // CPU slope below saturation: server CPU (cores) against delivered rate over the passing steps
  // (both per second of the same wall time: sending window plus drain)
  const lr = linreg(
    ok.map((s) => s.delivered / s.wall_s),
    ok.map((s) => s.server_cpu_util),
  );
  return {
    steps,
    best,
    stop,
    slope_us: lr ? round(lr.slope * 1e6, 1) : null,
    intercept_util: lr ? round(lr.intercept, 3) : null,
  };
}
