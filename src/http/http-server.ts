// The HTTP listener (Fastify 5): XMPP over WebSocket (RFC 7395), XEP-0156 host-meta, health,
// readiness and Prometheus metrics. A plain port (http.port, default 5280) and a TLS port
// (http.tlsPort, default 5281, same certificate as c2s) serve the same routes; docs/http.md
// describes them and the configuration.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { HttpConfig } from "../core/config/config.ts";
import type { Logger } from "../core/log/logger.ts";
import type { C2sStreamHost } from "../core/stream/c2s-stream.ts";
import type { ParleyMetrics } from "../core/metrics/metrics.ts";
import { parseAddressList, type AddressList } from "../core/transport/address-list.ts";
import { WebSocketStreams, type WebSocketLike, type WebSocketStreamsOptions } from "../core/transport/websocket.ts";
import { REL_WEBSOCKET, WEBSOCKET_PATH, hostMetaJson, hostMetaXml, websocketUrl } from "./host-meta.ts";
import { runReadiness, type ReadinessCheck } from "./health.ts";

const READINESS_TIMEOUT_MS = 2000;
// Room for framing above the stanza limit: the stream parser reports an oversized stanza as
// policy-violation; frames far beyond it are cut by ws itself (close code 1009).
const FRAME_SLACK_BYTES = 4096;

export interface HttpServerOptions {
  domain: string;
  http: HttpConfig;
  maxStanzaBytes: number;
  /** The c2s stream host shared with the TCP listener: WebSocket streams run the same machine. */
  streamHost: C2sStreamHost;
  streams: WebSocketStreamsOptions;
  metrics: ParleyMetrics;
  /** PEM certificate and key (the c2s material); http.tlsPort is served when given. */
  tls: { cert: string; key: string } | undefined;
  /** Checks behind /readyz besides the HTTP listeners' own (database, c2s listeners …). */
  readiness: readonly ReadinessCheck[];
  log: Logger;
}

/** True when the Sec-WebSocket-Protocol header lists `xmpp` (RFC 7395: the subprotocol is required). */
export function offersXmpp(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const list = Array.isArray(header) ? header.join(",") : header;
  return list.split(",").some((p) => p.trim() === "xmpp");
}

/**
 * Whether a trusted peer says the client's own connection was plain HTTP (X-Forwarded-Proto or
 * Forwarded: proto=): a proxy that forwards ws:// from elsewhere must not make it count as TLS.
 */
export function forwardedInsecure(headers: FastifyRequest["headers"]): boolean {
  const xfp = headers["x-forwarded-proto"];
  const first = (Array.isArray(xfp) ? xfp[0] : xfp)?.split(",")[0]?.trim().toLowerCase();
  if (first === "http" || first === "ws") return true;
  const fwd = headers.forwarded;
  const m = /(?:^|[;,\s])proto="?(\w+)"?/i.exec(Array.isArray(fwd) ? fwd[0] : (fwd ?? ""));
  return m !== null && (m[1].toLowerCase() === "http" || m[1].toLowerCase() === "ws");
}

export class HttpServer {
  readonly websockets: WebSocketStreams;
  private readonly opts: HttpServerOptions;
  private readonly trustedInsecure: AddressList;
  private readonly metricsAllow: AddressList;
  private plain: FastifyInstance | undefined;
  private secure: FastifyInstance | undefined;
  private listening = false;
  private stopping = false;

  constructor(opts: HttpServerOptions) {
    this.opts = opts;
    this.trustedInsecure = parseAddressList(opts.http.websocketTrustedInsecure);
    this.metricsAllow = parseAddressList(opts.http.metricsAllow);
    this.websockets = new WebSocketStreams(opts.streamHost, opts.streams, opts.log.child({ component: "websocket" }));
  }

  async listen(): Promise<{ port: number; tlsPort: number | undefined }> {
    const { http } = this.opts;
    this.plain = await this.build(false);
    const port = await listenOn(this.plain, http.host, http.port);
    let tlsPort: number | undefined;
    if (this.opts.tls) {
      this.secure = await this.build(true);
      tlsPort = await listenOn(this.secure, http.host, http.tlsPort);
    }
    this.listening = true;
    return { port, tlsPort };
  }

  /** Ends WebSocket streams with system-shutdown, then stops both listeners. */
  async close(): Promise<void> {
    this.stopping = true;
    this.websockets.close();
    await Promise.all([this.plain?.close(), this.secure?.close()]);
    this.listening = false;
  }

