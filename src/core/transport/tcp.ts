// TCP transports for client streams: STARTTLS on the c2s port (5222) and direct TLS
// (XEP-0368) on the TLS port (5223). Both feed the same C2sStream machine.
import net from "node:net";
import tls from "node:tls";
import type { Logger } from "../log/logger.ts";
import { C2sStream, type C2sStreamHost, type StreamTransport } from "../stream/c2s-stream.ts";
import type { ConnectionLimiter } from "../limits/connection-limiter.ts";
import { sweepInSlices } from "../sweep.ts";

// A client that stops reading while we keep writing would grow our memory without bound.
const MAX_WRITE_BUFFER = 8 * 1024 * 1024;
// A direct TLS client that connects and never completes the handshake is dropped after this.
const DIRECT_TLS_HANDSHAKE_TIMEOUT_MS = 30_000;

// Outbound writes are coalesced per socket until the end of the current event-loop iteration
// (one shared setImmediate): every write() is a syscall, and a login profile spent ~21 % of the
// server's time in them. A stream header and its features, or a stanza and the XEP-0198 <r/>
// after it, now leave in one write. The delay is bounded by the iteration that produced them.
const dirty: SocketTransport[] = [];
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i].flush();
  dirty.length = 0;
}

class SocketTransport implements StreamTransport {
  readonly kind: "tcp" | "tls";
  readonly remoteAddress: string;
  readonly framing = "stream" as const;
  private socket: net.Socket;
  private secureFlag: boolean;
  private readonly secureContext: tls.SecureContext | undefined;
  private readonly onSocket: (s: net.Socket) => void;
  private closed = false;
  /** Written during this event-loop iteration, not yet given to the socket. */
  private pending = "";

  constructor(socket: net.Socket, secure: boolean, secureContext: tls.SecureContext | undefined, onSocket: (s: net.Socket) => void) {
    this.socket = socket;
    this.secureFlag = secure;
    this.kind = secure ? "tls" : "tcp";
    this.secureContext = secureContext;
    this.remoteAddress = socket.remoteAddress ?? "unknown";
    this.onSocket = onSocket;
  }

  get secure(): boolean {
    return this.secureFlag;
  }
  get canStartTls(): boolean {
    return !this.secureFlag && this.secureContext !== undefined;
  }

