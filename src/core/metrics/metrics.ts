// Prometheus metrics of one server (docs/http.md lists them). Each server owns its Registry,
// so several servers in one process (tests) do not mix their numbers.
//
// Hot-path rule: nothing here runs per stanza except StanzaCounters' field increments; the
// registry turns those plain numbers into samples only when /metrics is scraped. Session and
// authentication counts come from the stream hooks (a few per connection, not per stanza).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { HookBus } from "../hooks/hooks.ts";
import { Priority } from "../hooks/hooks.ts";
import { SessionEvents, StreamEvents } from "../stream/stream-events.ts";
import type { Database } from "../storage/database.ts";
import { StanzaCounters } from "./stanza-counters.ts";
import { timeDatabase, type QueryTimer, type StorageOp } from "./timed-database.ts";

/** Transports that always appear in parley_sessions (at 0 when none are bound). */
export const TRANSPORTS = ["tcp", "tls", "websocket"] as const;

/** SASL failure conditions (RFC 6120 §6.5); anything else is counted as "other". */
const AUTH_REASONS = new Set([
  "aborted",
  "account-disabled",
  "credentials-expired",
  "encryption-required",
  "incorrect-encoding",
  "invalid-authzid",
  "invalid-mechanism",
  "malformed-request",
  "mechanism-too-weak",
  "not-authorized",
  "temporary-auth-failure",
]);

const KNOWN_MECHANISMS = new Set(["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "EXTERNAL", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]);

/** Storage latency buckets, in seconds: 0.1 ms (SQLite point reads) … 5 s. */
const STORAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsOptions {
  /** Include prom-client's default process and Node.js metrics (event-loop lag, heap, GC …). Default true. */
  defaultMetrics?: boolean;
}

export class ParleyMetrics {
  readonly registry = new Registry();
  readonly stanzas = new StanzaCounters();
  private readonly sessions = new Map<string, number>();
  private readonly authFailures: Counter<"reason">;
  private readonly authSuccesses: Counter<"mechanism">;
  private readonly storageTimer: QueryTimer;
  private readonly detach: Array<() => void> = [];

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    for (const t of TRANSPORTS) this.sessions.set(t, 0);

    const sessions = this.sessions;
    new Gauge({
      name: "parley_sessions",
      help: "Bound client sessions (resources), by transport: tcp (port 5222, STARTTLS included), tls (direct TLS), websocket.",
      labelNames: ["transport"],
      registers,
      collect() {
        for (const [transport, n] of sessions) this.set({ transport }, n);
      },
    });

    const stanzas = this.stanzas;
    new Counter({
      name: "parley_stanzas_in_total",
      help: "Stanzas received from bound clients, by kind.",
      labelNames: ["kind"],
      registers,
      collect() {
        this.reset();
        this.inc({ kind: "message" }, stanzas.inMessage);
        this.inc({ kind: "presence" }, stanzas.inPresence);
        this.inc({ kind: "iq" }, stanzas.inIq);
      },
    });
    new Counter({
      name: "parley_stanzas_out_total",
      help: "Stanzas written to bound clients, by kind.",
      labelNames: ["kind"],
      registers,
      collect() {
        this.reset();
        this.inc({ kind: "message" }, stanzas.outMessage);
        this.inc({ kind: "presence" }, stanzas.outPresence);
        this.inc({ kind: "iq" }, stanzas.outIq);
      },
    });

    this.authFailures = new Counter({
      name: "parley_auth_failures_total",
      help: "Failed SASL authentication attempts, by failure condition (RFC 6120 §6.5).",
      labelNames: ["reason"],
      registers,
    });
    this.authSuccesses = new Counter({
      name: "parley_auth_successes_total",
      help: "Successful SASL authentications, by mechanism.",
      labelNames: ["mechanism"],
      registers,
    });

    // Series that exist from the start, so dashboards and alerts see 0 rather than nothing.
    this.authFailures.inc({ reason: "not-authorized" }, 0);
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]) this.authSuccesses.inc({ mechanism }, 0);

    const histogram = new Histogram({
      name: "parley_storage_query_seconds",
      help: "Duration of database statements (query, run) and whole transactions, in seconds.",
      labelNames: ["op"],
      buckets: STORAGE_BUCKETS,
      registers,
    });
    const errors = new Counter({
      name: "parley_storage_errors_total",
      help: "Database statements and transactions that failed, by operation.",
      labelNames: ["op"],
      registers,
    });
    const ops: StorageOp[] = ["query", "run", "transaction"];
    const children = new Map(ops.map((op) => [op, histogram.labels({ op })]));
    const errorChildren = new Map(ops.map((op) => [op, errors.labels({ op })]));
    for (const op of ops) errors.inc({ op }, 0);
    this.storageTimer = (op, seconds, ok) => {
      children.get(op)!.observe(seconds);
      if (!ok) errorChildren.get(op)!.inc();
    };
  }

  /** Subscribes to the stream and session hooks (sessions by transport, authentications). */
  attach(hooks: HookBus): void {
    const sessions = this.sessions;
    this.detach.push(
      hooks.on(
        SessionEvents.bound,
        (session) => {
          sessions.set(session.transportKind, (sessions.get(session.transportKind) ?? 0) + 1);
        },
        Priority.Observe,
        "metrics",
      ),
      hooks.on(
        SessionEvents.closed,
        ({ session }) => {
          const n = (sessions.get(session.transportKind) ?? 0) - 1;
          sessions.set(session.transportKind, n < 0 ? 0 : n);
        },
        Priority.Observe,
        "metrics",
      ),
      hooks.on(
        StreamEvents.authFailed,
        ({ condition }) => {
          this.authFailures.inc({ reason: AUTH_REASONS.has(condition) ? condition : "other" });
        },
        Priority.Observe,
        "metrics",
      ),
      hooks.on(
        StreamEvents.authenticated,
        ({ mechanism }) => {
          this.authSuccesses.inc({ mechanism: KNOWN_MECHANISMS.has(mechanism) ? mechanism : "other" });
        },
        Priority.Observe,
        "metrics",
      ),
    );
  }

  /** Wraps a Database so every statement and transaction is timed (parley_storage_query_seconds). */
  timeDatabase(db: Database): Database {
    return timeDatabase(db, this.storageTimer);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    for (const d of this.detach.splice(0)) d();
    this.registry.clear();
  }
}
