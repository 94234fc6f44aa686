// Fetching an iCalendar feed without letting a user aim the server at its own network (SSRF).
//
//  1. The URL must pass the administrator's allow list (url-policy.ts) — and so must every
//     redirect target (at most 3 redirects, never https → http).
//  2. The host is resolved here, once per hop (dns.lookup, all addresses); if ANY address is
//     refused by the address policy (address-policy.ts) the fetch fails.
//  3. The connection goes to those checked addresses only: the request gets a `lookup`
//     function that hands back the checked answer instead of asking DNS again, so a DNS
//     rebinding between check and connect cannot redirect it. Host header, TLS SNI and
//     certificate verification still use the URL's host name.
//  4. Limits: one deadline for the whole fetch (DNS, connect, redirects, body); at most
//     `maxBytes` of (decompressed) body; only calendar content types (text/plain and
//     octet-stream are accepted when the body starts with BEGIN:VCALENDAR).
//  5. Conditional GET: If-None-Match / If-Modified-Since when validators are given; 304 →
//     "not-modified".
import http from "node:http";
import https from "node:https";
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { addressRefusal } from "./address-policy.ts";
import { checkFeedUrl, type UrlPrefix } from "./url-policy.ts";

export type Resolver = (host: string) => Promise<LookupAddress[]>;

export interface FetchFeedOptions {
  prefixes: readonly UrlPrefix[];
  allowPrivateNetworks: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** Validators from the last successful fetch (conditional GET). */
  etag?: string;
  lastModified?: string;
  signal?: AbortSignal;
  /** DNS resolution (tests replace it); default dns.lookup with all addresses. */
  resolve?: Resolver;
  /**
   * Replaces the address policy (tests: to let 127.0.0.1 stand for "the internet" while
   * checking that everything else is still refused). Returns why an address is refused.
   */
  refuseAddress?: (address: string) => string | undefined;
  /** Extra trusted CA certificates (tests); the system store otherwise. */
  ca?: string | string[];
  userAgent?: string;
}

export type FetchFeedResult =
  | { readonly status: "not-modified"; readonly url: string }
  | { readonly status: "ok"; readonly url: string; readonly body: string; readonly etag?: string; readonly lastModified?: string };

export type FeedErrorCode =
  | "not-allowed"
  | "bad-url"
  | "address"
  | "dns"
  | "network"
  | "tls"
  | "timeout"
  | "redirect"
  | "http"
  | "content-type"
  | "too-large"
  | "aborted";