  write(data: string): void {
    if (this.closed) return;
    if (this.socket.writableLength + this.pending.length > MAX_WRITE_BUFFER) {
      // The peer is not reading: drop the connection rather than buffer forever.
      this.closed = true;
      this.pending = "";
      this.socket.destroy();
      return;
    }
    if (this.pending !== "") {
      this.pending += data;
      return;
    }
    this.pending = data;
    dirty.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushDirty);
    }
  }

  /** Hands what was written this iteration to the socket (see `dirty` above). */
  flush(): void {
    const data = this.pending;
    if (data === "") return;
    this.pending = "";
    if (!this.socket.destroyed) this.socket.write(data);
  }

  startTls(): Promise<void> {
    // <proceed/> must reach the peer in plaintext, before the TLS layer takes the socket.
    this.flush();
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.pause();
    return new Promise((resolve, reject) => {
      const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.secureContext, ALPNProtocols: ["xmpp-client"] });
      const fail = (err: Error) => reject(err);
      secure.once("error", fail);
      secure.once("secure", () => {
        secure.removeListener("error", fail);
        this.socket = secure;
        this.secureFlag = true;
        this.onSocket(secure);
        resolve();
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const socket = this.socket;
    socket.end();
    // Do not wait forever for a peer that never acknowledges the close. The timer is cleared
    // once the socket has closed: until it fires it keeps the whole stream (parser, session …)
    // reachable, which in a login storm kept ~2 s worth of finished connections on the heap.
    const timer = setTimeout(() => socket.destroy(), 2000).unref();
    socket.once("close", () => clearTimeout(timer));
  }

  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
}

export interface C2sListenerOptions {
  host: string;
  port: number;
  tlsPort: number | undefined;
  tlsContext: tls.SecureContext | undefined;
  idleTimeoutMs: number;
  authTimeoutMs: number;
  keepaliveMs: number;
  /** limits.maxConnectionsPerAddress (shared with the WebSocket transport). */
  connections: ConnectionLimiter;
}

export class C2sListener {
  private readonly streamHost: C2sStreamHost;
  private readonly opts: C2sListenerOptions;
  private readonly log: Logger;
  private plainServer: net.Server | undefined;
  private tlsServer: net.Server | undefined;
  readonly streams = new Set<C2sStream>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(streamHost: C2sStreamHost, opts: C2sListenerOptions, log: Logger) {
    this.streamHost = streamHost;
    this.opts = opts;
    this.log = log;
  }

  async listen(): Promise<{ port: number; tlsPort: number | undefined }> {
    this.plainServer = net.createServer({ noDelay: true }, (socket) => {
      if (this.admit(socket)) this.accept(socket, false);
    });
    const port = await listenOn(this.plainServer, this.opts.host, this.opts.port);
    let tlsPort: number | undefined;
    if (this.opts.tlsPort !== undefined && this.opts.tlsContext) {
      // Not tls.createServer: tls.Server ignores a `secureContext` option (it builds its own
      // from key/cert), so it served no certificate and every direct TLS handshake failed.
      // Wrapping accepted sockets like STARTTLS does uses the same SecureContext on both ports.
      const ctx = this.opts.tlsContext;
      this.tlsServer = net.createServer({ noDelay: true }, (raw) => {
        if (this.admit(raw)) this.acceptDirectTls(raw, ctx);
      });
      tlsPort = await listenOn(this.tlsServer, this.opts.host, this.opts.tlsPort);
    }
    this.sweepTimer = setInterval(() => this.sweep(), 5000);
    this.sweepTimer.unref();
    return { port, tlsPort };
  }

  /**
   * limits.maxConnectionsPerAddress, counted from the TCP accept (before any TLS handshake) until
   * the TCP connection closes (also when a TLS socket wraps it). False: the socket was closed.
   */
  private admit(raw: net.Socket): boolean {
    const address = raw.remoteAddress ?? "unknown";
    if (!this.opts.connections.acquire(address, "c2s")) {
      raw.destroy();
      return false;
    }
    raw.once("close", () => this.opts.connections.release(address));
    return true;
  }

  /** XEP-0368 direct TLS: handshake first, then the same stream machine as STARTTLS. */
  private acceptDirectTls(raw: net.Socket, secureContext: tls.SecureContext): void {
    raw.setNoDelay(true);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext, ALPNProtocols: ["xmpp-client"] });
    const timer = setTimeout(() => socket.destroy(), DIRECT_TLS_HANDSHAKE_TIMEOUT_MS).unref();
    const failed = (err: Error) => {
      clearTimeout(timer);
      this.log.debug({ err: err.message, address: raw.remoteAddress }, "direct TLS handshake failed");
      socket.destroy();
    };
    socket.once("error", failed);
    socket.once("secure", () => {
      clearTimeout(timer);
      socket.removeListener("error", failed);
      this.accept(socket, true);
    });
  }

  private accept(socket: net.Socket, secure: boolean): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const address = socket.remoteAddress ?? "unknown";
    let stream: C2sStream;
    const attach = (s: net.Socket) => {
      s.on("data", (chunk: Buffer) => stream.receive(chunk));
      s.resume();
    };
    const transport = new SocketTransport(socket, secure, this.opts.tlsContext, attach);
    stream = new C2sStream(this.streamHost, transport);
    this.streams.add(stream);
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      this.streams.delete(stream);
      stream.transportClosed();
    };
    socket.on("close", finished);
    socket.on("error", (err) => {
      this.log.debug({ err: err.message, address }, "socket error");
      finished();
    });
    attach(socket);
  }

  private sweep(): void {
    const now = Date.now();
    const { idleTimeoutMs, authTimeoutMs, keepaliveMs } = this.opts;
    // In slices (src/core/sweep.ts): keepalives of clients that connected together come due together.
    sweepInSlices(this.streams, (s) => s.tick(now, idleTimeoutMs, authTimeoutMs, keepaliveMs), () => this.sweepTimer === undefined);
  }

  /** Ends every stream with system-shutdown and stops listening. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const servers = [this.plainServer, this.tlsServer].filter((s): s is net.Server => s !== undefined);
    const stopped = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const stream of this.streams) stream.streamError("system-shutdown", "the server is shutting down");
    await stopped;
  }
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.removeListener("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}
