// Composition root: reads nothing itself — takes a validated config, opens storage, loads the
// feature modules and (when asked) starts the listeners and the admin socket.
import tls from "node:tls";
import { mkdirSync } from "node:fs";
import type { ParleyConfig } from "./core/config/config.ts";
import { createLogger, type Logger } from "./core/log/logger.ts";
import { HookBus } from "./core/hooks/hooks.ts";
import { SessionRegistry } from "./core/session/registry.ts";
import { Router } from "./core/router/router.ts";
import { DiscoRegistry, type HostServices, type ModuleDefinition } from "./core/module/module.ts";
import { ModuleHost } from "./core/module/loader.ts";
import { C2sListener } from "./core/transport/tcp.ts";
import type { C2sStreamHost, SaslProvider } from "./core/stream/c2s-stream.ts";
import { createPlainMechanism, createScramMechanism, type CredentialLookup } from "./core/sasl/index.ts";
import { prepLocalpart } from "./jid/jid.ts";
import { ensureTlsMaterial } from "./core/tls/self-signed.ts";
import { openDatabase } from "./storage/open-database.ts";
import type { Database } from "./core/storage/database.ts";
import accounts, { AccountServiceToken, type AccountService } from "./modules/accounts/index.ts";
import roster, { RosterServiceToken, type RosterService } from "./modules/roster/index.ts";
import presence from "./modules/presence/index.ts";
import offline from "./modules/offline/index.ts";
import messaging from "./modules/messaging/index.ts";
import disco from "./modules/disco/index.ts";
import ping from "./modules/ping/index.ts";
import vcard from "./modules/vcard/index.ts";
import version from "./modules/version/index.ts";
import time from "./modules/time/index.ts";
import caps from "./modules/caps/index.ts";
import pep from "./modules/pep/index.ts";
import register from "./modules/register/index.ts";
import carbons from "./modules/carbons/index.ts";
import csi from "./modules/csi/index.ts";
import blocking from "./modules/blocking/index.ts";
import streamManagement from "./modules/stream-management/index.ts";
import calendar from "./modules/calendar/index.ts";
import enterprisePresence from "./modules/enterprise-presence/index.ts";
import { StreamEvents } from "./core/stream/stream-events.ts";
import { AdminServer } from "./cli/admin-server.ts";
import { ParleyMetrics } from "./core/metrics/metrics.ts";
import { HttpServer } from "./http/http-server.ts";
import { AbuseLimits } from "./core/limits/index.ts";

/** The feature modules of a default server, in no particular order (the loader sorts them). */
export const DEFAULT_MODULES: readonly ModuleDefinition[] = [accounts, roster, presence, offline, messaging, disco, ping, carbons, csi, blocking, streamManagement, vcard, version, time, caps, register, pep, calendar, enterprisePresence];

const AUTH_TIMEOUT_MS = 60_000;
const KEEPALIVE_MS = 60_000;
const MAX_RESOURCES_PER_ACCOUNT = 50;

export interface ParleyServer {
  readonly config: ParleyConfig;
  readonly log: Logger;
  readonly host: HostServices;
  readonly modules: ModuleHost;
  readonly accounts: AccountService;
  readonly roster: RosterService;
  readonly metrics: ParleyMetrics;
  /** Bound ports (after listen): useful when the config asked for port 0. */
  ports: { c2s?: number; c2sTls?: number; http?: number; https?: number };
  listen(): Promise<void>;
  stop(): Promise<void>;
}

export function saslProvider(lookup: CredentialLookup, domain: string): SaslProvider {
  const prep = (u: string) => prepLocalpart(u);
  const opts = { domain };
  return {
    offered: (secure) => (secure ? ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] : ["SCRAM-SHA-256", "SCRAM-SHA-1"]),
    create(name, attempt) {
      const o = attempt?.checkIdentity ? { ...opts, checkIdentity: attempt.checkIdentity } : opts;
      switch (name) {
        case "SCRAM-SHA-256":
          return createScramMechanism("SHA-256", lookup, prep, o);
        case "SCRAM-SHA-1":
          return createScramMechanism("SHA-1", lookup, prep, o);
        case "PLAIN":
          return createPlainMechanism(lookup, prep, o);
        default:
          return undefined;
      }
    },
  };
}

