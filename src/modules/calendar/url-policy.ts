// Which feed URLs the administrator allows (`calendar.allowedUrlPrefixes`).
//
// The setting is a list of URL prefixes separated by commas or white space. A feed URL is
// allowed when, for one prefix, scheme, host and port are the same and the URL's path (and
// query) starts with the prefix's path (and query). Both are normalised by the WHATWG URL
// parser first (lowercase host, default ports dropped, `..` resolved), so
// "https://cal.example.com" does not allow "https://cal.example.com.evil.net/", and
// "https://cal.example.com/feeds/" does not allow "https://cal.example.com/feeds/../admin".
// End a prefix with "/" to allow one folder only: "https://x/feeds" also allows "/feeds-old".
// An empty list allows nothing.

export const MAX_URL_LENGTH = 2048;

export interface UrlPrefix {
  readonly protocol: string;
  readonly host: string;
  readonly path: string;
  readonly source: string;
}

function tokens(value: string): string[] {
  return value.split(/[\s,]+/).filter((t) => t !== "");
}

/** Problem with a prefix list, or undefined. */
export function checkUrlPrefixList(value: string): string | undefined {
  for (const t of tokens(value)) {
    const r = parsePrefix(t);
    if (typeof r === "string") return `${JSON.stringify(t)}: ${r}`;
  }
  return undefined;
}

function parsePrefix(t: string): UrlPrefix | string {
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return "not a URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "only http:// and https:// URLs";
  if (u.username !== "" || u.password !== "") return "no user name or password in the URL";
  if (u.hash !== "") return "no #fragment";
  return { protocol: u.protocol, host: u.host, path: u.pathname + u.search, source: u.href };
}

export function parseUrlPrefixes(value: string): UrlPrefix[] {
  const out: UrlPrefix[] = [];
  for (const t of tokens(value)) {
    const r = parsePrefix(t);
    if (typeof r === "string") throw new Error(`invalid calendar URL prefix ${JSON.stringify(t)}: ${r}`);
    out.push(r);
  }
  return out;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: "bad-url" | "not-allowed"; text: string };

/** Checks a feed URL's form (http/https, no credentials, length) — not the allow list. */
export function checkUrlForm(raw: string): UrlCheck {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: "bad-url", text: `the feed URL is longer than ${MAX_URL_LENGTH} characters` };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: "bad-url", text: "the feed URL is not a valid absolute URL" };
  }
  if (u.protocol === "webcal:" || u.protocol === "webcals:") {
    return { ok: false, reason: "bad-url", text: `write ${u.protocol === "webcal:" ? "http" : "https"}:// instead of ${u.protocol}//` };
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return { ok: false, reason: "bad-url", text: "the feed URL must be http:// or https://" };
  if (u.hostname === "") return { ok: false, reason: "bad-url", text: "the feed URL has no host" };
  if (u.username !== "" || u.password !== "") {
    return { ok: false, reason: "bad-url", text: "the feed URL must not contain a user name or password; use the calendar's secret address instead" };
  }
  u.hash = "";
  return { ok: true, url: u };
}

export function matchesPrefix(u: URL, prefixes: readonly UrlPrefix[]): boolean {
  const path = u.pathname + u.search;
  return prefixes.some((p) => p.protocol === u.protocol && p.host === u.host && path.startsWith(p.path));
}

/** Form and allow list. */
export function checkFeedUrl(raw: string, prefixes: readonly UrlPrefix[]): UrlCheck {
  const form = checkUrlForm(raw);
  if (!form.ok) return form;
  if (prefixes.length === 0) {
    return { ok: false, reason: "not-allowed", text: "calendar feeds are not allowed from any address on this server (calendar.allowedUrlPrefixes is empty)" };
  }
  if (!matchesPrefix(form.url, prefixes)) {
    const list = prefixes.map((p) => p.source).join(", ");
    return { ok: false, reason: "not-allowed", text: `this server only accepts calendar feeds under ${list}` };
  }
  return form;
}
