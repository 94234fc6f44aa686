// Event-loop stall monitor, preloaded into a server process for profiling:
//   BENCH_PARLEY_NODE_ARGS="--import=./bench/loop-monitor.ts" BENCH_LOOP_OUT=/tmp/loop.jsonl npm run bench -- …
// (the path is resolved from the server's cwd, so give an absolute one).
//
// Every 5 ms a timer checks how late it fired and how much CPU this thread used meanwhile. A
// late timer with little CPU used means the process was not scheduled (another process had
// the core: not Parley's fault); a late timer with the CPU busy means something in Parley
// blocked the loop. Every second one JSON line goes to BENCH_LOOP_OUT: event-loop delay
// percentiles, loop utilisation, GC pauses, the worst late ticks split into those two kinds,
// heap used and RSS.
import { monitorEventLoopDelay, performance, PerformanceObserver } from "node:perf_hooks";
import { appendFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";

const out = process.env.BENCH_LOOP_OUT;
if (out) {
  const TICK_MS = 5;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let gcMs = 0;
  let gcMax = 0;
  let gcCount = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcCount++;
      if (e.duration > gcMax) gcMax = e.duration;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  let lastWall = performance.now();
  let lastCpu = process.threadCpuUsage();
  let elu = performance.eventLoopUtilization();
  // late ticks this second: [lateMs, cpuMsDuringInterval]
  let late: Array<[number, number]> = [];
  const t = setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    const wall = now - lastWall;
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    const lateMs = wall - TICK_MS;
    if (lateMs > 10) late.push([Math.round(lateMs), Math.round(cpuMs)]);
    lastWall = now;
    lastCpu = cpu;
  }, TICK_MS);
  t.unref();
  const start = Date.now();
  const r = setInterval(() => {
    const e = performance.eventLoopUtilization(elu);
    elu = performance.eventLoopUtilization();
    late.sort((a, b) => b[0] - a[0]);
    // "blocked": the thread was on the CPU for most of the late interval.
    const blocked = late.filter(([l, c]) => c >= 0.5 * (l + TICK_MS));
    const line = {
      t: Math.round((Date.now() - start) / 1000),
      elu: Math.round(e.utilization * 100) / 100,
      delay_p50: Math.round(h.percentile(50) / 1e4) / 100,
      delay_p99: Math.round(h.percentile(99) / 1e4) / 100,
      delay_max: Math.round(h.max / 1e4) / 100,
      gc_ms: Math.round(gcMs),
      gc_max: Math.round(gcMax * 10) / 10,
      gc_n: gcCount,
      late: late.length,
      late_blocked: blocked.length,
      worst: late.slice(0, 5),
      worst_blocked: blocked.slice(0, 5),
      heap_mib: Math.round(process.memoryUsage().heapUsed / 1048576),
      rss_mib: Math.round(process.memoryUsage.rss() / 1048576),
      // committed MiB per V8 heap space (new_space is the young generation)
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name.replace(/_space$/, ""), Math.round(sp.physical_space_size / 1048576)])),
    };
    appendFileSync(out, JSON.stringify(line) + "\n");
    h.reset();
    gcMs = gcMax = gcCount = 0;
    late = [];
  }, 1000);
  r.unref();
}
