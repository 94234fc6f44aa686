// The configuration schema: one plain object describing every key, its type, default,
// limits and documentation. The validator (validate.ts) walks it; the loader (load.ts) turns
// the validated values into the typed, frozen `ParleyConfig`; the docs and
// parley.example.yaml are checked against it by tests, so a key cannot be added in one place
// and forgotten in another.
//
// Every key can also be set from the environment: PARLEY_ + the key path in
// SCREAMING_SNAKE_CASE (`c2s.tlsPort` → PARLEY_C2S_TLS_PORT). See `envName`.

import { isIP } from "node:net";
import { checkAddressList } from "../transport/address-list.ts";
import type { CustomStateDef } from "./custom-states.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ParleyConfig {
  /** The XMPP domain served (lowercased ASCII hostname). */
  readonly domain: string;
  /** Absolute path of the data directory. */
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly c2s: C2sConfig;
  readonly http: HttpConfig;
  /** Absolute PEM paths, or both "" → self-signed material under <dataDir>/tls/. */
  readonly tls: TlsConfig;
  readonly limits: LimitsConfig;
  readonly streamManagement: StreamManagementConfig;
  readonly vcard: VcardConfig;
  readonly version: VersionConfig;
  readonly registration: RegistrationConfig;
  readonly calendar: CalendarConfig;
  readonly presence: PresenceConfig;
  readonly privacy: PrivacyConfig;
  readonly log: LogConfig;
  readonly admin: AdminConfig;
  /** Absolute path of the YAML file that was read, or null when none was. */
  readonly configFile: string | null;
}

export type DatabaseConfig =
  | { readonly kind: "sqlite"; readonly url: string; /** absolute path, or ":memory:" */ readonly file: string }
  | { readonly kind: "postgres"; readonly url: string };

export interface C2sConfig {
  readonly enabled: boolean;
  readonly host: string;
  /** 0 = ephemeral port chosen by the OS (tests). */
  readonly port: number;
  readonly tlsPort: number;
  readonly requireTls: boolean;
}

export interface HttpConfig {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
  /** HTTPS port (same certificate as c2s): wss:// for WebSocket. */
  readonly tlsPort: number;
  /** Public WebSocket URL advertised in host-meta; "" = derived from each request. */
  readonly websocketUrl: string;
  /** Address list (address-list.ts) whose plain ws:// connections count as secure. */
  readonly websocketTrustedInsecure: string;
  /** Address list allowed to read /metrics. */
  readonly metricsAllow: string;
}

export interface TlsConfig {
  readonly cert: string;
  readonly key: string;
}

export interface LimitsConfig {
  readonly maxStanzaBytes: number;
  readonly maxDepth: number;
  readonly idleTimeoutSeconds: number;
  /** XEP-0199: a bound client silent this long is pinged by the server; 0 = never. */
  readonly pingIntervalSeconds: number;
  /** XEP-0199: no answer (and nothing else) this long after the ping → connection-timeout. */
  readonly pingTimeoutSeconds: number;
  readonly offlineQuota: number;
  /** Failed authentications per account within the window before it is blocked; 0 = no limit. */
  readonly authFailuresPerAccount: number;
  /** Failed authentications per remote address within the window before it is blocked; 0 = no limit. */
  readonly authFailuresPerAddress: number;
  /** Counting window for failed authentications, and how long a block lasts. */
  readonly authFailureWindowSeconds: number;
  /** Sustained inbound bytes per second per client connection; 0 = unlimited. */
  readonly c2sBytesPerSecond: number;
  /** Bytes a client connection may send at once before shaping starts. */
  readonly c2sBurstBytes: number;
  /** Concurrent client connections (TCP, TLS and WebSocket together) per address; 0 = unlimited. */
  readonly maxConnectionsPerAddress: number;
  /** Address list (address-list.ts) exempt from the three limits above. */
  readonly exemptAddresses: string;
}

export interface StreamManagementConfig {
  /** XEP-0198: seconds a session whose connection dropped waits for the client to resume; 0 = no resumption. */
  readonly resumeTimeoutSeconds: number;
  /** Stanzas sent to one client and not yet acknowledged; beyond this the stream ends. */
  readonly maxUnackedStanzas: number;
}

export interface VcardConfig {
  /** XEP-0054: largest vCard accepted (serialized, photo included), in bytes. */
  readonly maxBytes: number;
}

export interface VersionConfig {
  /** XEP-0092: include the operating system in software version answers. */
  readonly showOs: boolean;
}