  private async build(secure: boolean): Promise<FastifyInstance> {
    const { opts } = this;
    const app = Fastify({
      loggerInstance: opts.log.child({ component: secure ? "https" : "http" }),
      logController: new LogController({ disableRequestLogging: true }),
      forceCloseConnections: true,
      bodyLimit: 64 * 1024,
      // PEM, not a SecureContext: https.Server (like tls.Server) ignores a `secureContext` option.
      ...(secure && opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: "TLSv1.2" as const } } : {}),
    }) as unknown as FastifyInstance;

    await app.register(websocket, {
      options: {
        maxPayload: opts.maxStanzaBytes + FRAME_SLACK_BYTES,
        perMessageDeflate: false,
        handleProtocols: (protocols: Set<string>) => (protocols.has("xmpp") ? "xmpp" : false),
      },
    });

    // --- XMPP over WebSocket (RFC 7395) ----------------------------------------------------
    app.route({
      method: "GET",
      url: WEBSOCKET_PATH,
      preValidation: async (req: FastifyRequest, reply: FastifyReply) => {
        if (req.ws && !offersXmpp(req.headers["sec-websocket-protocol"])) {
          return reply
            .code(400)
            .type("text/plain; charset=utf-8")
            .send("This endpoint speaks XMPP over WebSocket (RFC 7395): the 'xmpp' subprotocol is required.\n");
        }
      },
      handler: async (_req: FastifyRequest, reply: FastifyReply) =>
        reply
          .code(426)
          .header("upgrade", "websocket")
          .header("sec-websocket-protocol", "xmpp")
          .type("text/plain; charset=utf-8")
          .send("XMPP over WebSocket (RFC 7395): open a WebSocket here with the 'xmpp' subprotocol.\n"),
      wsHandler: (socket: WebSocketLike, req: FastifyRequest) => {
        const remoteAddress = req.socket.remoteAddress ?? "unknown";
        const isSecure = secure || (this.trustedInsecure.matches(remoteAddress) && !forwardedInsecure(req.headers));
        this.websockets.accept(socket, { remoteAddress, secure: isSecure });
      },
    });

    // --- XEP-0156 host-meta ------------------------------------------------------------------
    const links = (req: FastifyRequest) => [
      { rel: REL_WEBSOCKET, href: websocketUrl(opts.http.websocketUrl, secure, req.headers.host, opts.domain) },
    ];
    app.get("/.well-known/host-meta", async (req, reply) =>
      reply.header("access-control-allow-origin", "*").type("application/xrd+xml; charset=utf-8").send(hostMetaXml(links(req))),
    );
    app.get("/.well-known/host-meta.json", async (req, reply) =>
      reply.header("access-control-allow-origin", "*").type("application/json; charset=utf-8").send(hostMetaJson(links(req))),
    );

    // --- health, readiness, metrics ------------------------------------------------------------
    app.get("/healthz", async (_req, reply) => reply.header("cache-control", "no-store").send({ status: "ok", uptime: Math.round(process.uptime()) }));

    app.get("/readyz", async (_req, reply) => {
      const report = await runReadiness([...opts.readiness, this.ownCheck()], READINESS_TIMEOUT_MS);
      return reply
        .code(report.ready ? 200 : 503)
        .header("cache-control", "no-store")
        .send({ status: report.ready ? "ready" : "not ready", ...(report.reason ? { reason: report.reason } : {}), checks: report.checks });
    });

    app.get("/metrics", async (req, reply) => {
      if (!this.metricsAllow.matches(req.socket.remoteAddress)) {
        return reply.code(403).type("text/plain; charset=utf-8").send("metrics are not served to this address (see http.metricsAllow)\n");
      }
      const body = await opts.metrics.render();
      return reply.header("cache-control", "no-store").type(opts.metrics.contentType).send(body);
    });

    return app;
  }

  private ownCheck(): ReadinessCheck {
    return {
      name: "http",
      run: () => {
        if (this.stopping) throw new Error("shutting down");
        if (!this.listening) throw new Error("not listening yet");
      },
    };
  }
}

async function listenOn(app: FastifyInstance, host: string, port: number): Promise<number> {
  await app.listen({ host, port });
  const addr = app.server.address();
  return typeof addr === "object" && addr ? addr.port : port;
}