export async function createServer(config: ParleyConfig, opts: { log?: Logger; modules?: readonly ModuleDefinition[] } = {}): Promise<ParleyServer> {
  const log = opts.log ?? createLogger(config.log.level);
  if (config.database.kind === "sqlite" && config.database.file !== ":memory:") mkdirSync(config.dataDir, { recursive: true });
  const metrics = new ParleyMetrics();
  // Every statement is timed (parley_storage_query_seconds) without the adapters knowing.
  const db: Database = metrics.timeDatabase(await openDatabase(config.database.url));
  const hooks = new HookBus((err, event, owner) => log.error({ err, event, module: owner }, "hook handler failed"));
  metrics.attach(hooks);
  const sessions = new SessionRegistry();
  const router = new Router(config.domain, hooks, sessions, log);
  const host: HostServices = { domain: config.domain, config, hooks, router, sessions, db, log, disco: new DiscoRegistry() };
  const modules = new ModuleHost(host);
  try {
    await modules.load(opts.modules ?? DEFAULT_MODULES);
  } catch (err) {
    await db.close();
    metrics.close();
    throw err;
  }
  const accountService = modules.get(AccountServiceToken);
  const rosterService = modules.get(RosterServiceToken);
  let listener: C2sListener | undefined;
  let admin: AdminServer | undefined;
  let http: HttpServer | undefined;
  let running = false;
  // Abuse limits (docs/operations.md): one set per process, shared by every client transport.
  const limits = new AbuseLimits(config.limits, { log });
  limits.attach(hooks);
  const streamHost: C2sStreamHost = {
    domain: config.domain,
    requireTls: config.c2s.requireTls,
    maxStanzaBytes: config.limits.maxStanzaBytes,
    maxDepth: config.limits.maxDepth,
    sasl: saslProvider(accountService.credentials, config.domain),
    sessions,
    router,
    hooks,
    log,
    maxResourcesPerAccount: MAX_RESOURCES_PER_ACCOUNT,
    stats: metrics.stanzas,
    authGuard: limits.authGuard,
    inboundShaper: limits.inboundShaper,
  };

  const server: ParleyServer = {
    config,
    log,
    host,
    modules,
    accounts: accountService,
    roster: rosterService,
    metrics,
    ports: {},
    async listen() {
      let tlsContext: tls.SecureContext | undefined;
      const material = await ensureTlsMaterial(config);
      if (material.generated) log.info({ fingerprint: material.fingerprint, cert: material.certPath, reason: material.reason }, "generated a self-signed TLS certificate");
      for (const w of material.warnings) log.warn({ cert: material.certPath }, w);
      tlsContext = tls.createSecureContext({ cert: material.cert, key: material.key, minVersion: "TLSv1.2" });
      if (config.c2s.enabled) {
        listener = new C2sListener(
          streamHost,
          {
            host: config.c2s.host,
            port: config.c2s.port,
            tlsPort: config.c2s.tlsPort,
            tlsContext,
            idleTimeoutMs: config.limits.idleTimeoutSeconds * 1000,
            authTimeoutMs: AUTH_TIMEOUT_MS,
            keepaliveMs: KEEPALIVE_MS,
            connections: limits.connections,
          },
          log,
        );
        const ports = await listener.listen();
        server.ports = { c2s: ports.port, c2sTls: ports.tlsPort };
        if (!config.c2s.requireTls) log.warn("c2s.requireTls is false: clients may authenticate without TLS (meant for loopback benchmarks only)");
      }
      if (config.http.enabled) {
        http = new HttpServer({
          domain: config.domain,
          http: config.http,
          maxStanzaBytes: config.limits.maxStanzaBytes,
          streamHost,
          streams: {
            idleTimeoutMs: config.limits.idleTimeoutSeconds * 1000,
            authTimeoutMs: AUTH_TIMEOUT_MS,
            keepaliveMs: KEEPALIVE_MS,
            connections: limits.connections,
          },
          metrics,
          tls: { cert: material.cert, key: material.key },
          readiness: [
            { name: "database", run: () => db.query("SELECT 1") },
            {
              name: "listeners",
              run: () => {
                if (!running) throw new Error("the server is not (or no longer) running");
              },
            },
          ],
          log,
        });
        const hp = await http.listen();
        server.ports.http = hp.port;
        server.ports.https = hp.tlsPort;
      }
      admin = new AdminServer(server);
      await admin.listen(config.admin.socket);
      running = true;
      log.info({ domain: config.domain, c2s: server.ports.c2s, c2sTls: server.ports.c2sTls, http: server.ports.http, https: server.ports.https, database: config.database.kind, admin: config.admin.socket }, "Parley is running");
    },
    async stop() {
      running = false;
      await admin?.close();
      // Before any client stream ends: XEP-0198 sessions store or bounce what their clients
      // did not acknowledge, while every module and the database are still there.
      await hooks.notify(StreamEvents.shutdown, { condition: "system-shutdown" });
      await http?.close();
      await listener?.close();
      await modules.unloadAll();
      await db.close();
      metrics.close();
    },
  };
  return server;
}