export class FeedFetchError extends Error {
  override readonly name = "FeedFetchError";
  readonly code: FeedErrorCode;
  constructor(code: FeedErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CALENDAR_TYPES = new Set(["text/calendar", "application/ics", "text/x-calendar", "text/x-vcalendar", "application/calendar", "application/x-ical"]);
/** Types some servers use for .ics files: accepted only when the body is an iCalendar object. */
const SNIFFED_TYPES = new Set(["", "text/plain", "application/octet-stream", "binary/octet-stream", "application/download", "application/force-download"]);

const defaultResolve: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Fetches a feed URL under the rules above; rejects with FeedFetchError. */
export async function fetchFeed(rawUrl: string, opts: FetchFeedOptions): Promise<FetchFeedResult> {
  const controller = new AbortController();
  const timeout = setTimeout(
    () => controller.abort(new FeedFetchError("timeout", `no complete answer within ${formatSeconds(opts.timeoutMs)}`)),
    opts.timeoutMs,
  );
  timeout.unref?.();
  const onOuterAbort = () => controller.abort(new FeedFetchError("aborted", "the fetch was cancelled"));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    return await run(rawUrl, opts, controller.signal);
  } catch (err) {
    if (controller.signal.aborted && controller.signal.reason instanceof FeedFetchError) throw controller.signal.reason;
    throw toFeedError(err);
  } finally {
    clearTimeout(timeout);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function toFeedError(err: unknown): FeedFetchError {
  if (err instanceof FeedFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  if (code === "ECONNREFUSED") return new FeedFetchError("network", "the connection was refused");
  if (code === "ECONNRESET" || code === "EPIPE") return new FeedFetchError("network", "the connection was reset");
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new FeedFetchError("network", "the host is unreachable");
  if (code === "ETIMEDOUT") return new FeedFetchError("timeout", "the connection timed out");
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || code.startsWith("UNABLE_TO") || code === "EPROTO" || code.startsWith("ERR_SSL")) {
    return new FeedFetchError("tls", `TLS failed: ${e.message}`);
  }
  if (code === "HPE_HEADER_OVERFLOW") return new FeedFetchError("http", "the response headers are too large");
  if (code.startsWith("HPE_")) return new FeedFetchError("http", `malformed HTTP response (${code})`);
  return new FeedFetchError("network", e?.message ? `the fetch failed: ${e.message}` : "the fetch failed");
}

function aborted<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Resolves once and checks every address; returns the checked addresses. */
async function resolveChecked(host: string, opts: FetchFeedOptions, signal: AbortSignal): Promise<LookupAddress[]> {
  const policy = { allowPrivateNetworks: opts.allowPrivateNetworks };
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  const family = isIP(literal);
  let addrs: LookupAddress[];
  if (family !== 0) {
    addrs = [{ address: literal, family }];
  } else {
    try {
      addrs = await aborted(signal, (opts.resolve ?? defaultResolve)(literal));
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as NodeJS.ErrnoException).code;
      throw new FeedFetchError("dns", code === "ENOTFOUND" || code === "ENODATA" ? `the host ${literal} was not found` : `the host ${literal} could not be resolved (${code ?? (err as Error).message})`);
    }
    if (addrs.length === 0) throw new FeedFetchError("dns", `the host ${literal} has no address`);
  }
  for (const a of addrs) {
    const why = opts.refuseAddress ? opts.refuseAddress(a.address) : addressRefusal(a.address, policy);
    if (why !== undefined) {
      const name = family === 0 ? `the host ${literal} resolves to ${a.address}, ` : `${a.address} is `;
      throw new FeedFetchError("address", name + why);
    }
  }
  return addrs;
}

/** A dns.lookup replacement that only ever answers with the checked addresses. */
function pinnedLookup(addrs: readonly LookupAddress[]) {
  return (_host: string, options: { family?: number | string; all?: boolean }, cb: (...args: unknown[]) => void): void => {
    const fam = options?.family === "IPv4" ? 4 : options?.family === "IPv6" ? 6 : Number(options?.family ?? 0);
    const usable = fam === 4 || fam === 6 ? addrs.filter((a) => a.family === fam) : addrs;
    if (usable.length === 0) {
      cb(Object.assign(new Error("no checked address of the requested family"), { code: "ENOTFOUND" }));
      return;
    }
    if (options?.all) cb(null, usable.map((a) => ({ address: a.address, family: a.family })));
    else cb(null, usable[0].address, usable[0].family);
  };
}

async function run(rawUrl: string, opts: FetchFeedOptions, signal: AbortSignal): Promise<FetchFeedResult> {
  const first = checkFeedUrl(rawUrl, opts.prefixes);
  if (!first.ok) throw new FeedFetchError(first.reason, first.text);
  let url = first.url;
  const maxRedirects = opts.maxRedirects ?? MAX_REDIRECTS;
  for (let hop = 0; ; hop++) {
    const addrs = await resolveChecked(url.hostname, opts, signal);
    const res = await request(url, addrs, opts, signal);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      res.destroy();
      const location = res.headers.location;
      if (!location) throw new FeedFetchError("redirect", `HTTP ${status} redirect without a Location`);
      if (hop >= maxRedirects) throw new FeedFetchError("redirect", `more than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new FeedFetchError("redirect", "the redirect points to an invalid URL");
      }
      if (url.protocol === "https:" && next.protocol === "http:") throw new FeedFetchError("redirect", `refused a redirect from https:// to http:// (${next.origin})`);
      const check = checkFeedUrl(next.href, opts.prefixes);
      if (!check.ok) throw new FeedFetchError("redirect", `refused a redirect to ${next.origin}${next.pathname}: ${check.text}`);
      url = check.url;
      continue;
    }
    if (status === 304) {
      res.destroy();
      if (opts.etag === undefined && opts.lastModified === undefined) throw new FeedFetchError("http", "HTTP 304 to an unconditional request");
      return { status: "not-modified", url: url.href };
    }
    if (status !== 200) {
      res.destroy();
      throw new FeedFetchError("http", `HTTP ${status}${res.statusMessage ? " " + res.statusMessage : ""}`);
    }
    const [type, params] = parseContentType(res.headers["content-type"]);
    if (!CALENDAR_TYPES.has(type) && !SNIFFED_TYPES.has(type)) {
      res.destroy();
      throw new FeedFetchError("content-type", `the server sent ${type} instead of a calendar (text/calendar)`);
    }
    const body = await readBody(res, opts.maxBytes, params.charset, signal);
    if (!CALENDAR_TYPES.has(type) && !/^BEGIN:VCALENDAR/i.test(body.trimStart())) {
      throw new FeedFetchError("content-type", `the server sent ${type || "no content type"} and the body is not an iCalendar object`);
    }
    const etag = headerString(res.headers.etag);
    const lastModified = headerString(res.headers["last-modified"]);
    return { status: "ok", url: url.href, body, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  }
}

function headerString(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.length <= 512 ? s : undefined;
}

function parseContentType(v: string | undefined): [string, Record<string, string>] {
  if (!v) return ["", {}];
  const [type, ...rest] = v.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return [type.trim().toLowerCase(), params];
}

function request(url: URL, addrs: readonly LookupAddress[], opts: FetchFeedOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = {
    "user-agent": opts.userAgent ?? "Parley-Calendar/0.1",
    accept: "text/calendar, application/ics;q=0.9, text/plain;q=0.5, */*;q=0.1",
    "accept-encoding": "gzip, deflate, br",
  };
  if (opts.etag) headers["if-none-match"] = opts.etag;
  if (opts.lastModified) headers["if-modified-since"] = opts.lastModified;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const common = {
    method: "GET",
    host,
    port: url.port === "" ? undefined : Number(url.port),
    path: url.pathname + url.search,
    headers,
    agent: false as const,
    lookup: pinnedLookup(addrs) as never,
    signal,
    maxHeaderSize: 32 * 1024,
  };
  return new Promise((resolve, reject) => {
    const req =
      url.protocol === "https:"
        ? https.request({ ...common, ...(opts.ca ? { ca: opts.ca } : {}), ...(isIP(host) ? {} : { servername: host }) })
        : http.request(common);
    req.once("response", resolve);
    // `on`, not `once`: a socket error after the response must not become an uncaught one.
    req.on("error", (err) => reject(signal.aborted ? signal.reason : err));
    req.end();
  });
}

function readBody(res: http.IncomingMessage, maxBytes: number, charset: string | undefined, signal: AbortSignal): Promise<string> {
  const tooLarge = () => new FeedFetchError("too-large", `the feed is larger than ${maxBytes} bytes (calendar.maxFeedBytes)`);
  const length = Number(res.headers["content-length"]);
  if (Number.isFinite(length) && length > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  const encoding = (headerString(res.headers["content-encoding"]) ?? "identity").trim().toLowerCase();
  let stream: Readable;
  switch (encoding) {
    case "identity":
    case "":
      stream = res;
      break;
    case "gzip":
    case "x-gzip":
      stream = res.pipe(createGunzip());
      break;
    case "deflate":
      stream = res.pipe(createInflate());
      break;
    case "br":
      stream = res.pipe(createBrotliDecompress());
      break;
    default:
      res.destroy();
      return Promise.reject(new FeedFetchError("http", `unsupported content encoding ${encoding}`));
  }
  if (signal.aborted) {
    res.destroy();
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      res.destroy();
      if (stream !== res) stream.destroy();
      reject(signal.aborted ? signal.reason : err);
    };
    signal.addEventListener("abort", () => fail(signal.reason), { once: true });
    res.on("error", fail);
    stream.on("error", (err) => fail(stream === res ? err : new FeedFetchError("http", `the compressed body is corrupt: ${err.message}`)));
    res.once("aborted", () => fail(new FeedFetchError("network", "the connection closed before the body was complete")));
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    stream.once("end", () => {
      if (done) return;
      if (!res.complete) {
        fail(new FeedFetchError("network", "the connection closed before the body was complete"));
        return;
      }
      done = true;
      resolve(decode(Buffer.concat(chunks), charset));
    });
  });
}

function decode(buf: Buffer, charset: string | undefined): string {
  let text: string;
  const cs = (charset ?? "utf-8").toLowerCase();
  try {
    text = new TextDecoder(cs === "utf8" ? "utf-8" : cs).decode(buf);
  } catch {
    text = buf.toString("utf8");
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