export interface RegistrationConfig {
  /** XEP-0077: clients may create accounts in-band (over TLS only). */
  readonly enabled: boolean;
  /** Accounts created in-band per remote address per hour; 0 = no limit. */
  readonly maxPerAddressPerHour: number;
  /** Authenticated users may change their password and delete their account in-band. */
  readonly allowAccountChanges: boolean;
}

export interface CalendarConfig {
  /** Calendar-driven presence: users' iCalendar feeds are polled. */
  readonly enabled: boolean;
  /** URL prefixes feeds must start with, separated by commas or white space; "" = none allowed. */
  readonly allowedUrlPrefixes: string;
  /** Feeds may be fetched from loopback, private, link-local, CGNAT and unique-local addresses. */
  readonly allowPrivateNetworks: boolean;
  readonly pollIntervalSeconds: number;
  readonly maxFeedBytes: number;
  readonly timeoutSeconds: number;
  readonly maxConcurrentFetches: number;
  /** IANA zone for floating times; "" = the server's local zone. */
  readonly floatingTimeZone: string;
}

export type DndPolicy = "hold" | "deliver-silently" | "refuse";
export const DND_POLICIES: readonly DndPolicy[] = ["hold", "deliver-silently", "refuse"];

export interface PresenceConfig {
  readonly idle: {
    /** No input for this long → Inactive (decimals allowed). */
    readonly inactiveAfterMinutes: number;
    /** Inactive for this much longer → Away. */
    readonly awayAfterMinutes: number;
  };
  /** Manual Busy / Do not disturb end after this many hours; 0 = never. */
  readonly manualExpiryHours: number;
  /** Furthest end time ("until") a user may choose, in days. */
  readonly maxUntilDays: number;
  /** Longest personal note, in characters. */
  readonly maxNoteChars: number;
  /** Validated custom states (src/core/config/custom-states.ts). */
  readonly customStates: readonly CustomStateDef[];
  readonly maxCustomStates: number;
  /** Languages of <status/> and custom labels in broadcasts; the first is the default. */
  readonly languages: readonly string[];
  readonly calendarPresence: boolean;
  readonly devicePresence: boolean;
  readonly meetingDetails: boolean;
  readonly dndPolicy: DndPolicy;
}

export interface PrivacyConfig {
  /** Domains of the organisation (same organisation → Colleagues); never empty after loading. */
  readonly organisationDomains: readonly string[];
  /** Users may turn on privacy mode (presence for contacts only). */
  readonly allowPrivacyMode: boolean;
}

export interface LogConfig {
  readonly level: LogLevel;
}

export interface AdminConfig {
  /** Absolute path of the admin Unix socket. */
  readonly socket: string;
}

// ---------------------------------------------------------------------------------------
// Schema description

/**
 * integer: whole numbers; number: decimals allowed; list: a YAML sequence (from the
 * environment: comma- or space-separated for lists of strings, JSON for lists of maps).
 */
export type FieldType = "string" | "integer" | "number" | "boolean" | "list";
export type FieldValue = string | number | boolean | readonly unknown[];

export interface FieldSpec {
  readonly type: FieldType;
  readonly default: FieldValue;
  /** One line for docs and the example file. */
  readonly doc: string;
  /** Inclusive bounds, for integers and numbers. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values, for strings. */
  readonly oneOf?: readonly string[];
  /** For lists: what each item is ("string" items get `check`/`normalize` one by one; "map" items are checked by the loader). */
  readonly items?: "string" | "map";
  /**
   * Further check of a well-typed value. Returns undefined when valid, else the text that
   * follows "expected" in the error ("a hostname such as example.com").
   */
  readonly check?: (value: never) => string | undefined;
  /** Value normalisation after a successful check (e.g. lowercasing). */
  readonly normalize?: (value: never) => FieldValue;
}

export interface SectionSpec {
  readonly doc: string;
  readonly fields: { readonly [key: string]: FieldSpec | SectionSpec };
}

export function isSection(spec: FieldSpec | SectionSpec): spec is SectionSpec {
  return "fields" in spec;
}

// ---------------------------------------------------------------------------------------
// Value checks shared by several keys

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** An ASCII DNS hostname: letters, digits and hyphens in dot-separated labels. */
export function checkHostname(value: string): string | undefined {
  const expected =
    "a hostname such as example.com (letters, digits, hyphens and dots; use the xn-- form for an internationalised name)";
  const v = value.toLowerCase();
  if (v.length === 0 || v.length > 253) return expected;
  const labels = v.split(".");
  if (!labels.every((l) => HOST_LABEL.test(l))) return expected;
  return undefined;
}

