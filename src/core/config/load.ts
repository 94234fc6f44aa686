// Loads the configuration at boot: YAML file (optional) + PARLEY_* environment overrides
// + defaults, validated against the schema, resolved (absolute paths, derived defaults) and
// deep-frozen. Every problem found is reported at once in a single ConfigError.

import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { Node as YamlNode } from "yaml";
import { envName, leaves } from "./schema.ts";
import type { DatabaseConfig, DndPolicy, FieldValue, LogLevel, ParleyConfig } from "./schema.ts";
import { validateCustomStates, type CustomStateDef } from "./custom-states.ts";
import { formatProblem, readEnv, validateTree } from "./validate.ts";
import type { Locator, Problem, Values } from "./validate.ts";

export class ConfigError extends Error {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    const n = problems.length;
    super(`Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n` + problems.map((p) => "  - " + formatProblem(p)).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Value of `--config` on the command line; wins over PARLEY_CONFIG. */
  argvConfigPath?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Base for relative paths; defaults to process.cwd(). */
  cwd?: string;
}

export const DEFAULT_CONFIG_FILE = "parley.yaml";

/** Linux sun_path is 108 bytes including the terminating NUL. */
const MAX_UNIX_SOCKET_PATH = 107;

/**
 * Extracts `--config PATH`, `--config=PATH` or `-c PATH` from command-line arguments.
 * Returns undefined when absent.
 */
export function configPathFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--config" || a === "-c") return argv[i + 1];
    if (a.startsWith("--config=")) return a.slice("--config=".length);
    if (a === "--") break;
  }
  return undefined;
}

