// XMPP over WebSocket (RFC 7395): one WebSocket connection carries one framed XML stream, each
// WebSocket text message holding exactly one element (<open/>, <close/>, a stanza or a
// nonza). The same C2sStream machine as for TCP runs the stream; this file only adapts the
// socket. The HTTP side (src/http/) upgrades the request, checks the `xmpp` subprotocol and
// decides whether the connection counts as secure, then calls WebSocketStreams.accept().
//
// Differences from the TCP transports, all from RFC 7395:
// - no STARTTLS: TLS is the WebSocket's own (wss://), so canStartTls is false;
// - every frame must parse as a standalone document, so elements the stream machine writes
//   without namespace declarations get them here: `xmlns='jabber:client'` on message,
//   presence and iq, `xmlns:stream` on stream:features / stream:error;
// - no whitespace keepalives: WebSocket pings instead;
// - binary frames are refused: XMPP frames are UTF-8 text.
import type { Logger } from "../log/logger.ts";
import { C2sStream, type C2sStreamHost, type StreamTransport } from "../stream/c2s-stream.ts";
import { ConnectionLimiter } from "../limits/connection-limiter.ts";
import { sweepInSlices } from "../sweep.ts";

const NS_CLIENT = "jabber:client";
const NS_STREAMS = "http://etherx.jabber.org/streams";

// A client that stops reading while we keep writing would grow our memory without bound.
const MAX_WRITE_BUFFER = 8 * 1024 * 1024;
// After our close frame, how long to wait for the peer's before dropping the socket.
const CLOSE_GRACE_MS = 5000;

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const WS_NORMAL = 1000;
export const WS_GOING_AWAY = 1001;
export const WS_POLICY = 1008;

/** The part of a `ws` WebSocket this transport uses (kept structural so tests can fake it). */
export interface WebSocketLike {
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  pause(): void;
  resume(): void;
  on(event: "message", fn: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: "close", fn: () => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  on(event: "pong", fn: () => void): unknown;
}

export interface WebSocketConnectionInfo {
  remoteAddress: string;
  /** wss://, or plain ws:// from an address trusted by http.websocketTrustedInsecure. */
  secure: boolean;
}

function isNameEnd(c: number): boolean {
  return c === 32 || c === 47 || c === 62 || c === 9 || c === 10 || c === 13;
}

/**
 * Makes one serialized top-level element a standalone document as RFC 7395 requires:
 * message/presence/iq without `xmlns` get `xmlns='jabber:client'`, `stream:*` elements without
 * `xmlns:stream` get the streams namespace. Returns "" for whitespace (keepalives are not used
 * on WebSocket). Everything else is returned unchanged.
 */
export function frameForClient(data: string): string {
  if (data.charCodeAt(0) !== 60 /* < */) return data.trim() === "" ? "" : data;
  const len = data.length;
  let i = 1;
  while (i < len && !isNameEnd(data.charCodeAt(i))) i++;
  const nameLen = i - 1;
  let attr: string;
  let needle: string;
  if (
    (nameLen === 7 && data.startsWith("message", 1)) ||
    (nameLen === 8 && data.startsWith("presence", 1)) ||
    (nameLen === 2 && data.startsWith("iq", 1))
  ) {
    attr = ` xmlns='${NS_CLIENT}'`;
    needle = " xmlns=";
  } else if (nameLen > 7 && data.startsWith("stream:", 1)) {
    attr = ` xmlns:stream='${NS_STREAMS}'`;
    needle = " xmlns:stream=";
  } else {
    return data;
  }
  // Attribute values escape '>', '\'' and '"', so within the start tag (up to the first '>')
  // `xmlns='` or `xmlns="` can only be the attribute itself, never part of a value.
  const tagEnd = data.indexOf(">", i);
  const end = tagEnd === -1 ? len : tagEnd;
  for (let at = data.indexOf(needle, i); at !== -1 && at < end; at = data.indexOf(needle, at + 1)) {
    const q = data.charCodeAt(at + needle.length);
    if (q === 39 /* ' */ || q === 34 /* " */) return data;
  }
  return data.slice(0, i) + attr + data.slice(i);
}

export class WebSocketTransport implements StreamTransport {
  readonly kind = "websocket" as const;
  readonly framing = "websocket" as const;
  readonly canStartTls = false;
  readonly remoteAddress: string;
  readonly secure: boolean;
  private readonly socket: WebSocketLike;
  private closed = false;