/** A listening address: an IP literal or a hostname. */
export function checkListenHost(value: string): string | undefined {
  if (isIP(value) !== 0) return undefined;
  if (checkHostname(value) === undefined) return undefined;
  return "an IP address (0.0.0.0, ::, 127.0.0.1) or a hostname";
}

function checkNonEmpty(value: string): string | undefined {
  return value.trim() === "" ? "a non-empty path" : undefined;
}

function checkDatabaseUrl(value: string): string | undefined {
  if (value === "") return undefined;
  const expected = '"" (SQLite in the data directory), sqlite:<path> or postgres://user@host:port/database';
  if (value.startsWith("sqlite:")) return value.length > "sqlite:".length ? undefined : expected;
  if (value.startsWith("postgres://") || value.startsWith("postgresql://")) {
    try {
      const u = new URL(value);
      return u.hostname || u.searchParams.has("host") ? undefined : expected;
    } catch {
      return expected;
    }
  }
  return expected;
}

/** Calendar feed URL prefixes: http(s) URLs without credentials or fragment, comma/space separated. */
function checkUrlPrefixList(value: string): string | undefined {
  for (const t of value.split(/[\s,]+/).filter((x) => x !== "")) {
    let u: URL;
    try {
      u = new URL(t);
    } catch {
      return `http:// or https:// URL prefixes separated by commas or spaces (${JSON.stringify(t)} is not a URL)`;
    }
    if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username !== "" || u.password !== "" || u.hash !== "") {
      return `http:// or https:// URL prefixes without user name, password or #fragment (${JSON.stringify(t)})`;
    }
  }
  return undefined;
}

function checkTimeZone(value: string): string | undefined {
  if (value === "") return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return undefined;
  } catch {
    return '"" (the server\'s local zone) or an IANA time zone such as Europe/Berlin';
  }
}

function checkWebSocketUrl(value: string): string | undefined {
  if (value === "") return undefined;
  const expected = '"" or a ws:// or wss:// URL such as wss://chat.example.com/xmpp-websocket';
  try {
    const u = new URL(value);
    return (u.protocol === "wss:" || u.protocol === "ws:") && u.hostname !== "" ? undefined : expected;
  } catch {
    return expected;
  }
}

const lower = (v: string): string => v.toLowerCase();

const LANG_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
function checkLanguageTag(value: string): string | undefined {
  return LANG_TAG.test(value) ? undefined : 'language tags such as "en", "de", "fr-CA", "zh-Hant"';
}

// ---------------------------------------------------------------------------------------
// The schema itself. Key order here is the order of docs and the example file.

const port = (def: number, doc: string): FieldSpec => ({ type: "integer", default: def, min: 0, max: 65535, doc });

