// Runner side of the load generator: forks worker processes (pinned to the generator CPUs when
// configured), splits clients among them and calls their operations over IPC.
import { fork, execFileSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { InitArgs } from "./worker.ts";
import { sampleTree, type TreeSample } from "./procstat.ts";

const WORKER = path.join(import.meta.dirname, "worker.ts");

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

class Worker {
  child: ChildProcess;
  seq = 0;
  pending = new Map<number, Pending>();
  constructor(child: ChildProcess) {
    this.child = child;
    child.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error("worker: " + m.error));
    });
    child.on("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker exited (${code})`));
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
}

export class GeneratorPool {
  workers: Worker[] = [];

  static async create(n: number, init: InitArgs, cpus: string, nice = 0): Promise<GeneratorPool> {
    const pool = new GeneratorPool();
    for (let i = 0; i < n; i++) {
      const child = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: ["--max-old-space-size=4096"] });
      if (cpus && child.pid) {
        try {
          execFileSync("taskset", ["-a", "-p", "-c", cpus, String(child.pid)], { stdio: "ignore" });
        } catch {}
      }
      if (nice && child.pid) {
        try {
          execFileSync("renice", ["-n", String(nice), "-p", String(child.pid)], { stdio: "ignore" });
        } catch {}
      }
      pool.workers.push(new Worker(child));
    }
    await pool.all("init", () => init);
    return pool;
  }

  pids(): number[] {
    return this.workers.map((w) => w.child.pid!).filter(Boolean);
  }

  sample(): TreeSample {
    return sampleTree(this.pids());
  }

  /** Calls op on every worker; args may depend on the worker's index. */
  all<T = any>(op: string, args: (w: number) => unknown): Promise<T[]> {
    return Promise.all(this.workers.map((w, i) => w.call<T>(op, args(i))));
  }

  /** Splits items over workers round-robin. */
  split<T>(items: T[]): T[][] {
    const out: T[][] = this.workers.map(() => []);
    items.forEach((x, i) => out[i % out.length].push(x));
    return out;
  }

  async close(): Promise<void> {
    for (const w of this.workers) {
      try {
        await Promise.race([w.call("closeAll"), new Promise((r) => setTimeout(r, 5000))]);
      } catch {}
      w.child.disconnect?.();
      w.child.kill();
    }
    this.workers = [];
  }
}
