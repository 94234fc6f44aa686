// CPU time and resident memory of a process tree, read from /proc (Linux only).
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

function readStat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // f[0] = state (field 3); utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14]
    return { ppid: +f[1], ticks: +f[11] + +f[12] + +f[13] + +f[14] };
  } catch {
    return null;
  }
}

/** pid and all its descendants that are alive now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const pid = +name;
    if (!pid) continue;
    const st = readStat(pid);
    if (!st) continue;
    let l = children.get(st.ppid);
    if (!l) children.set(st.ppid, (l = []));
    l.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

export interface TreeSample {
  /** user+system CPU seconds of the tree, including reaped children */
  cpu: number;
  /** summed VmRSS, bytes */
  rss: number;
  /** monotonic wall clock, seconds */
  t: number;
  pids: number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? +m[1] * 1024 : 0;
  } catch {
    return 0;
  }
}

export function sampleTree(roots: number | number[]): TreeSample {
  const pids = new Set<number>();
  for (const r of Array.isArray(roots) ? roots : [roots]) for (const p of processTree(r)) pids.add(p);
  let ticks = 0;
  let rss = 0;
  for (const p of pids) {
    const st = readStat(p);
    if (!st) continue;
    ticks += st.ticks;
    rss += rssOf(p);
  }
  return { cpu: ticks / CLK_TCK, rss, t: performance.now() / 1000, pids: pids.size };
}

export function cpuDelta(a: TreeSample, b: TreeSample): { cpu: number; wall: number; util: number } {
  const cpu = b.cpu - a.cpu;
  const wall = b.t - a.t;
  return { cpu, wall, util: wall > 0 ? cpu / wall : 0 };
}

export function fdLimit(): { soft: number; hard: number } {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m) return { soft: m[1] === "unlimited" ? 1e9 : +m[1], hard: m[2] === "unlimited" ? 1e9 : +m[2] };
  } catch {}
  return { soft: 1024, hard: 1024 };
}

export function loadAvg(): number[] {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds the whole machine has spent busy (all CPUs; from the first line of /proc/stat). */
export function machineBusy(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    return busy / CLK_TCK;
  } catch {
    return 0;
  }
}
