// Load-generator worker process (child_process.fork from bench/lib/pool.ts). It owns a share of
// the simulated clients and runs the operations the runner asks for over IPC. Every loop here is
// bounded in count and in time.
import { XmppClient, attr, childText, scramStats } from "./xmpp.ts";
import { Hist, nowUs } from "./hist.ts";

export interface InitArgs {
  host: string;
  port: number;
  domain: string;
  password: string;
  starttls: "no" | "required";
  sourceAddrs: string[];
  loginTimeoutMs: number;
}

interface Client {
  idx: number;
  c: XmppClient;
  /** when this client sent its initial presence (µs) */
  t0: number;
  seen: Set<string> | null;
}

let cfg: InitArgs;
const clients = new Map<number, Client>();
const pendingIq = new Map<string, (raw: string) => void>();

const stats = {
  msgRecv: 0,
  msgHist: new Hist(),
  presRecv: 0,
  presHist: new Hist(),
  presOld: 0,
  presSelf: 0,
  presUnavailable: 0,
  iqIn: 0,
  dropped: 0,
  misrouted: 0,
  errors: [] as string[],
};

function resetStats(): void {
  stats.msgRecv = 0;
  stats.msgHist = new Hist();
  stats.presRecv = 0;
  stats.presHist = new Hist();
  stats.presOld = 0;
  stats.presSelf = 0;
  stats.presUnavailable = 0;
  stats.iqIn = 0;
  stats.misrouted = 0;
  stats.errors = [];
}

function noteError(msg: string): void {
  if (stats.errors.length < 20) stats.errors.push(msg);
}

/** Leading integer of s from position i (our stamps: "<tag>X <µs> <seq> …"). */
function stampAfter(raw: string, i: number): number {
  let v = 0;
  let any = false;
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    any = true;
  }
  return any ? v : -1;
}

function bareOf(jid: string): string {
  const s = jid.indexOf("/");
  return s < 0 ? jid : jid.slice(0, s);
}

function handler(cl: Client) {
  const own = cl.c.bare;
  return (name: string, raw: string): void => {
    if (name === "message") {
      const b = raw.indexOf("<body>m ");
      if (b < 0) return;
      const ts = stampAfter(raw, b + 8);
      // body: "m <sent µs> <seq> <recipient index> …": check it reached the right client
      const p1 = raw.indexOf(" ", b + 8);
      const p2 = p1 < 0 ? -1 : raw.indexOf(" ", p1 + 1);
      if (p2 < 0 || stampAfter(raw, p2 + 1) !== cl.idx) {
        stats.misrouted++;
        return;
      }
      stats.msgRecv++;
      if (ts > 0) stats.msgHist.record(nowUs() - ts);
    } else if (name === "presence") {
      const from = attr(raw, "from") ?? "";
      const bare = bareOf(from);
      if (bare === own) {
        stats.presSelf++;
        return;
      }
      const type = attr(raw, "type");
      if (type === "unavailable") {
        stats.presUnavailable++;
        return;
      }
      if (type) return; // subscription traffic, errors
      stats.presRecv++;
      cl.seen?.add(bare);
      const st = raw.indexOf("<status>p ");
      if (st >= 0) {
        const ts = stampAfter(raw, st + 10);
        if (ts >= cl.t0) stats.presHist.record(nowUs() - ts);
        else stats.presOld++; // a probe answer: the contact's earlier presence
      }
    } else if (name === "iq") {
      stats.iqIn++;
      const type = attr(raw, "type");
      const id = attr(raw, "id") ?? "";
      if (type === "result" || type === "error") {
        const w = pendingIq.get(id);
        if (w) {
          pendingIq.delete(id);
          w(raw);
        }
      } else if (type === "get" || type === "set") {
        const from = attr(raw, "from");
        cl.c.send(`<iq type='result' id='${id}'${from ? ` to='${from}'` : ""}/>`);
      }
    }
  };
}

