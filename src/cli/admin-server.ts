// The admin socket: a Unix socket (mode 0600) through which the CLI changes a running server,
// so that changes reach live sessions (a removed user is disconnected at once).
// Protocol: one JSON object per line each way: {id, op, args} → {id, ok, result | error}.
import net from "node:net";
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { ParleyServer } from "../server.ts";
import { runAdminOp } from "./admin-ops.ts";

const MAX_REQUEST_BYTES = 64 * 1024 * 1024; // room for a 100,000-line roster import

export class AdminServer {
  private readonly server: ParleyServer;
  private socketServer: net.Server | undefined;
  private path: string | undefined;

  constructor(server: ParleyServer) {
    this.server = server;
  }

  async listen(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      // A stale socket from a crashed run, or a live server: only remove it if nobody answers.
      if (await isAlive(path)) throw new Error(`another Parley is already running (admin socket ${path} answers)`);
      unlinkSync(path);
    }
    this.path = path;
    this.socketServer = net.createServer((conn) => this.accept(conn));
    await new Promise<void>((resolve, reject) => {
      this.socketServer!.once("error", reject);
      this.socketServer!.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
  }

  private accept(conn: net.Socket): void {
    let buf = "";
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) {
        conn.end(JSON.stringify({ id: null, ok: false, error: "request too large" }) + "\n");
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.handle(conn, line);
      }
    });
    conn.on("error", () => {});
  }

  private async handle(conn: net.Socket, line: string): Promise<void> {
    let id: unknown = null;
    try {
      const req = JSON.parse(line);
      id = req.id ?? null;
      const result = await runAdminOp(this.server, { op: String(req.op), args: req.args ?? {} });
      this.server.log.info({ op: req.op }, "admin operation");
      conn.write(JSON.stringify({ id, ok: true, result }) + "\n");
    } catch (err) {
      conn.write(JSON.stringify({ id, ok: false, error: (err as Error).message }) + "\n");
    }
  }

  async close(): Promise<void> {
    if (!this.socketServer) return;
    await new Promise<void>((r) => this.socketServer!.close(() => r()));
    if (this.path && existsSync(this.path)) unlinkSync(this.path);
  }
}

export function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** Sends one request to a running server; undefined when no server listens on the socket. */
export function callAdmin(path: string, op: string, args: Record<string, unknown>): Promise<{ ok: boolean; result?: any; error?: string } | undefined> {
  return new Promise((resolve, reject) => {
    if (!existsSync(path)) return resolve(undefined);
    const c = net.connect(path);
    let buf = "";
    let connected = false;
    c.setEncoding("utf8");
    c.once("connect", () => {
      connected = true;
      c.write(JSON.stringify({ id: 1, op, args }) + "\n");
    });
    c.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        c.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (err) {
          reject(err);
        }
      }
    });
    c.once("error", (err) => (connected ? reject(err) : resolve(undefined)));
    c.once("close", () => {
      if (connected && buf.indexOf("\n") < 0) reject(new Error("the server closed the admin connection without answering"));
    });
  });
}
