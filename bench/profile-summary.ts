// Summarises a V8 .cpuprofile (node --cpu-prof, e.g. a Parley server started by the bench with
// BENCH_PARLEY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"): self time by function and by file,
// with (garbage collector), (program) and (idle) shown separately. Optional time window so the
// start-up and log-in phases can be left out.
//
//   npx node bench/profile-summary.ts FILE.cpuprofile [--top=40] [--from=S] [--to=S] [--stalls=MS] [--incl=REGEX]
//
// --incl=REGEX adds inclusive (self + callees) time for every function whose label matches.
// --stalls=MS lists stretches where the samples show the loop busy (not idle) for longer than MS
// without a break, with the functions that took the time: the event-loop stalls behind latency
// outliers.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string" }, from: { type: "string" }, to: { type: "string" }, stalls: { type: "string" }, incl: { type: "string" } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write("usage: profile-summary.ts FILE.cpuprofile [--top=40] [--from=S] [--to=S] [--stalls=MS]\n");
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
const top = Number(v.top ?? 40);
const fromUs = v.from ? Number(v.from) * 1e6 : 0;
const toUs = v.to ? Number(v.to) * 1e6 : Infinity;

const byId = new Map<number, ProfileNode>();
for (const n of prof.nodes) byId.set(n.id, n);
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclRe = v.incl ? new RegExp(v.incl) : undefined;
const inclFn = new Map<string, number>();

const shortUrl = (u: string): string => {
  if (!u) return "(native)";
  const i = u.indexOf("/src/");
  if (i >= 0) return u.slice(i + 1);
  const j = u.indexOf("node_modules/");
  if (j >= 0) return u.slice(j);
  return u.startsWith("node:") ? u : path.basename(u);
};
const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const name = f.functionName || "(anonymous)";
  return f.url ? `${name} ${shortUrl(f.url)}:${f.lineNumber + 1}` : name;
};

const selfFn = new Map<string, number>();
const selfFile = new Map<string, number>();
let total = 0;
let idle = 0;
let t = prof.startTime;
// stall detection: consecutive non-idle samples
const stallMs = v.stalls ? Number(v.stalls) : 0;
const stalls: Array<{ at: number; ms: number; fns: Map<string, number> }> = [];
let runStart = -1;
let runFns = new Map<string, number>();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  t += dt;
  const rel = t - prof.startTime;
  if (rel < fromUs || rel > toUs) continue;
  const node = byId.get(prof.samples[i])!;
  const name = node.callFrame.functionName;
  total += dt;
  if (name === "(idle)") {
    idle += dt;
    if (stallMs && runStart >= 0 && (rel - runStart) / 1000 >= stallMs) stalls.push({ at: runStart / 1e6, ms: (rel - runStart) / 1000, fns: runFns });
    runStart = -1;
    runFns = new Map();
    continue;
  }
  if (stallMs) {
    if (runStart < 0) runStart = rel;
    runFns.set(label(node), (runFns.get(label(node)) ?? 0) + dt);
  }
  const l = label(node);
  selfFn.set(l, (selfFn.get(l) ?? 0) + dt);
  if (inclRe) {
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const x = label(byId.get(id)!);
      if (!seen.has(x) && inclRe.test(x)) {
        seen.add(x);
        inclFn.set(x, (inclFn.get(x) ?? 0) + dt);
      }
    }
  }
  const fl = name.startsWith("(") ? name : shortUrl(node.callFrame.url);
  selfFile.set(fl, (selfFile.get(fl) ?? 0) + dt);
}

const busy = total - idle;
const pct = (x: number) => ((100 * x) / busy).toFixed(1).padStart(5) + " %";
const ms = (x: number) => (x / 1000).toFixed(0).padStart(7) + " ms";
process.stdout.write(`window ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(1)} %), idle ${(idle / 1e6).toFixed(2)} s\n`);
process.stdout.write("\nself time by file (% of busy):\n");
for (const [k, x] of [...selfFile].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(x)} ${ms(x)}  ${k}\n`);
process.stdout.write("\nself time by function (% of busy):\n");
for (const [k, x] of [...selfFn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(x)} ${ms(x)}  ${k}\n`);
if (inclRe) {
  process.stdout.write("\ninclusive time (% of busy):\n");
  for (const [k, x] of [...inclFn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(x)} ${ms(x)}  ${k}\n`);
}
if (stallMs) {
  process.stdout.write(`\nbusy stretches ≥ ${stallMs} ms (${stalls.length}):\n`);
  for (const s of stalls.sort((a, b) => b.ms - a.ms).slice(0, 20)) {
    const fns = [...s.fns].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, x]) => `${k} ${(x / 1000).toFixed(1)}ms`).join("; ");
    process.stdout.write(`  at ${s.at.toFixed(2)} s: ${s.ms.toFixed(1)} ms — ${fns}\n`);
  }
}
