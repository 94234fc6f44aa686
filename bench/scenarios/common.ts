// What every scenario gets from the runner, and what it hands back.
import type { Provision, Target } from "../targets/common.ts";
import { GeneratorPool } from "../lib/pool.ts";
import { cpuDelta, sampleTree, type TreeSample } from "../lib/procstat.ts";
import { Hist, type HistJSON } from "../lib/hist.ts";

export interface Params {
  smoke: boolean;
  login: { n: number; concurrency: number };
  idle: { steps: number[]; concurrency: number; settleMs: number; cpuWindowMs: number };
  messaging: { clients: number; rates: number[]; stepMs: number; p99LimitMs: number; drainMs: number; warmupMs: number };
  presence: { users: number; contacts: number[]; concurrency: number; rates: number[]; stepMs: number; p99LimitMs: number; drainMs: number; onlineTimeoutMs: number };
  workers: number;
  sourceAddrs: string[];
  generatorCpus: string;
  /** nice value for server and generator (negative = ahead of other work on a shared machine) */
  nice: number;
  password: string;
  /** per-process open-file limit (server and each worker) */
  fdLimit: number;
}

export type Metric = number | string | boolean | null;

export interface ScenarioResult {
  /** headline numbers, flat, for the table, the JSON line and the ratios */
  metrics: Record<string, Metric>;
  /** steps, sub-runs, notes */
  details: unknown;
  /** problems that make a smoke run fail (lost messages, failed logins, dropped sessions) */
  failures: string[];
  notes: string[];
}

export interface HeadlineSpec {
  key: string;
  label: string;
  /** which direction is better; undefined = informational (no ratio) */
  better?: "higher" | "lower";
  unit?: string;
}

export interface Scenario {
  name: string;
  title: string;
  headline: HeadlineSpec[];
  /** sub-runs reported as separate tables: metrics keys are prefixed with `prefix` */
  groups?(p: Params): Array<{ prefix: string; label: string }>;
  /** user index base: scenarios use disjoint users so one provisioning can serve several */
  provision(p: Params): Pick<Provision, "users" | "pairs">;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

export class Ctx {
  target: Target;
  params: Params;
  log: (msg: string) => void;
  pools: GeneratorPool[] = [];

  constructor(target: Target, params: Params, log: (msg: string) => void) {
    this.target = target;
    this.params = params;
    this.log = log;
  }

  async pool(workers = this.params.workers): Promise<GeneratorPool> {
    const t = this.target;
    const p = await GeneratorPool.create(
      workers,
      {
        host: t.host,
        port: t.port,
        domain: t.domain,
        password: this.params.password,
        starttls: t.starttls,
        sourceAddrs: this.params.sourceAddrs,
        loginTimeoutMs: this.params.smoke ? 15000 : 60000,
      },
      this.params.generatorCpus,
      this.params.nice,
    );
    this.pools.push(p);
    return p;
  }

  server(): TreeSample {
    return sampleTree(this.target.pid());
  }

  async closePools(): Promise<void> {
    for (const p of this.pools) await p.close();
    this.pools = [];
  }
}

export function mergeHists(hs: HistJSON[]): Hist {
  const h = new Hist();
  for (const x of hs) h.merge(x);
  return h;
}

export function sum<T>(xs: T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

export function round(x: number, digits = 0): number {
  if (!Number.isFinite(x)) return x;
  const m = Math.pow(10, digits);
  return Math.round(x * m) / m;
}

/** Least-squares slope and intercept of y on x. */
export function linreg(xs: number[], ys: number[]): { slope: number; intercept: number } | null {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

export { cpuDelta };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls cond every 100 ms until it holds or timeoutMs passes; returns whether it held. */
export async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/** Generator CPU use over an interval, as the busiest worker's share of one core. */
export function genUtil(a: TreeSample, b: TreeSample, workers: number): number {
  const d = cpuDelta(a, b);
  return workers > 0 ? d.util / workers : d.util;
}