function iq(cl: Client, body: string, timeoutMs: number): Promise<string> {
  const id = cl.c.newId();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      pendingIq.delete(id);
      reject(new Error("iq timeout"));
    }, timeoutMs);
    pendingIq.set(id, (raw) => {
      clearTimeout(t);
      resolve(raw);
    });
    cl.c.send(`<iq type='get' id='${id}'>${body}</iq>`);
  });
}

function newClient(idx: number): XmppClient {
  return new XmppClient({
    host: cfg.host,
    port: cfg.port,
    localAddress: cfg.sourceAddrs.length ? cfg.sourceAddrs[idx % cfg.sourceAddrs.length] : undefined,
    domain: cfg.domain,
    user: "u" + idx,
    password: cfg.password,
    resource: "bench",
    starttls: cfg.starttls,
    timeoutMs: cfg.loginTimeoutMs,
  });
}

/** Runs fn over items with at most `concurrency` in flight; bounded by deadline. */
async function inPool<T>(items: T[], concurrency: number, deadline: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && Date.now() < deadline) {
      const x = items[next++];
      await fn(x);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}

const PAD = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.";

const ops: Record<string, (a: any) => Promise<unknown> | unknown> = {
  init(a: InitArgs) {
    cfg = a;
    return { pid: process.pid };
  },

  /**
   * Untimed preparation for a login storm: one SCRAM exchange per account up to the server's
   * challenge, so the salted password for that account's salt is cached here, as a real
   * client caches it between logins. Without it the generator, not the server, would be
   * measured whenever accounts have salts of their own (PBKDF2 costs ~1 ms per login).
   */
  async prime(a: { indices: number[]; concurrency: number; maxMs: number }) {
    let ok = 0, failed = 0;
    await inPool(a.indices, a.concurrency, Date.now() + a.maxMs, async (i) => {
      const c = newClient(i);
      try {
        await c.login(true);
        ok++;
      } catch (e) {
        failed++;
        noteError(`prime u${i}: ${(e as Error).message}`);
        c.destroy();
      }
    });
    return { ok, failed, scram: { ...scramStats }, errors: stats.errors.splice(0) };
  },

  /** Log in and log out again, `concurrency` at a time. */
  async loginStorm(a: { indices: number[]; concurrency: number; maxMs: number }) {
    const hist = new Hist();
    let ok = 0, failed = 0;
    const t0 = performance.now();
    await inPool(a.indices, a.concurrency, Date.now() + a.maxMs, async (i) => {
      const start = nowUs();
      const c = newClient(i);
      try {
        await c.login();
        hist.record(nowUs() - start);
        ok++;
        c.close();
      } catch (e) {
        failed++;
        noteError(`u${i}: ${(e as Error).message}`);
        c.destroy();
      }
    });
    return { ok, failed, notAttempted: a.indices.length - ok - failed, wallMs: performance.now() - t0, hist: hist.toJSON(), errors: stats.errors.splice(0) };
  },

  /** Log in and stay online. */
  async connect(a: { indices: number[]; concurrency: number; presence: boolean; rosterGet: boolean; track: boolean; maxMs: number }) {
    const hist = new Hist();
    let ok = 0, failed = 0;
    const t0 = performance.now();
    await inPool(a.indices, a.concurrency, Date.now() + a.maxMs, async (i) => {
      const start = nowUs();
      const c = newClient(i);
      const cl: Client = { idx: i, c, t0: Infinity, seen: a.track ? new Set() : null };
      try {
        await c.login();
        c.onStanza = handler(cl);
        c.onEnd = (err) => {
          if (clients.get(i) === cl) {
            clients.delete(i);
            stats.dropped++;
            noteError(`u${i} disconnected: ${err?.message ?? ""}`);
          }
        };
        clients.set(i, cl);
        c.flush();
        if (a.rosterGet) await iq(cl, "<query xmlns='jabber:iq:roster'/>", 30000);
        if (a.presence) {
          cl.t0 = nowUs();
          c.send(`<presence><status>p ${cl.t0} 0</status></presence>`);
        }
        hist.record(nowUs() - start);
        ok++;
      } catch (e) {
        failed++;
        noteError(`u${i}: ${(e as Error).message}`);
        c.destroy();
      }
    });
    return { ok, failed, notAttempted: a.indices.length - ok - failed, wallMs: performance.now() - t0, hist: hist.toJSON(), errors: stats.errors.splice(0) };
  },

  reset() {
    resetStats();
    return true;
  },

  counters(a: { track?: number }) {
    let complete = 0, missing = 0;
    if (a?.track) {
      for (const cl of clients.values()) {
        const n = cl.seen?.size ?? 0;
        if (n >= a.track) complete++;
        else missing += a.track - n;
      }
    }
    return {
      msgRecv: stats.msgRecv,
      msgHist: stats.msgHist.toJSON(),
      presRecv: stats.presRecv,
      presHist: stats.presHist.toJSON(),
      presOld: stats.presOld,
      presSelf: stats.presSelf,
      presUnavailable: stats.presUnavailable,
      online: clients.size,
      dropped: stats.dropped,
      misrouted: stats.misrouted,
      complete,
      missing,
      errors: stats.errors.slice(0, 10),
    };
  },

  /**
   * Open-loop sender: `rate` stanzas/s in total from this worker's online clients, for
   * durationMs. kind "message": client i writes to peer(i) = base + ((i - base + 1) mod n);
   * kind "status": client i changes its presence (show + stamped status).
   */
  async send(a: { kind: "message" | "status"; rate: number; durationMs: number; base: number; n: number; seq0: number }) {
    const list = [...clients.values()].filter((c) => c.c.online);
    if (!list.length) return { sent: 0, skipped: 0, elapsedMs: 0 };
    const shows = ["away", "xa", "dnd", "chat"];
    let sent = 0, skipped = 0, rr = 0, seq = a.seq0;
    const start = nowUs();
    const endAt = start + a.durationMs * 1000;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = nowUs();
        const until = Math.min(now, endAt);
        const due = Math.floor(((until - start) / 1e6) * a.rate);
        let budget = Math.max(0, Math.min(due - sent - skipped, Math.ceil(a.rate * 0.05)));
        while (budget-- > 0) {
          const cl = list[rr++ % list.length];
          const sock = cl.c.socket;
          if (!cl.c.online || !sock || sock.writableLength > 4 << 20) {
            skipped++;
            continue;
          }
          const ts = nowUs();
          seq++;
          if (a.kind === "message") {
            const peer = a.base + ((cl.idx - a.base + 1) % a.n);
            cl.c.send(`<message to='u${peer}@${cfg.domain}' type='chat' id='m${seq}'><body>m ${ts} ${seq} ${peer} ${PAD}</body></message>`);
          } else {
            cl.c.send(`<presence><show>${shows[seq & 3]}</show><status>p ${ts} ${seq}</status></presence>`);
          }
          sent++;
        }
        if (now >= endAt) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 2);
    });
    return { sent, skipped, elapsedMs: (nowUs() - start) / 1000, seq };
  },

  async closeAll() {
    const n = clients.size;
    for (const cl of clients.values()) {
      cl.c.onEnd = null;
      cl.c.close();
    }
    clients.clear();
    await new Promise((r) => setTimeout(r, 200));
    return { closed: n };
  },

  usage() {
    const u = process.cpuUsage();
    return { cpu: (u.user + u.system) / 1e6, rss: process.memoryUsage().rss, scram: { ...scramStats } };
  },
};

process.on("message", async (m: { id: number; op: string; args: unknown }) => {
  try {
    const f = ops[m.op];
    if (!f) throw new Error("unknown op " + m.op);
    const result = await f(m.args);
    process.send!({ id: m.id, ok: true, result });
  } catch (e) {
    process.send!({ id: m.id, ok: false, error: (e as Error).stack ?? String(e) });
  }
});
process.on("uncaughtException", (e) => noteError("uncaught: " + e.message));
process.on("disconnect", () => process.exit(0));