export function loadConfig(opts: LoadConfigOptions = {}): ParleyConfig {
  const env = opts.env ?? process.env;
  const cwd = resolve(opts.cwd ?? process.cwd());
  const problems: Problem[] = [];

  // 1. Which file, if any.
  let file: string | null = null;
  let fileOrigin = "";
  if (opts.argvConfigPath !== undefined && opts.argvConfigPath !== "") {
    file = resolve(cwd, opts.argvConfigPath);
    fileOrigin = "--config";
  } else if (env.PARLEY_CONFIG) {
    file = resolve(cwd, env.PARLEY_CONFIG);
    fileOrigin = "PARLEY_CONFIG";
  } else if (existsSync(join(cwd, DEFAULT_CONFIG_FILE))) {
    file = join(cwd, DEFAULT_CONFIG_FILE);
  }

  // 2. The file's values.
  let fileValues: Values = new Map();
  if (file !== null) {
    const label = displayPath(file, cwd);
    let text: string | undefined;
    try {
      if (statSync(file).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : String((err as Error).message);
      problems.push({
        source: label,
        path: "",
        message: `cannot read the configuration file${fileOrigin ? ` given by ${fileOrigin}` : ""}: ${why}`,
      });
    }
    if (text !== undefined) fileValues = parseYaml(text, label, problems);
  }

  // 3. Environment overrides.
  const envValues = readEnv(env, problems);

  // 4. Merge with defaults and resolve.
  const value = (path: string): FieldValue => {
    if (envValues.has(path)) return envValues.get(path)!;
    if (fileValues.has(path)) return fileValues.get(path)!;
    return defaults.get(path)!;
  };
  const source = (path: string): string => {
    if (envValues.has(path)) return `environment ${envNameOf(path)}`;
    if (fileValues.has(path) && file) return displayPath(file, cwd);
    return "default";
  };
  const str = (p: string) => value(p) as string;
  const num = (p: string) => value(p) as number;
  const bool = (p: string) => value(p) as boolean;
  const list = (p: string) => value(p) as readonly unknown[];

  const dataDir = resolve(cwd, str("dataDir"));

  const database = resolveDatabase(str("database.url"), dataDir, cwd);

  const tlsCert = str("tls.cert");
  const tlsKey = str("tls.key");
  if ((tlsCert === "") !== (tlsKey === "")) {
    const missing = tlsCert === "" ? "tls.cert" : "tls.key";
    const given = tlsCert === "" ? "tls.key" : "tls.cert";
    problems.push({
      source: source(given),
      path: "tls",
      message: `${given} is set but ${missing} is empty; expected both (your own certificate) or neither (a generated self-signed one)`,
    });
  }

  const adminSocket = str("admin.socket") === "" ? join(dataDir, "admin.sock") : resolve(cwd, str("admin.socket"));
  if (Buffer.byteLength(adminSocket) > MAX_UNIX_SOCKET_PATH) {
    problems.push({
      source: source(str("admin.socket") === "" ? "dataDir" : "admin.socket"),
      path: "admin.socket",
      message: `${JSON.stringify(adminSocket)} is ${Buffer.byteLength(adminSocket)} bytes long; expected a Unix socket path of at most ${MAX_UNIX_SOCKET_PATH} bytes (set admin.socket to a shorter path)`,
    });
  }

  // Custom states: validated as a whole (they depend on presence.maxCustomStates).
  let customStates: readonly CustomStateDef[] = [];
  const cs = validateCustomStates(list("presence.customStates"), num("presence.maxCustomStates"));
  if (cs.ok) customStates = cs.states;
  else {
    for (const e of cs.errors) {
      problems.push({ source: source(e.path.startsWith("presence.maxCustomStates") ? "presence.maxCustomStates" : "presence.customStates"), path: e.path, message: e.message });
    }
  }
  if (list("presence.languages").length === 0) {
    problems.push({ source: source("presence.languages"), path: "presence.languages", message: "is empty; expected at least one language tag, e.g. [en]" });
  }
  const domain = str("domain");
  const orgDomains = list("privacy.organisationDomains") as readonly string[];

  const config: ParleyConfig = {
    domain,
    dataDir,
    database,
    c2s: {
      enabled: bool("c2s.enabled"),
      host: str("c2s.host"),
      port: num("c2s.port"),
      tlsPort: num("c2s.tlsPort"),
      requireTls: bool("c2s.requireTls"),
    },
    http: {
      enabled: bool("http.enabled"),
      host: str("http.host"),
      port: num("http.port"),
      tlsPort: num("http.tlsPort"),
      websocketUrl: str("http.websocketUrl"),
      websocketTrustedInsecure: str("http.websocketTrustedInsecure"),
      metricsAllow: str("http.metricsAllow"),
    },
    tls: {
      cert: tlsCert === "" ? "" : resolve(cwd, tlsCert),
      key: tlsKey === "" ? "" : resolve(cwd, tlsKey),
    },
    limits: {
      maxStanzaBytes: num("limits.maxStanzaBytes"),
      maxDepth: num("limits.maxDepth"),
      idleTimeoutSeconds: num("limits.idleTimeoutSeconds"),
      pingIntervalSeconds: num("limits.pingIntervalSeconds"),
      pingTimeoutSeconds: num("limits.pingTimeoutSeconds"),
      offlineQuota: num("limits.offlineQuota"),
      authFailuresPerAccount: num("limits.authFailuresPerAccount"),
      authFailuresPerAddress: num("limits.authFailuresPerAddress"),
      authFailureWindowSeconds: num("limits.authFailureWindowSeconds"),
      c2sBytesPerSecond: num("limits.c2sBytesPerSecond"),
      c2sBurstBytes: num("limits.c2sBurstBytes"),
      maxConnectionsPerAddress: num("limits.maxConnectionsPerAddress"),
      exemptAddresses: str("limits.exemptAddresses"),
    },
    streamManagement: {
      resumeTimeoutSeconds: num("streamManagement.resumeTimeoutSeconds"),
      maxUnackedStanzas: num("streamManagement.maxUnackedStanzas"),
    },
    vcard: { maxBytes: num("vcard.maxBytes") },
    version: { showOs: bool("version.showOs") },
    registration: {
      enabled: bool("registration.enabled"),
      maxPerAddressPerHour: num("registration.maxPerAddressPerHour"),
      allowAccountChanges: bool("registration.allowAccountChanges"),
    },
    calendar: {
      enabled: bool("calendar.enabled"),
      allowedUrlPrefixes: str("calendar.allowedUrlPrefixes"),
      allowPrivateNetworks: bool("calendar.allowPrivateNetworks"),
      pollIntervalSeconds: num("calendar.pollIntervalSeconds"),
      maxFeedBytes: num("calendar.maxFeedBytes"),
      timeoutSeconds: num("calendar.timeoutSeconds"),
      maxConcurrentFetches: num("calendar.maxConcurrentFetches"),
      floatingTimeZone: str("calendar.floatingTimeZone"),
    },
    presence: {
      idle: {
        inactiveAfterMinutes: num("presence.idle.inactiveAfterMinutes"),
        awayAfterMinutes: num("presence.idle.awayAfterMinutes"),
      },
      manualExpiryHours: num("presence.manualExpiryHours"),
      maxUntilDays: num("presence.maxUntilDays"),
      maxNoteChars: num("presence.maxNoteChars"),
      customStates,
      maxCustomStates: num("presence.maxCustomStates"),
      languages: list("presence.languages").length > 0 ? [...(list("presence.languages") as readonly string[])] : ["en"],
      calendarPresence: bool("presence.calendarPresence"),
      devicePresence: bool("presence.devicePresence"),
      meetingDetails: bool("presence.meetingDetails"),
      dndPolicy: str("presence.dndPolicy") as DndPolicy,
    },
    privacy: {
      organisationDomains: orgDomains.length > 0 ? [...orgDomains] : [domain],
      allowPrivacyMode: bool("privacy.allowPrivacyMode"),
    },
    log: { level: str("log.level") as LogLevel },
    admin: { socket: adminSocket },
    configFile: file,
  };

  checkPortClashes(config, source, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

// ---------------------------------------------------------------------------------------

const defaults: ReadonlyMap<string, FieldValue> = new Map(leaves().map(([p, spec]) => [p.join("."), spec.default]));

function envNameOf(path: string): string {
  return envName(path.split("."));
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

function parseYaml(text: string, label: string, problems: Problem[]): Values {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? (e.pos ? lineCounter.linePos(e.pos[0]) : undefined);
      problems.push({
        source: pos ? `${label}:${pos.line}:${pos.col}` : label,
        path: "",
        message: `YAML syntax error: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
      });
    }
    return new Map();
  }

  // Index key and value positions by path, for error messages.
  const positions = new Map<string, { key?: number; value?: number }>();
  const index = (node: YamlNode | null | undefined, prefix: string[]): void => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const k = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const path = [...prefix, k];
      const valueNode = pair.value as YamlNode | null;
      positions.set(path.join("\0"), { key: keyNode?.range?.[0], value: valueNode?.range?.[0] ?? keyNode?.range?.[0] });
      index(valueNode, path);
    }
  };
  index(doc.contents as YamlNode | null, []);

  const locate: Locator = (path, key) => {
    const pos = path.length === 0 ? (doc.contents as YamlNode | null)?.range?.[0] : positions.get(path.join("\0"))?.[key ? "key" : "value"];
    if (pos === undefined) return label;
    const { line, col } = lineCounter.linePos(pos);
    return `${label}:${line}:${col}`;
  };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push({ source: label, path: "", message: `YAML error: ${(err as Error).message}` });
    return new Map();
  }
  return validateTree(raw, locate, problems);
}

function resolveDatabase(url: string, dataDir: string, cwd: string): DatabaseConfig {
  if (url === "") {
    const file = join(dataDir, "parley.sqlite");
    return { kind: "sqlite", url: `sqlite:${file}`, file };
  }
  if (url.startsWith("sqlite:")) {
    const rest = url.slice("sqlite:".length);
    const file = rest === ":memory:" ? rest : resolve(cwd, rest.startsWith("//") ? rest.slice(2) : rest);
    return { kind: "sqlite", url: `sqlite:${file}`, file };
  }
  return { kind: "postgres", url };
}

const WILDCARDS = new Set(["0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"]);

function checkPortClashes(config: ParleyConfig, source: (path: string) => string, problems: Problem[]): void {
  const listeners: Array<{ path: string; host: string; port: number }> = [];
  if (config.c2s.enabled) {
    listeners.push({ path: "c2s.port", host: config.c2s.host, port: config.c2s.port });
    listeners.push({ path: "c2s.tlsPort", host: config.c2s.host, port: config.c2s.tlsPort });
  }
  if (config.http.enabled) {
    listeners.push({ path: "http.port", host: config.http.host, port: config.http.port });
    listeners.push({ path: "http.tlsPort", host: config.http.host, port: config.http.tlsPort });
  }
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i];
      const b = listeners[j];
      if (a.port === 0 || a.port !== b.port) continue;
      if (a.host !== b.host && !WILDCARDS.has(a.host) && !WILDCARDS.has(b.host)) continue;
      problems.push({
        source: source(b.path),
        path: b.path,
        message: `${b.port} is also used by ${a.path}; expected a different port for each listener`,
      });
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