  constructor(socket: WebSocketLike, info: WebSocketConnectionInfo) {
    this.socket = socket;
    this.remoteAddress = info.remoteAddress;
    this.secure = info.secure;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(data: string): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount > MAX_WRITE_BUFFER) {
      // The peer is not reading: drop the connection rather than buffer forever.
      this.closed = true;
      this.socket.terminate();
      return;
    }
    const frame = frameForClient(data);
    if (frame !== "") this.socket.send(frame);
  }

  startTls(): Promise<void> {
    return Promise.reject(new Error("STARTTLS is not available on WebSocket; TLS comes from wss:// (RFC 7395)"));
  }

  /** Closes the WebSocket after what was written (ws sends queued frames before the close frame). */
  close(code = WS_NORMAL, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
      return;
    }
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  ping(): void {
    if (this.closed) return;
    try {
      this.socket.ping();
    } catch {
      // the socket is closing; its close event ends the stream
    }
  }

  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
}

export interface WebSocketStreamsOptions {
  idleTimeoutMs: number;
  authTimeoutMs: number;
  /** A WebSocket ping is sent after this long without anything sent to the client. */
  keepaliveMs: number;
  /** limits.maxConnectionsPerAddress, shared with the TCP listener (src/core/limits/). */
  connections?: ConnectionLimiter;
  /** Without `connections`: a cap of this transport's own (0 or absent = unlimited), no exemptions. */
  maxConnectionsPerAddress?: number;
  /** How often timeouts and keepalives are checked (default 5 s; tests use less). */
  sweepMs?: number;
}

/** The live WebSocket client streams: accepts upgraded sockets, runs timeouts and keepalives. */
export class WebSocketStreams {
  private readonly streamHost: C2sStreamHost;
  private readonly opts: WebSocketStreamsOptions;
  private readonly log: Logger;
  readonly streams = new Map<C2sStream, WebSocketTransport>();
  private readonly connections: ConnectionLimiter;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(streamHost: C2sStreamHost, opts: WebSocketStreamsOptions, log: Logger) {
    this.streamHost = streamHost;
    this.opts = opts;
    this.log = log;
    this.connections = opts.connections ?? new ConnectionLimiter({ max: opts.maxConnectionsPerAddress ?? 0, log });
    this.sweepTimer = setInterval(() => this.sweep(), opts.sweepMs ?? 5000);
    this.sweepTimer.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Runs an XMPP stream over an upgraded WebSocket. Returns the stream, or undefined when refused. */
  accept(socket: WebSocketLike, info: WebSocketConnectionInfo): C2sStream | undefined {
    const address = info.remoteAddress;
    if (this.closing) {
      socket.close(WS_GOING_AWAY, "server shutting down");
      return undefined;
    }
    if (!this.connections.acquire(address, "websocket")) {
      socket.close(WS_POLICY, "too many connections");
      return undefined;
    }
    const transport = new WebSocketTransport(socket, info);
    const stream = new C2sStream(this.streamHost, transport);
    this.streams.set(stream, transport);
    // Without TLS (and with c2s.requireTls), nothing could authenticate on this stream: say so
    // as a stream error answering the client's <open/> rather than offer no mechanism at all.
    const refuseInsecure = !info.secure && this.streamHost.requireTls;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      this.streams.delete(stream);
      this.connections.release(address);
      stream.transportClosed();
    };
    socket.on("message", (data, isBinary) => {
      if (refuseInsecure) {
        stream.streamError("policy-violation", "TLS is required on this server: connect with wss://");
        return;
      }
      if (isBinary) {
        stream.streamError("bad-format", "XMPP over WebSocket uses text frames only (RFC 7395)");
        return;
      }
      stream.receive(Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data);
    });
    socket.on("pong", () => {
      stream.lastReceived = Date.now();
    });
    socket.on("close", finished);
    socket.on("error", (err) => {
      this.log.debug({ err: err.message, address }, "WebSocket error");
      finished();
    });
    return stream;
  }

  private sweep(): void {
    const now = Date.now();
    const { idleTimeoutMs, authTimeoutMs, keepaliveMs } = this.opts;
    // In slices, like the TCP listener's sweep (src/core/sweep.ts).
    sweepInSlices(
      this.streams,
      ([stream, transport]) => {
        stream.tick(now, idleTimeoutMs, authTimeoutMs, keepaliveMs);
        if (!stream.isClosed && now - stream.lastSent > keepaliveMs) {
          transport.ping();
          stream.lastSent = now;
        }
      },
      () => this.closing,
    );
  }

  /** Ends every stream with system-shutdown and refuses new ones. */
  close(): void {
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const stream of [...this.streams.keys()]) stream.streamError("system-shutdown", "the server is shutting down");
  }
}