export const schema: SectionSpec = {
  doc: "Parley configuration",
  fields: {
    domain: {
      type: "string",
      default: "localhost",
      doc: "XMPP domain served by this server (user JIDs are user@domain). Lowercased.",
      check: checkHostname,
      normalize: lower,
    },
    dataDir: {
      type: "string",
      default: "./data",
      doc: "Directory for the SQLite database, generated TLS material and the admin socket. Relative paths are resolved against the working directory.",
      check: checkNonEmpty,
    },
    database: {
      doc: "Durable storage.",
      fields: {
        url: {
          type: "string",
          default: "",
          doc: 'Empty → sqlite:<dataDir>/parley.sqlite. Otherwise sqlite:<path> or postgres://user:password@host:5432/database.',
          check: checkDatabaseUrl,
        },
      },
    },
    c2s: {
      doc: "Client-to-server listeners (TCP with STARTTLS, and direct TLS per XEP-0368).",
      fields: {
        enabled: { type: "boolean", default: true, doc: "Set to false to open no client port at all." },
        host: { type: "string", default: "0.0.0.0", doc: "Address to listen on.", check: checkListenHost },
        port: port(5222, "STARTTLS port. 0 = an ephemeral port chosen by the system (tests)."),
        tlsPort: port(5223, "Direct TLS port (XEP-0368). 0 = ephemeral."),
        requireTls: {
          type: "boolean",
          default: true,
          doc: "Refuse authentication before TLS is negotiated. Turn off only for loopback testing.",
        },
      },
    },
    http: {
      doc: "HTTP listener: REST API, WebSocket (RFC 7395), web client.",
      fields: {
        enabled: { type: "boolean", default: true, doc: "Set to false to open no HTTP port." },
        host: { type: "string", default: "0.0.0.0", doc: "Address to listen on.", check: checkListenHost },
        port: port(5280, "HTTP port. 0 = ephemeral."),
        tlsPort: port(5281, "HTTPS port (same certificate as c2s), for wss:// WebSocket. 0 = ephemeral."),
        websocketUrl: {
          type: "string",
          default: "",
          doc: "Public WebSocket URL advertised in host-meta (XEP-0156), e.g. wss://chat.example.com/xmpp-websocket. Empty → derived from each request.",
          check: checkWebSocketUrl,
        },
        websocketTrustedInsecure: {
          type: "string",
          default: "loopback",
          doc: 'Peers whose plain ws:// connections count as TLS-protected (a TLS-terminating proxy on this host): "loopback", "private", "any", "none", IPs and CIDR ranges, comma-separated.',
          check: checkAddressList,
        },
        metricsAllow: {
          type: "string",
          default: "loopback,private",
          doc: 'Peers allowed to read /metrics: "loopback", "private", "any", "none", IPs and CIDR ranges, comma-separated.',
          check: checkAddressList,
        },
      },
    },
    tls: {
      doc: "Certificate for c2s (STARTTLS and direct TLS) and the HTTPS port. Both empty → a self-signed certificate is generated in <dataDir>/tls/ on first start and reused.",
      fields: {
        cert: {
          type: "string",
          default: "",
          doc: "PEM certificate file (may contain the chain after the leaf). Relative to the working directory.",
        },
        key: { type: "string", default: "", doc: "PEM private key file matching the certificate." },
      },
    },
    limits: {
      doc: "Protective limits.",
      fields: {
        maxStanzaBytes: {
          type: "integer",
          default: 262144,
          min: 10000,
          max: 16 * 1024 * 1024,
          doc: "Largest stanza accepted, in bytes; larger → policy-violation stream error. RFC 6120 requires at least 10000.",
        },
        maxDepth: {
          type: "integer",
          default: 64,
          min: 4,
          max: 1024,
          doc: "Deepest element nesting accepted inside a stanza.",
        },
        idleTimeoutSeconds: {
          type: "integer",
          default: 600,
          min: 1,
          max: 86400,
          doc: "A connection that sends no data at all for this long is closed with connection-timeout.",
        },
        pingIntervalSeconds: {
          type: "integer",
          default: 240,
          min: 0,
          max: 86400,
          doc: "XEP-0199 dead-peer detection: a bound client that sent nothing for this long gets a ping from the server. 0 = the server never pings.",
        },
        pingTimeoutSeconds: {
          type: "integer",
          default: 60,
          min: 1,
          max: 3600,
          doc: "A pinged client that neither answers nor sends anything else within this long is disconnected with connection-timeout.",
        },
        offlineQuota: {
          type: "integer",
          default: 1000,
          min: 0,
          max: 1_000_000,
          doc: "Offline messages kept per user; 0 disables offline storage.",
        },
        authFailuresPerAccount: {
          type: "integer",
          default: 10,
          min: 0,
          max: 1_000_000,
          doc: "Failed authentications for one account within authFailureWindowSeconds before further attempts for it fail at once with temporary-auth-failure (the password is not checked) until the window has passed again. 0 = no limit.",
        },
        authFailuresPerAddress: {
          type: "integer",
          default: 30,
          min: 0,
          max: 1_000_000,
          doc: "Failed authentications from one remote address within authFailureWindowSeconds before every further attempt from it fails at once with temporary-auth-failure. 0 = no limit.",
        },
        authFailureWindowSeconds: {
          type: "integer",
          default: 300,
          min: 1,
          max: 86400,
          doc: "Window in which failed authentications are counted; a block lasts this long too.",
        },
        c2sBytesPerSecond: {
          type: "integer",
          default: 102400,
          min: 0,
          max: 1024 * 1024 * 1024,
          doc: "Sustained inbound rate per client connection, in bytes per second; a faster client is slowed down by pausing its socket (nothing is dropped). 0 = unlimited (benchmarks).",
        },
        c2sBurstBytes: {
          type: "integer",
          default: 1048576,
          min: 1024,
          max: 1024 * 1024 * 1024,
          doc: "Bytes a client connection may send at full speed before c2sBytesPerSecond applies (the token bucket's size).",
        },
        maxConnectionsPerAddress: {
          type: "integer",
          default: 100,
          min: 0,
          max: 1_000_000,
          doc: "Concurrent client connections (STARTTLS, direct TLS and WebSocket together) from one remote address; more are closed at once. 0 = unlimited.",
        },
        exemptAddresses: {
          type: "string",
          default: "loopback",
          doc: 'Peers exempt from the authentication-failure, rate and connection limits: "loopback", "private", "any", "none", IPs and CIDR ranges, comma-separated.',
          check: checkAddressList,
        },
      },
    },
    streamManagement: {
      doc: "XEP-0198 Stream Management: acknowledgements and resumption of dropped client streams.",
      fields: {
        resumeTimeoutSeconds: {
          type: "integer",
          default: 300,
          min: 0,
          max: 86400,
          doc: "How long a session whose connection dropped waits for its client to resume it; then its unacknowledged stanzas go to offline storage (or bounce). 0 = no resumption, acknowledgements only.",
        },
        maxUnackedStanzas: {
          type: "integer",
          default: 5000,
          min: 10,
          max: 1_000_000,
          doc: "Stanzas sent to one client and not yet acknowledged; beyond this the stream ends with policy-violation (and they go to offline storage or bounce).",
        },
      },
    },
    vcard: {
      doc: "XEP-0054 vCards and XEP-0153 vCard-based avatars.",
      fields: {
        maxBytes: {
          type: "integer",
          default: 196608,
          min: 1024,
          max: 16 * 1024 * 1024,
          doc: "Largest vCard accepted, photo included (serialized bytes); larger → not-acceptable. Keep it below limits.maxStanzaBytes so the client gets an error instead of losing its stream.",
        },
      },
    },
    version: {
      doc: "XEP-0092 Software Version answers from the server.",
      fields: {
        showOs: { type: "boolean", default: false, doc: "Include the operating system (type and release) in the answer." },
      },
    },
    registration: {
      doc: "XEP-0077 In-Band Registration.",
      fields: {
        enabled: {
          type: "boolean",
          default: false,
          doc: "Let anyone create an account from their client (offered only on TLS-protected streams).",
        },
        maxPerAddressPerHour: {
          type: "integer",
          default: 5,
          min: 0,
          max: 1_000_000,
          doc: "Accounts one remote address may create in-band per hour; 0 = no limit.",
        },
        allowAccountChanges: {
          type: "boolean",
          default: true,
          doc: "Let users change their password and delete their own account from their client (jabber:iq:register).",
        },
      },
    },
    calendar: {
      doc: "Calendar-driven presence: each user may give one iCalendar (ICS) feed; a busy meeting in it shows them Busy, \"In a meeting\" (docs/presence.md, Calendar).",
      fields: {
        enabled: { type: "boolean", default: false, doc: "Poll users' calendar feeds and accept new ones (urn:parley:calendar:0)." },
        allowedUrlPrefixes: {
          type: "string",
          default: "",
          doc: "Feed URLs must start with one of these http:// or https:// prefixes (separated by commas or spaces), e.g. \"https://calendar.example.com/ics/\". Empty = no feed is allowed.",
          check: checkUrlPrefixList,
        },
        allowPrivateNetworks: {
          type: "boolean",
          default: false,
          doc: "Allow feeds on loopback, private (RFC 1918), link-local, CGNAT and unique-local addresses (an intranet calendar server). Off: such addresses are refused, whatever the URL says.",
        },
        pollIntervalSeconds: { type: "integer", default: 300, min: 10, max: 86400, doc: "How often each feed is fetched (spread evenly over the interval)." },
        maxFeedBytes: {
          type: "integer",
          default: 5 * 1024 * 1024,
          min: 1024,
          max: 256 * 1024 * 1024,
          doc: "Largest feed accepted (after decompression), in bytes; a larger one is refused.",
        },
        timeoutSeconds: { type: "integer", default: 20, min: 1, max: 600, doc: "Time allowed for one whole fetch (DNS, connection, redirects, body)." },
        maxConcurrentFetches: { type: "integer", default: 4, min: 1, max: 256, doc: "Feeds fetched at the same time, at most." },
        floatingTimeZone: {
          type: "string",
          default: "",
          doc: "IANA time zone (e.g. Europe/Berlin) for event times given without a zone; empty = the server's local zone.",
          check: checkTimeZone,
        },
      },
    },
    presence: {
      doc: "Enterprise presence (docs/presence.md): one state aggregated from a user's devices, manual status, calendar and idle time; custom states; Do Not Disturb.",
      fields: {
        idle: {
          doc: "Idle timers of each device (docs/presence.md, Idle timers).",
          fields: {
            inactiveAfterMinutes: {
              type: "number",
              default: 5,
              min: 0.05,
              max: 360,
              doc: "Minutes without input before a device counts as Inactive (decimals allowed: 0.5 = 30 s).",
            },
            awayAfterMinutes: {
              type: "number",
              default: 5,
              min: 0.05,
              max: 360,
              doc: "Further minutes of Inactive before the device counts as Away (Away after inactiveAfterMinutes + awayAfterMinutes).",
            },
          },
        },
        manualExpiryHours: {
          type: "number",
          default: 24,
          min: 0,
          max: 8784,
          doc: "A manual Busy or Do not disturb (custom states bound to them too) ends after this many hours unless the user chose an end time; 0 = never.",
          check: (v: number) => (v === 0 || v * 60 >= 1 ? undefined : "0 (never) or at least one minute (0.0167 hours)"),
        },
        maxUntilDays: { type: "integer", default: 366, min: 1, max: 3660, doc: "Furthest end time (\"Busy until …\") a user may choose, in days ahead." },
        maxNoteChars: { type: "integer", default: 500, min: 1, max: 10000, doc: "Longest personal note, in characters (a longer one from a Parley client is refused; from a standard client's <status/>, truncated)." },
        customStates: {
          type: "list",
          items: "map",
          default: [],
          doc: "Custom presence states: a list of { id, availability: available|busy|dnd (or class:), labels: { <language>: <label ≤ 64 characters> } }. From the environment: JSON.",
        },
        maxCustomStates: { type: "integer", default: 4, min: 0, max: 1000, doc: "How many custom states may be defined (Lync's limit was 4)." },
        languages: {
          type: "list",
          items: "string",
          default: ["en"],
          doc: "Languages of <status/> texts and custom state labels in presence broadcasts; the first is the default. From the environment: comma-separated.",
          check: checkLanguageTag,
        },
        calendarPresence: { type: "boolean", default: true, doc: "Calendar meetings and out-of-office items feed presence (\"In a meeting\")." },
        devicePresence: { type: "boolean", default: true, doc: "Calls, conferences and presentations reported by devices feed presence." },
        meetingDetails: { type: "boolean", default: true, doc: "Meeting subject and place are published (to Workgroup contacts only)." },
        dndPolicy: {
          type: "string",
          default: "hold",
          oneOf: DND_POLICIES,
          doc: "IM to a user on Do Not Disturb from anyone but Workgroup: hold (stored, delivered when they leave DND), deliver-silently (delivered with a no-notify hint) or refuse (an error). The sender is told at once.",
          normalize: lower,
        },
      },
    },
    privacy: {
      doc: "Privacy relationships (docs/presence.md, Privacy).",
      fields: {
        organisationDomains: {
          type: "list",
          items: "string",
          default: [],
          doc: "Domains of the organisation: their users see each other as Colleagues by default, others as External. Empty = the server's domain. From the environment: comma-separated.",
          check: checkHostname,
          normalize: lower,
        },
        allowPrivacyMode: {
          type: "boolean",
          default: false,
          doc: "Users may turn on privacy mode: only people in their contact list see their presence.",
        },
      },
    },
    log: {
      doc: "Logging (JSON lines on standard output).",
      fields: {
        level: {
          type: "string",
          default: "info",
          oneOf: LOG_LEVELS,
          doc: `One of ${LOG_LEVELS.join(", ")}.`,
          normalize: lower,
        },
      },
    },
    admin: {
      doc: "Administration channel between the `parley` command and the running server.",
      fields: {
        socket: { type: "string", default: "", doc: "Unix socket path. Empty → <dataDir>/admin.sock." },
      },
    },
  },
};

/** PARLEY_ + key path in SCREAMING_SNAKE_CASE: ["c2s", "tlsPort"] → PARLEY_C2S_TLS_PORT. */
export function envName(path: readonly string[]): string {
  return "PARLEY_" + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_");
}

/** Every leaf key as [path, spec], in schema order. */
export function leaves(section: SectionSpec = schema, prefix: readonly string[] = []): Array<[string[], FieldSpec]> {
  const out: Array<[string[], FieldSpec]> = [];
  for (const [key, spec] of Object.entries(section.fields)) {
    const path = [...prefix, key];
    if (isSection(spec)) out.push(...leaves(spec, path));
    else out.push([path, spec]);
  }
  return out;
}
